"""Why a session needs the operator: the predicates the zones use and the words shown for it.

Every front end (card, preview, toast, ``status``) shows the same reason, from here.

"Fixing" means someone is on it: the session's agent, busy, or a reaction that sent it the
facts (:mod:`core.reactions`). An idle or exited agent whose PR has failing CI, requested
changes or conflicts, with no reaction at work, is waiting for the operator, so it is in
Needs you, worded as such. :func:`someone_is_fixing` is the one place that decides it. A
reaction escalated to the operator, or a message suggest mode prepared, is in Needs you
with the reaction's own words.
"""

from __future__ import annotations

from core.models import NOTHING_ASKED, ActivityState, Lifecycle, Session

PR_TROUBLE: dict[str, str] = {
    "ci_failed": "CI failed",
    "changes_requested": "changes requested",
    "conflicts": "conflicts with {base}",
}
"""PR states someone has to fix, and how each reads."""

_NEXT_STEP: dict[str, tuple[str, str]] = {
    "ci_failed": ("send it the failure", "c, then s"),
    "changes_requested": ("forward them", "i, Review, f"),
    "conflicts": ("ask it to merge {base}", "s"),
}
"""What the operator does next, and the cockpit keys that do it."""
_ON_IT = frozenset({ActivityState.WORKING, ActivityState.UNKNOWN})
"""Busy, or not known yet (a session that has just started or been restored)."""
_RESTORED_QUIET = 30.0
"""Seconds after a restore within which an agent found waiting for input is what the
restore was expected to bring back, not news."""


def someone_is_fixing(session: Session) -> bool:
    """Whether anyone is working on what the session's PR needs.

    The session's own agent is, while it is busy (or starting); so is a reaction that sent
    it the facts and has not given up (the agent reads them when its turn ends).
    """
    live = session.lifecycle in (Lifecycle.RUNNING, Lifecycle.SPAWNING)
    mark = session.reaction
    acting = mark is not None and mark.status == "acting"
    return live and (session.activity.state in _ON_IT or acting)


def pr_trouble(session: Session) -> str | None:
    """``CI failed``, ``changes requested`` or ``conflicts with main``; None otherwise."""
    state = "" if session.pr is None else session.pr.state
    words = PR_TROUBLE.get(state)
    return None if words is None else words.format(base=session.base_branch or "the base")


def needs_you_reason(session: Session, *, keys: bool = True) -> str:
    """Why the session is in Needs you, in full (callers shorten it to fit).

    ``keys`` adds the cockpit keys that take the next step; scripts get the words alone.
    """
    activity = session.activity
    waiting = activity.waiting_for or NOTHING_ASKED
    mark = session.reaction
    if mark is not None and mark.status == "escalated" and mark.reason:
        return mark.reason
    if mark is not None and mark.status == "suggested":
        words = f"a {mark.key} message is ready"
        return f"{words} — send, edit or drop it" + (" (S, e, D)" if keys else "")
    if activity.state is ActivityState.WAITING_INPUT and waiting.tool:
        command = waiting.command
        return f"permission: {waiting.tool}" + (f" {command}" if command else "")
    if session.lifecycle is Lifecycle.EXITED:
        return session.lifecycle_reason or "the agent exited"
    trouble = pr_trouble(session)
    pr = session.pr
    idle = activity.state is ActivityState.IDLE
    if trouble and pr is not None and idle and not someone_is_fixing(session):
        step, hint = _NEXT_STEP[pr.state]
        step = step.format(base=session.base_branch or "the base")
        return f"{trouble}; the agent is idle — {step}" + (f" ({hint})" if keys else "")
    if activity.state is ActivityState.IDLE and session.lifecycle_reason == "restored":
        return "restored: waiting for your next message"
    return activity.detail or activity.state.value


def restored_and_waiting(session: Session) -> bool:
    """Whether the session is a restore's agent, back and waiting, as a restore leaves it.

    A resumed conversation waits for the operator's next message: it belongs in Needs you,
    but the operator who restored it a moment ago needs no alarm about it.
    """
    started = session.extra.get("started_at")
    return (
        session.lifecycle_reason == "restored"
        and session.activity.state is ActivityState.IDLE
        and isinstance(started, int | float)
        and session.activity.since - float(started) <= _RESTORED_QUIET
    )
