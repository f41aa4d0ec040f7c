"""The cockpit's side of the orchestrator: its last actions, and which one a key talks to.

The pinned strip (:mod:`ao_tui.widgets.pinned`) says each orchestrator's last action. That
comes from the event log (:mod:`core.actor_log`): read once in full when the cockpit loads
(and on every safety reload, only past what was read), and kept up from then on by the
events the change feed brings, which need no read at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from ao_tui.widgets.pinned import is_pinned
from core.actor_log import is_action, last_action
from core.models import Event, Lifecycle, Session
from core.store import Store

_SENDABLE = (Lifecycle.RUNNING, Lifecycle.PAUSED)


class LastActions:
    """Per acting session (an orchestrator), the newest event recording an action of its."""

    def __init__(self) -> None:
        """Nothing known yet."""
        self.by_actor: dict[str, Event] = {}
        self._read_upto: dict[str, int] = {}
        """Per actor, the newest sequence number a read of the log has covered."""

    def read(self, store: Store, actors: Iterable[str]) -> None:
        """Read each actor's newest action from the log, past what earlier reads covered.

        Runs in the reload thread; each result is one dict assignment, and a newer event
        the feed brought meanwhile is never replaced by an older one.
        """
        for actor in actors:
            upto = store.last_event_seq()
            found = last_action(store, actor, after=self._read_upto.get(actor, 0))
            if found is not None:
                self._keep(actor, found)
            self._read_upto[actor] = upto

    def observe(self, events: Iterable[Event]) -> bool:
        """Take the actions among freshly logged ``events``; whether any was one."""
        taken = False
        for event in events:
            actor = event.data.get("by")
            if isinstance(actor, str) and is_action(event, actor):
                self._keep(actor, event)
                taken = True
        return taken

    def _keep(self, actor: str, event: Event) -> None:
        known = self.by_actor.get(actor)
        if known is None or known.seq < event.seq:
            self.by_actor[actor] = event


def pinned_ids(sessions: Iterable[Session]) -> list[str]:
    """The ids of the orchestrators on the pinned strip."""
    return [s.id for s in sessions if is_pinned(s)]


def orchestrator_to_message(
    sessions: Iterable[Session], selected: Session | None
) -> Session | None:
    """The orchestrator the message key talks to: the selected session's project's, else the
    first that can take a message; None when none can."""
    live = [s for s in sessions if is_pinned(s) and s.lifecycle in _SENDABLE]
    if selected is not None:
        for session in live:
            if session.project == selected.project:
                return session
    return live[0] if live else None
