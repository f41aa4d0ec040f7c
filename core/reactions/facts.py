"""What each reaction key's condition is for a session right now: present (with the facts
an attempt needs), cleared, or on hold (not known, or not decidable yet).

A condition is read from the session's row (its PR, activity and lifecycle) and, for CI,
the failing checks at the stored head. "Hold" keeps an episode as it is: CI running at a
new head is neither a failure nor green; a host that could not be asked says nothing new.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from core.attention import needs_you_reason
from core.humanize import age
from core.lifecycle import exit_reason_of
from core.models import ActivityState, Lifecycle, ReviewThread, Role, Session
from core.reactions.rules import Rule
from core.scm import CheckRun
from core.wip import WIP_BLOCKER

CLEAR: Literal["clear"] = "clear"
HOLD: Literal["hold"] = "hold"

STABLE_AFTER_RESTORE = 600.0
"""Seconds a restored agent must keep running before its exit episode ends: an agent that
dies again within them is the same failure, not a new one with a fresh budget."""


@dataclass(frozen=True)
class Fact:
    """A condition that holds, and what an attempt (or the operator) needs to know of it."""

    token: str
    """Names this occurrence: a new token is news (a new failing head, new threads)."""
    summary: str
    """In a few words, for the reason shown to the operator (``test_login_timeout``)."""
    infra: str = ""
    """Why this is not the agent's to fix (the CI command could not start, the agent's own
    API key fails); "" when it is."""
    checks: tuple[CheckRun, ...] = ()
    threads: tuple[ReviewThread, ...] = ()
    """For review keys: the unresolved threads of that kind, new or not."""
    seen: tuple[str, ...] = field(default=())
    """For review keys: the fingerprints of ``threads``."""
    clean: bool = False
    """agent-exited: the agent ended its run itself (exit status 0)."""


Observation = Fact | Literal["clear", "hold"]


@dataclass(frozen=True)
class Sources:
    """What facts are read from besides the session's row."""

    now: float
    failing_checks: Callable[[Session], list[CheckRun]]
    """The failing checks at the session's stored head."""
    last_signal: Callable[[Session], float | None]
    """When the agent last wrote anything (a hook line, a transcript line, its status)."""


def observe(
    key: str, session: Session, rule: Rule, sources: Sources, *, last_attempt: float | None
) -> Observation:
    """The condition of ``key`` on ``session``."""
    reader = _READERS.get(key)
    return CLEAR if reader is None else reader(session, rule, sources, last_attempt)


def _ci_failed(session: Session, _rule: Rule, sources: Sources, _last: float | None) -> Observation:
    pr = session.pr
    if pr is None:
        return CLEAR
    if pr.problem:
        return HOLD  # the host could not be asked: nothing new is known
    if pr.ci == "running":
        return HOLD  # neither failing nor green yet: the episode goes on
    if pr.ci != "failing":
        return CLEAR
    checks = tuple(sources.failing_checks(session))
    if any(check.log_pending for check in checks):
        return HOLD  # the host holds the log back for now: send the excerpt, not a placeholder
    names = [failing_names(check) for check in checks]
    summary = ", ".join(name for name in names if name) or ", ".join(c.name for c in checks)
    causes = [infrastructure_cause(check) for check in checks]
    infra = causes[0] if checks and all(causes) else ""
    return Fact(pr.head_sha, summary or "CI failing", infra=infra, checks=checks)


def _threads(bot: bool) -> Callable[[Session, Rule, Sources, float | None], Observation]:
    def read(session: Session, _rule: Rule, _sources: Sources, _last: float | None) -> Observation:
        pr = session.pr
        if pr is None:
            return CLEAR
        if pr.problem:
            return HOLD
        threads = tuple(t for t in pr.threads if t.bot is bot)
        if not threads:
            return CLEAR
        prints = tuple(t.fingerprint for t in threads)
        where = sorted({t.path for t in threads if t.path})
        summary = f"{len(threads)} unresolved thread(s)" + (
            f" on {', '.join(where)}" if where else ""
        )
        return Fact(_digest(sorted(prints)), summary, threads=threads, seen=prints)

    return read


def _merge_conflicts(
    session: Session, _rule: Rule, _sources: Sources, _last: float | None
) -> Observation:
    pr = session.pr
    if pr is None:
        return CLEAR
    if pr.problem:
        return HOLD
    if pr.state != "conflicts" and not pr.conflicts:
        return CLEAR
    files = ", ".join(pr.conflicts) or "files unknown"
    return Fact(_digest([pr.base_sha, pr.head_sha, *pr.conflicts]), files)


def _approved_and_green(
    session: Session, _rule: Rule, _sources: Sources, _last: float | None
) -> Observation:
    pr = session.pr
    if pr is None or pr.state != "mergeable" or not pr.mergeable or pr.blockers:
        return CLEAR if pr is None or not pr.problem else HOLD
    # With merge.requireApproval off a green head is mergeable unreviewed: say which it was.
    how = "green and approved" if pr.review == "approved" else "green, no approval required"
    return Fact(pr.head_sha, f"{how} at {pr.head_sha[:10]}")


