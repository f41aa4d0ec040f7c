"""Every key of the cockpit, as currently mapped (user overrides applied), and what the
board's glyphs, badges, reaction marks and zones mean.

At 80x24 it does not fit on one screen: the body scrolls (arrows, j/k, PgUp/PgDn, Home/End,
the mouse wheel) under a title and a hint line that always show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ao_tui.keymap import ALL_COMMANDS, keys_for
from ao_tui.legend import (
    ACTIVITY_MEANINGS,
    LIFECYCLE_MEANINGS,
    PINNED_MEANING,
    PR_MEANINGS,
    PR_PREFIX_MEANINGS,
    REACTION_MEANINGS,
    ZONE_MEANINGS,
)
from ao_tui.widgets.card import CardPalette, legend_badges, legend_marks
from ao_tui.widgets.reaction_mark import legend_marks as reaction_marks
from core.models import ZONE_ORDER, ActivityState

_PAIRS = {
    "board.down": ("board.up", "move down / up"),
    "board.next_zone": ("board.previous_zone", "next / previous zone"),
    "session.approve": ("session.deny", "approve / deny the pending prompt"),
}
"""Commands shown on one line with their opposite, so the help fits 80x24."""


def help_rows(keymap: Mapping[str, str], key_display: Mapping[str, str]) -> list[tuple[str, str]]:
    """(keys, what they do) for every command, as mapped by ``keymap``."""
    by_id = {command.id: command for command in ALL_COMMANDS}

    def shown(command_id: str) -> str:
        keys = keys_for(by_id[command_id], keymap).split(",")
        return " ".join(key_display.get(key, key) for key in keys)

    paired = {partner for partner, _ in _PAIRS.values()}
    rows: list[tuple[str, str]] = []
    zone_keys: list[str] = []
    for command in ALL_COMMANDS:
        if command.id in paired:
            continue
        if command.id in _PAIRS:
            partner, text = _PAIRS[command.id]
            rows.append((f"{shown(command.id)} / {shown(partner)}", text))
        elif command.id.startswith("board.zone_"):
            zone_keys.append(shown(command.id))
            if len(zone_keys) == len(ZONE_ORDER):
                rows.append((" ".join(zone_keys), "jump to a zone, Needs you … Done"))
        else:
            rows.append((shown(command.id), command.help.replace(";", " —", 1)))
    rows.append(("^p", "command palette: every command by name"))
    return rows


def help_table(keymap: Mapping[str, str], key_display: Mapping[str, str]) -> Table:
    """The rows of :func:`help_rows` as a two-column grid."""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for keys, text in help_rows(keymap, key_display):
        table.add_row(keys, text)
    return table


QUIT_NOTE = (
    "q quits the cockpit (Ctrl+C on the board too). Every session keeps running in tmux; "
    "`ao-tui` brings the board back."
)

SCROLL_HINT = "↑↓ j k PgUp PgDn Home End scroll · esc ? q close"


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    return table


def legend_table(palette: CardPalette) -> Table:
    """Card glyphs, PR badges and zones, each with what it means, coloured as on the board."""
    table = _grid()
    table.add_row(Text("Card glyphs", style="bold"), "before the id")
    # One line per mark: ■ and ✓ stand for an activity and a lifecycle alike.
    meanings: dict[str, tuple[Text, list[str]]] = {}
    for mark, stands_for in legend_marks(palette):
        if isinstance(stands_for, ActivityState):
            meaning = ACTIVITY_MEANINGS[stands_for]
        else:
            meaning = LIFECYCLE_MEANINGS[stands_for]
        meanings.setdefault(mark.plain, (mark, []))[1].append(meaning)
    for mark, said in meanings.values():
        table.add_row(mark, "; ".join(said))
    table.add_row("", "")
    table.add_row(Text("PR badges", style="bold"), "after the title, e.g. #12 ci ✗")
    for prefix, meaning in PR_PREFIX_MEANINGS:
        table.add_row(Text(prefix, style=palette.muted), meaning)
    for badge, state in legend_badges(palette):
        table.add_row(badge, PR_MEANINGS[state])
    table.add_row("", "")
    table.add_row(Text("Reactions", style="bold"), "before the title, e.g. ↻ ci 1/2")
    for mark, status in reaction_marks(palette.style):
        table.add_row(mark, REACTION_MEANINGS[status])
    table.add_row("", "")
    table.add_row(Text("Zones", style="bold"), "sessions sort by what they need from you")
    table.add_row(Text("0 pinned"), PINNED_MEANING)
    for index, zone in enumerate(ZONE_ORDER, start=1):
        table.add_row(Text(f"{index} {zone.value}"), ZONE_MEANINGS[zone])
    return table


class HelpScreen(ModalScreen[None]):
    """The key reference and the legend; scrolls; Esc, ? or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q", "close", "close", id="help.close", tooltip="Back to the board"
        ),
        # The board's own movement keys scroll here too.
        Binding("j", "scroll(1)", "down", show=False),
        Binding("k", "scroll(-1)", "up", show=False),
    ]

    def __init__(
        self,
        keymap: Mapping[str, str],
        key_display: Mapping[str, str],
        palette: CardPalette | None = None,
    ) -> None:
        """Help for the keys in force; ``palette`` colours the legend as the board does."""
        super().__init__(classes="dialog")
        self.keymap = keymap
        self.key_display = key_display
        self.palette = palette or CardPalette()

    def compose(self) -> ComposeResult:
        """Title, the scrolling keys and legend, the hint line."""
        with Vertical(id="help-box", classes="dialog-box"):
            yield Static(Text("Keys and legend", style="bold"), classes="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(help_table(self.keymap, self.key_display), id="help-table")
                yield Static(QUIT_NOTE, id="help-quit", classes="dialog-note")
                yield Static(legend_table(self.palette), id="help-legend", classes="dialog-note")
            yield Static(SCROLL_HINT, id="help-hint")

    def on_mount(self) -> None:
        """The scrolling body takes the keys (arrows, PgUp/PgDn, Home/End)."""
        self.query_one("#help-scroll", VerticalScroll).focus()

    def action_scroll(self, lines: int) -> None:
        """Scroll the body by ``lines`` (j and k)."""
        body = self.query_one("#help-scroll", VerticalScroll)
        body.scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
