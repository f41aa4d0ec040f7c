"""Confirm a kill, saying exactly what happens to the session's uncommitted work."""

from __future__ import annotations

from enum import Enum
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from core.models import Session


class KillChoice(Enum):
    """What the operator chose: keep the work (WIP commit) or throw it away."""

    SAVE = "save"
    DISCARD = "discard"


def kill_explanation(session: Session) -> Text:
    """The consequences, in the words the operator needs before saying yes."""
    text = Text()
    text.append(f"Kill {session.id}", style="bold")
    text.append(f" ({session.title})?\n\n")
    text.append("The agent stops and its worktree is removed. ")
    text.append("Uncommitted work will be saved as a WIP commit on ")
    text.append(session.branch, style="bold")
    text.append(", and the branch is kept, so ")
    text.append("r", style="bold")
    text.append(" restores it later.\n\nDiscard instead throws the uncommitted work away.")
    return text


class ConfirmKillScreen(ModalScreen[KillChoice | None]):
    """Kill (saving work), kill and discard, or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "k",
            "choose('save')",
            "kill, save work",
            id="kill.save",
            tooltip="Kill; uncommitted work becomes a WIP commit",
        ),
        Binding(
            "d",
            "choose('discard')",
            "kill, discard",
            id="kill.discard",
            tooltip="Kill and throw uncommitted work away",
        ),
        Binding("escape", "choose('')", "cancel", id="kill.cancel", tooltip="Do nothing"),
    ]

    def __init__(self, session: Session) -> None:
        """A confirmation for killing ``session``."""
        super().__init__(classes="dialog")
        self.session = session

    def compose(self) -> ComposeResult:
        """Explanation and three buttons."""
        with Vertical(id="kill-dialog", classes="dialog-box"):
            yield Static(kill_explanation(self.session), id="kill-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Kill, save work [k]", id="kill-save", variant="error")
                yield Button("Kill, discard [d]", id="kill-discard")
                yield Button("Cancel [esc]", id="kill-cancel")

    def on_mount(self) -> None:
        """Enter on the focused button kills and saves, the safe default."""
        self.query_one("#kill-save", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice = {"kill-save": "save", "kill-discard": "discard"}.get(event.button.id or "", "")
        self.action_choose(choice)

    def action_choose(self, choice: str) -> None:
        """Close with the choice ('' cancels)."""
        self.dismiss(KillChoice(choice) if choice else None)
