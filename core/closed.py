"""Merged and done sessions: which verbs they refuse, and the one sentence that says why.

A merged session's branch is in its base. Killing it would record it as killed and hide the
merge; restoring it would start an agent again on work that has already landed. The
engine refuses a restore, and a kill only removes what a merge left behind (the session
stays merged); the cockpit offers neither key. A PR merged on the host counts as merged
even before ao-tui records the session as merged.
"""

from __future__ import annotations

from core.models import Lifecycle, Session

_CLOSED = frozenset({Lifecycle.MERGED, Lifecycle.DONE})


def is_merged(session: Session) -> bool:
    """Whether the session's work has landed: merged by ao-tui or on the host."""
    host_merged = session.pr is not None and session.pr.state == "merged"
    return session.lifecycle is Lifecycle.MERGED or host_merged


def is_closed(session: Session) -> bool:
    """Whether the session is finished for good (merged or done): no kill, no restore."""
    return session.lifecycle in _CLOSED or is_merged(session)


def closed_reason(session: Session) -> str:
    """Why the session is closed: its recorded reason, or which PR the host merged."""
    if session.lifecycle in _CLOSED:
        return session.lifecycle_reason
    if is_merged(session):
        number = None if session.pr is None else session.pr.number
        return f"PR #{number} merged on the host" if number else "its PR was merged"
    return ""


def closed_state(session: Session) -> str:
    """``merged (merged into main as 1a2b3c4d5e)``: what the session is and why."""
    word = "merged" if is_merged(session) else session.lifecycle.value
    reason = closed_reason(session)
    return f"{word} ({reason})" if reason else word


def restore_refusal(session: Session) -> str | None:
    """Why ``session`` cannot be restored, or None when it may be."""
    if not is_closed(session):
        return None
    base = session.base_branch or "its base"
    return (
        f"{session.id} is {closed_state(session)}; restoring it would start its agent again "
        f"on work already in {base}. Spawn a new session for more work"
    )
