"""The line under the zone counts that says nobody is watching the sessions.

Hidden while a process (this cockpit, another one, the daemon) holds the engine lease.
Shown, in the error colour, when none does: nothing then refreshes the board, raises a
toast for a new prompt or notices that CI finished.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ao_tui.watching import NOBODY_LINE


class WatchAlarm(Static):
    """``NOBODY IS WATCHING: sessions are not being refreshed (run ao-tui daemon)``."""

    DEFAULT_CSS = """
    WatchAlarm {
        height: 1;
        padding: 0 1;
        display: none;
        color: $text;
        background: $error;
        text-style: bold;
    }
    WatchAlarm.-shown {
        display: block;
    }
    """

    def alarm(self, nobody: bool) -> None:
        """Show the alarm while nobody watches; hide it otherwise."""
        if nobody == self.has_class("-shown"):
            return
        self.set_class(nobody, "-shown")
        self.update(Text(NOBODY_LINE) if nobody else "")
