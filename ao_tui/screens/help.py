"""Every key of the cockpit, as currently mapped (user overrides applied)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ao_tui.keymap import ALL_COMMANDS, keys_for
from core.models import ZONE_ORDER

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


class HelpScreen(ModalScreen[None]):
    """The key reference; Esc, ? or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q", "close", "close", id="help.close", tooltip="Back to the board"
        ),
    ]

    def __init__(self, keymap: Mapping[str, str], key_display: Mapping[str, str]) -> None:
        """Help for the keys in force."""
        super().__init__(classes="dialog")
        self.keymap = keymap
        self.key_display = key_display

    def compose(self) -> ComposeResult:
        """A scrollable table of keys."""
        with VerticalScroll(id="help-box", classes="dialog-box"):
            yield Static(Text("Keys (esc closes)", style="bold"), classes="dialog-title")
            yield Static(help_table(self.keymap, self.key_display), id="help-table")
            yield Static(
                "Quitting leaves every session running; `ao-tui` brings the board back.",
                classes="dialog-note",
            )

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
