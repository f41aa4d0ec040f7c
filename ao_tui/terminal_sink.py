"""The cockpit's terminal, lent to the ``terminal`` notifier (:mod:`core.notify.terminal`).

The notifier runs where the outbox delivers: a worker thread of the process that holds the
engine lease. When that process is this cockpit, what the notifier writes reaches the
operator's terminal through the cockpit's own driver, on the cockpit's thread, so it never
lands in the middle of a screen update.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from core.notify.terminal import terminal_routed

if TYPE_CHECKING:
    from ao_tui.app import CockpitApp


class CockpitTerminal:
    """A :class:`core.notify.terminal.TerminalSink` writing to one cockpit's terminal."""

    def __init__(self, app: CockpitApp) -> None:
        """Lend ``app``'s terminal; call from the cockpit's own thread (its mount)."""
        self.app = app
        self.thread = threading.get_ident()

    def write_terminal(self, sequence: str) -> None:
        """Write ``sequence`` through the cockpit's driver, from any thread."""
        app = self.app
        if not app.is_running:
            raise OSError("the cockpit is closing")
        if threading.get_ident() == self.thread:
            app.write_raw(sequence)
            return
        try:
            app.call_from_thread(app.write_raw, sequence)
        except RuntimeError as exc:  # the app stopped between the check and the call
            raise OSError(f"the cockpit is closing ({exc})") from exc


def rings_through_notifier(app: CockpitApp) -> bool:
    """Whether the ``terminal`` notifier rings this cockpit's terminal instead of the
    cockpit itself: it is routed, and this cockpit holds the lease (so the outbox delivers
    here). A cockpit that follows a daemon keeps its own bell: the daemon has no terminal."""
    return app.watching.this and terminal_routed(app.engine.config)
