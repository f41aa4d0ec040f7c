"""The line under the zone counts that says sessions were orphaned or left half-done.

Hidden while there are none. The cockpit takes an inventory (:mod:`core.inventory`) in a
thread every few seconds and posts :class:`OrphanLine.Found`; the line then names how many,
the command that deals with them, and which ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from core.inventory import Finding


class OrphanLine(Static):
    """``2 orphaned or half-done sessions: run ao-tui doctor --fix · app-4, app-7``."""

    DEFAULT_CSS = """
    OrphanLine {
        height: 1;
        padding: 0 1;
        display: none;
        color: $warning;
        background: $warning 15%;
    }
    OrphanLine.-shown {
        display: block;
    }
    """

    @dataclass
    class Found(Message):
        """The findings of a fresh inventory (empty: nothing to report)."""

        findings: list[Finding]

    def show(self, findings: list[Finding]) -> None:
        """Show the count, the fix command and the ids; hide the line when there are none."""
        ids = list(dict.fromkeys(f.session_id for f in findings))
        self.set_class(bool(ids), "-shown")
        if not ids:
            self.update("")
            return
        noun = "session" if len(ids) == 1 else "sessions"
        line = Text(f"⚠ {len(ids)} orphaned or half-done {noun}: ", style="bold")
        line.append("run ao-tui doctor --fix", style="bold underline")
        line.append(" · " + ", ".join(ids))
        self.update(line)
