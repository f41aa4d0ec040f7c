"""The two reactions read from events rather than from a session's row.

- ``pr-closed``: a ``pr`` event whose PR went from open to nothing while the session still
  runs — the host closed it without merging (a closed PR is not reported as a PR at all).
- ``all-complete``: the event that ended a project's last running session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.models import ENDED_LIFECYCLES, Session

if TYPE_CHECKING:
    from core.feed import Change
    from core.reactions.reactor import Reactor

EVENT_KEYS = frozenset({"pr-closed", "all-complete"})
"""The reaction keys read here, from events; every other key is read from a session's row."""
_OPEN_STATES = frozenset({"none", "merged", "unknown"})


def on_changes(
    reactor: Reactor,
    session: Session,
    changes: list[Change],
    list_sessions: Callable[[], list[Session]],
) -> None:
    """Tell the operator what ``changes`` (events of ``session``) mean for these two keys."""
    for change in changes:
        event = change.event
        if event.kind == "pr" and _closed_unmerged(event.data, session):
            reactor.tell(
                session, "pr-closed", f"pr:{event.seq}", "the PR was closed without merging"
            )
        if (
            event.kind in ("lifecycle", "merged", "killed")
            and session.lifecycle in ENDED_LIFECYCLES
        ):
            project = [s for s in list_sessions() if s.project == session.project]
            if project and all(s.lifecycle in ENDED_LIFECYCLES for s in project):
                merged = sum(1 for s in project if s.lifecycle.value == "merged")
                token = ",".join(sorted(s.id for s in project))
                count = len(project)
                reason = (
                    f"every session of {session.project} is complete: {merged} of {count} merged"
                )
                reactor.tell(session, "all-complete", token, reason, scope=f"*{session.project}")


def _closed_unmerged(data: dict[str, object], session: Session) -> bool:
    before, after = data.get("previous"), data.get("state")
    return (
        after == "none"
        and isinstance(before, str)
        and before not in _OPEN_STATES
        and session.lifecycle not in ENDED_LIFECYCLES
    )