def _agent_stuck(
    session: Session, rule: Rule, sources: Sources, _last: float | None
) -> Observation:
    threshold = rule.threshold_seconds or 600.0
    activity = session.activity
    if session.lifecycle is not Lifecycle.RUNNING:
        return CLEAR
    if activity.state is ActivityState.WAITING_INPUT:
        waited = sources.now - activity.since
        if waited < threshold:
            return CLEAR
        return Fact(
            f"waiting:{activity.since}",
            f"waiting {age(waited)} on: {needs_you_reason(session, keys=False)}",
        )
    if activity.state is not ActivityState.WORKING:
        return CLEAR
    last = sources.last_signal(session)
    quiet_since = max(activity.since, last if last is not None else activity.since)
    quiet = sources.now - quiet_since
    if quiet < threshold:
        return CLEAR
    doing = activity.detail or "working"
    return Fact(f"working:{quiet_since}", f"no new output for {age(quiet)} while {doing}")


def _agent_needs_input(
    session: Session, _rule: Rule, _sources: Sources, _last: float | None
) -> Observation:
    activity = session.activity
    if (
        session.lifecycle is not Lifecycle.RUNNING
        or activity.state is not ActivityState.WAITING_INPUT
    ):
        return CLEAR
    return Fact(f"waiting:{activity.since}", needs_you_reason(session, keys=False))


def _agent_exited(
    session: Session, _rule: Rule, sources: Sources, last: float | None
) -> Observation:
    if session.lifecycle is Lifecycle.EXITED:
        reason = session.lifecycle_reason or "the agent exited"
        # An agent that ended its own run (status 0: the operator's /exit, a one-shot
        # agent done) did not die: it is told, not restored.
        clean = reason == exit_reason_of(0)
        return Fact(f"exited:{session.activity.since}", reason, clean=clean)
    if last is not None and sources.now - last < STABLE_AFTER_RESTORE:
        return HOLD  # restored a moment ago: dying again is the same failure
    return CLEAR


def green_head(session: Session) -> str | None:
    """The head an agent review may look at (``agent-review``), or None.

    A running worker's PR, known (the host answered), with CI green at its head: its checks
    pass, or it has none and none are configured (no CI: nothing to wait for). Not while CI
    runs or fails, nor with conflicts (the agent must change the head anyway), nor a WIP
    head a kill saved, nor a draft.
    """
    pr = session.pr
    if (
        session.role is not Role.WORKER
        or session.lifecycle is not Lifecycle.RUNNING
        or pr is None
        or pr.problem
        or not pr.head_sha
        or pr.state in ("merged", "conflicts", "draft")
        or pr.conflicts
    ):
        return None
    ci_blocks = any(b.startswith("CI ") or b == WIP_BLOCKER for b in pr.blockers)
    if pr.ci == "passing" or (pr.ci == "none" and not ci_blocks):
        return pr.head_sha if not ci_blocks else None
    return None


_READERS: dict[str, Callable[[Session, Rule, Sources, float | None], Observation]] = {
    "ci-failed": _ci_failed,
    "changes-requested": _threads(bot=False),
    "bugbot-comments": _threads(bot=True),
    "merge-conflicts": _merge_conflicts,
    "approved-and-green": _approved_and_green,
    "agent-stuck": _agent_stuck,
    "agent-needs-input": _agent_needs_input,
    "agent-exited": _agent_exited,
}
"""The keys read from a session's row; pr-closed and all-complete are read from events."""


# --- CI --------------------------------------------------------------------------------

_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_GO_FAILED = re.compile(r"^--- FAIL: (\S+)", re.MULTILINE)
_JEST_FAILED = re.compile(r"^\s*[\u2715\u00d7] (.+?)(?: \(\d+ ?ms\))?$", re.MULTILINE)
_UNITTEST_FAILED = re.compile(r"^(?:FAIL|ERROR): (\S+) \(", re.MULTILINE)


def failing_names(check: CheckRun) -> str:
    """The failing tests a check's excerpt names (``test_login_timeout``), or ""."""
    names: list[str] = []
    for pattern in (_PYTEST_FAILED, _GO_FAILED, _JEST_FAILED, _UNITTEST_FAILED):
        for match in pattern.finditer(check.excerpt):
            name = match.group(1).split("::")[-1].strip()
            if name and name not in names:
                names.append(name)
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


_NOT_STARTED = re.compile(r"^(could not start .*|exit status 12[67]\b.*)$", re.MULTILINE)
_TIMED_OUT = re.compile(r"^timed out after \d+s", re.MULTILINE)


def infrastructure_cause(check: CheckRun) -> str:
    """Why a failing check is not the code's fault ("" when it may be): the CI command
    could not start or was not found, or the run timed out."""
    first = check.excerpt.strip().splitlines()[:1]
    head = first[0] if first else ""
    if _NOT_STARTED.match(head):
        if head.startswith("exit status"):
            return f"the CI command of {check.name!r} could not run ({head})"
        return f"the CI command of {check.name!r} {head}"
    if _TIMED_OUT.match(head):
        return f"CI check {check.name!r} {head}"
    return ""


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
