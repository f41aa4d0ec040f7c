"""What the board says while there is no session at all: how to start one, what the zones mean.

Shown in the board's place (the preview has nothing to show then), so a first run at 80x24
is not an empty screen above "No session selected".
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ao_tui.legend import ZONE_MEANINGS
from ao_tui.widgets.card import CardPalette
from core.models import ZONE_ORDER


def first_run_text(new_key: str, help_key: str, quit_key: str, palette: CardPalette) -> Table:
    """The first-run guide, naming the keys as currently mapped."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    table.add_row(Text("No sessions yet.", style="bold"), "")
    table.add_row(
        Text(new_key, style=f"bold {palette.waiting}"),
        "starts a session: project, agent and the task (or an issue)",
    )
    table.add_row(Text("shell", style="bold"), 'or  ao-tui spawn -p "fix the flaky login test"')
    table.add_row(Text(help_key, style="bold"), "every key, and what the marks on a card mean")
    table.add_row(Text(quit_key, style="bold"), "quits; sessions keep running in tmux")
    table.add_row("", "")
    table.add_row(Text("Zones", style="bold"), "the board sorts sessions by what they need:")
    for index, zone in enumerate(ZONE_ORDER, start=1):
        table.add_row(Text(f"{index} {zone.value}"), Text(ZONE_MEANINGS[zone], palette.muted))
    return table


class FirstRun(Static):
    """The guide shown instead of the empty board."""

    def show_keys(self, new_key: str, help_key: str, quit_key: str, palette: CardPalette) -> None:
        """Fill in the keys (they follow the keymap) and the theme's colours."""
        self.update(first_run_text(new_key, help_key, quit_key, palette))
