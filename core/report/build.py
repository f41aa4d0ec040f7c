"""The morning report: one line per session and a summary, from the store alone.

Each session gets an **outcome**:

- ``merged``: its PR merged (``time_to_merge``: from spawn to the merge);
- ``escalated``: a reaction handed it to the operator and it is still alive;
- ``killed``: someone killed it;
- ``died``: its agent exited or its tmux session went away;
- ``open``: alive with a PR waiting; ``working``: alive, no PR yet; ``done``: ended;
- ``reviewing`` / ``reviewed``: an agent reviewer, at work or ended (it ends once it has
  given its verdict); ``orchestrating``: the project's orchestrator (``stopped`` once ended).
  These are no task of the backlog: they are counted apart and carry no cause.

``escalated``, ``killed`` and ``died`` carry a **cause** (:func:`core.report.causes.classify`)
read from the API error text, the exit status and the reaction history.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from core.config_report import ReportConfig
from core.inert import inert
from core.models import ACTIVE_LIFECYCLES, Lifecycle, Role, Session
from core.reactions.handoff import HAND_KEY
from core.report.causes import classify
from core.report.cost import usage_of
from core.report.tally import Tally, tally_events
from core.store import Store

OUTCOMES = (
    "merged",
    "open",
    "escalated",
    "working",
    "killed",
    "died",
    "done",
    "reviewing",
    "reviewed",
    "orchestrating",
    "stopped",
)
"""Every outcome, in the order the summary names them."""
_WITH_CAUSE = frozenset({"escalated", "killed", "died"})


@dataclass(frozen=True)
class SessionLine:
    """One session's line of the report."""

    session: str
    project: str
    title: str
    agent: str
    outcome: str
    cause: str
    """One word for escalated, killed and died (``auth``, ``CI``, ``exit 1``…), else ""."""
    why: str
    """The evidence behind the cause, in words (inert: written by others)."""
    ci_cycles: int
    reactions: int
    interventions: int
    time_to_merge: float | None
    tokens: int | None
    cost_usd: float | None
    cost_estimated: bool
    created_at: float

    def to_json(self) -> dict[str, Any]:
        """The object of one session in ``report --json``."""
        return {
            "session": self.session,
            "project": self.project,
            "title": self.title,
            "agent": self.agent,
            "outcome": self.outcome,
            "cause": self.cause or None,
            "why": self.why or None,
            "ci_cycles": self.ci_cycles,
            "reactions": self.reactions,
            "interventions": self.interventions,
            "time_to_merge": self.time_to_merge,
            "tokens": self.tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 4),
            "cost_estimated": self.cost_estimated,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Report:
    """Every line of the report and when it covers from."""

    since: float | None
    generated_at: float
    lines: tuple[SessionLine, ...]

    def counts(self) -> dict[str, int]:
        """Sessions by outcome, every outcome present (0 when none)."""
        found = Counter(line.outcome for line in self.lines)
        return {outcome: found.get(outcome, 0) for outcome in OUTCOMES}

    def causes(self, outcome: str) -> dict[str, int]:
        """Causes of ``outcome``'s sessions, most frequent first (then by name)."""
        found = Counter(line.cause for line in self.lines if line.outcome == outcome)
        return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` document."""
        costs = [line.cost_usd for line in self.lines if line.cost_usd is not None]
        return {
            "since": self.since,
            "generated_at": self.generated_at,
            "total": len(self.lines),
            "counts": self.counts(),
            "causes": {outcome: self.causes(outcome) for outcome in sorted(_WITH_CAUSE)},
            "tokens": sum(line.tokens or 0 for line in self.lines),
            "cost_usd": round(sum(costs), 4),
            "sessions": [line.to_json() for line in self.lines],
        }


def build_report(
    store: Store,
    config: ReportConfig,
    *,
    since: float | None = None,
    now: float | None = None,
) -> Report:
    """The report of every session alive now or created or changed after ``since`` (epoch
    seconds; None: every session), oldest first."""
    now = time.time() if now is None else now
    tallies = tally_events(store)
    lines = [
        _line(session, tallies.get(session.id, Tally()), config)
        for session in store.list_sessions()
        if since is None
        or session.lifecycle in ACTIVE_LIFECYCLES
        or max(session.created_at, session.updated_at) >= since
    ]
    lines.sort(key=lambda line: (line.created_at, line.session))
    return Report(since=since, generated_at=now, lines=tuple(lines))


def _outcome(session: Session) -> str:
    alive = session.lifecycle in ACTIVE_LIFECYCLES
    if session.role is Role.REVIEWER:
        return "reviewing" if alive else "reviewed"
    if session.role is Role.ORCHESTRATOR:
        return "orchestrating" if alive else "stopped"
    if session.lifecycle is Lifecycle.MERGED:
        return "merged"
    if session.lifecycle is Lifecycle.KILLED:
        return "killed"
    if session.lifecycle is Lifecycle.EXITED:
        return "died"
    if session.lifecycle is Lifecycle.DONE:
        return "done"
    mark = session.reaction
    if mark is not None and mark.status == "escalated":
        return "escalated"
    return "open" if session.pr is not None else "working"


def _evidence(session: Session, tally: Tally) -> list[str]:
    """Text that may say why, newest-relevant first."""
    mark = session.reaction
    texts = [mark.reason if mark is not None else ""]
    texts += reversed(tally.escalation_reasons)
    texts += [session.lifecycle_reason, session.activity.detail]
    texts += reversed(tally.errors)
    return [text for text in texts if text]


def _line(session: Session, tally: Tally, config: ReportConfig) -> SessionLine:
    outcome = _outcome(session)
    cause = why = ""
    if outcome in _WITH_CAUSE:
        evidence = _evidence(session, tally)
        mark = session.reaction
        key = mark.key if mark is not None else tally.escalation_key
        if key == HAND_KEY and tally.handed_key:
            # Escalated by the orchestrator after a reaction handed it the session: the
            # reaction's key says what went wrong.
            key = tally.handed_key
        if outcome == "killed" and not tally.escalation_key and mark is None:
            # Killed with no reaction behind it: the operator's own call, said as such.
            evidence = [text for text in evidence if text != session.lifecycle_reason]
        cause, shown = classify(evidence, key)
        if outcome == "killed" and cause == "unknown":
            cause, shown = "operator", session.lifecycle_reason
        why = inert(shown, one_line=True)
    usage = usage_of(session.extra, config)
    merged_at = tally.merged_at if outcome == "merged" else None
    return SessionLine(
        session=session.id,
        project=session.project,
        title=inert(session.title, one_line=True),
        agent=session.agent,
        outcome=outcome,
        cause=cause,
        why=why,
        ci_cycles=len(tally.failed_heads),
        reactions=tally.reactions,
        interventions=tally.interventions,
        time_to_merge=None if merged_at is None else max(0.0, merged_at - session.created_at),
        tokens=usage.tokens,
        cost_usd=usage.cost_usd,
        cost_estimated=usage.estimated,
        created_at=session.created_at,
    )
