"""What a reaction sends to an agent: a framing line (the key's ``message``, or ours), then
the facts — the failing excerpt, where the full log is and the check's page on the host,
the review threads with ``path:line``, author and body, the conflicting files and the base
commit.

Everything someone else wrote (a CI log, a reviewer's comment, a file name) is made inert
(:func:`core.inert.inert`) before it joins the message: an escape in it is shown as ``^[``
and can neither end the paste nor press a key.
"""

from __future__ import annotations

from core.inert import inert
from core.models import Session
from core.reactions.facts import Fact
from core.reactions.rules import Rule
from core.review_threads import forward_message

_EXCERPT_LINES = 80
"""Most lines of one check's excerpt in a message; the log path says where the rest is."""


def compose(key: str, session: Session, rule: Rule, fact: Fact, *, attempt: int) -> str:
    """The message for one attempt of ``key``; "" for keys that send nothing."""
    budget = rule.budget
    of = f" (attempt {attempt} of {budget})" if budget else f" (attempt {attempt})"
    if key == "ci-failed":
        return _ci_failed(session, rule, fact, of)
    if key in ("changes-requested", "bugbot-comments"):
        return _threads(session, rule, fact, of)
    if key == "merge-conflicts":
        return _conflicts(session, rule, fact, of)
    if key == "agent-stuck":
        framing = rule.message or (
            f"ao-tui sees {fact.summary}. If something blocks you, say what it is; "
            "otherwise carry on."
        )
        return framing
    return ""


def _ci_failed(session: Session, rule: Rule, fact: Fact, of: str) -> str:
    pr = session.pr
    head = (pr.head_sha if pr else fact.token)[:10]
    framing = rule.message or (
        f"CI failed on {head}{of}. Fix the failure, run the tests, and commit the fix."
    )
    parts = [framing]
    for check in fact.checks:
        name = inert(check.name, one_line=True)
        line = f"Check {name!r} failed"
        # Both: the saved log is what the agent can read; the host's page is where the
        # run (its other jobs, a rerun) is, and what a human would open.
        if check.log_path:
            line += f"; the full log is {inert(check.log_path, one_line=True)}"
        if check.url:
            line += f"; the check is {inert(check.url, one_line=True)}"
        excerpt = inert(check.to_json()["excerpt"]).strip().splitlines()
        if len(excerpt) > _EXCERPT_LINES:
            excerpt = [
                *excerpt[:_EXCERPT_LINES],
                f"… ({len(excerpt) - _EXCERPT_LINES} more lines in the log)",
            ]
        parts += ["", line + ":", "", *excerpt]
    return "\n".join(parts).rstrip() + "\n"


def _threads(session: Session, rule: Rule, fact: Fact, of: str) -> str:
    pr = session.pr
    number = f" #{pr.number}" if pr is not None and pr.number else ""
    intro = rule.message or (
        f"Review comments on PR{number} are unresolved{of}. Address each one, commit, "
        "push, and say what you changed:"
    )
    return forward_message(fact.threads, intro=intro) + "\n"


def _conflicts(session: Session, rule: Rule, fact: Fact, of: str) -> str:
    pr = session.pr
    base = inert(session.base_branch or "the base branch", one_line=True)
    base_sha = (pr.base_sha if pr else "")[:10]
    at = f" at {base_sha}" if base_sha else ""
    framing = rule.message or (
        f"Your branch conflicts with {base}{at}{of}. Merge {base} into your branch, "
        "resolve the conflicts, run the tests, and commit."
    )
    files = [f"- {inert(name, one_line=True)}" for name in (pr.conflicts if pr else ())]
    return "\n".join([framing, "", "Conflicting files:", *files] if files else [framing]) + "\n"


_HANDOFF_LINES = 40
"""Most lines of one check's excerpt in a handoff: the orchestrator can read the log."""


def handoff_message(
    session: Session,
    key: str,
    fact: Fact | None,
    *,
    reason: str,
    tried: str,
    within: str,
    deadline: str,
) -> str:
    """What the orchestrator session is told when an episode is handed to it (tier 2): the
    session, the reaction key, why, what was tried, the facts, and what it may do by when.

    Everything someone else wrote (the reason quotes a test name, the excerpt a CI log, the
    title an issue) is made inert: this text is typed into an agent too.
    """
    sid = session.id
    lines = [
        f"ao-tui hands you session {sid} (project {session.project}): the reaction "
        f"{key} could not clear it on its own.",
        f"Why: {inert(reason, one_line=True)}",
        f"Task: {inert(session.title, one_line=True)}",
        f"Branch: {inert(session.branch, one_line=True)}",
    ]
    pr = session.pr
    if pr is not None and pr.url:
        lines.append(f"PR: {inert(pr.url, one_line=True)}")
    lines.append(f"Tried: {inert(tried, one_line=True)}")
    lines += _handoff_facts(fact)
    lines += [
        "",
        f"You own it now. Within {within} (by {deadline}) do one of these:",
        f'- ao-tui send {sid} "what to do": guide its agent',
        f"- ao-tui kill {sid}, then ao-tui spawn --issue N: start the task again",
        f'- ao-tui escalate {sid} "why": hand it to the human',
        "If you do none of them by then, the human is told.",
    ]
    return "\n".join(lines) + "\n"


def _handoff_facts(fact: Fact | None) -> list[str]:
    if fact is None:
        return []
    lines = [f"Facts: {inert(fact.summary, one_line=True)}"]
    for check in fact.checks:
        where = f"; full log: {inert(check.log_path, one_line=True)}" if check.log_path else ""
        lines += ["", f"Check {inert(check.name, one_line=True)!r} failing{where}:"]
        excerpt = inert(check.to_json()["excerpt"]).strip().splitlines()
        if len(excerpt) > _HANDOFF_LINES:
            more = len(excerpt) - _HANDOFF_LINES
            excerpt = [*excerpt[:_HANDOFF_LINES], f"… ({more} more lines in the log)"]
        lines += [f"  {line}" for line in excerpt]
    if fact.threads:
        lines += ["", forward_message(fact.threads, intro="Unresolved threads:")]
    return lines
