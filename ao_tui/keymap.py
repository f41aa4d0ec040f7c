"""Every key of the cockpit in one table: default bindings, palette titles, user overrides.

Each :class:`Command` is the single source for a key binding (with its id, so the operator
can remap it), its command-palette entry (namespaced ``"session: attach"``) and its line
in the ``?`` help. Overrides are ``{binding id: "key[,key...]"}``, applied with Textual's
``set_keymap``; an unknown id is an error naming the known ones, so a typo in the config
never silently leaves a key on its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.errors import AoError
from core.models import ZONE_ORDER

if TYPE_CHECKING:
    # Textual is imported where a binding is made: `config check` reads the binding ids
    # from here and must stay as light as every headless verb.
    from textual.binding import Binding


@dataclass(frozen=True)
class Command:
    """One operator command: its binding id, default keys, action and palette title."""

    id: str
    """Binding id, e.g. ``session.attach``; the part before the dot is the palette namespace."""
    keys: str
    """Default keys, comma separated (Textual key names)."""
    action: str
    """The action run (on the app, or on the board for ``board.*`` ids)."""
    description: str
    """Short label shown in the footer."""
    help: str
    """One sentence for the help screen and the palette."""
    show: bool = True
    """Whether the footer lists it (movement keys are only in the help)."""
    key_display: str | None = None
    priority: bool = False

    @property
    def title(self) -> str:
        """The command-palette title, namespaced like ``session: attach``."""
        namespace = self.id.split(".", 1)[0]
        return f"{namespace}: {self.help_title}"

    @property
    def help_title(self) -> str:
        """The palette title without its namespace (the help text's first clause)."""
        return self.help.split(";", 1)[0].rstrip(".")

    def binding(self) -> Binding:
        """The Textual binding for this command."""
        from textual.binding import Binding

        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            key_display=self.key_display,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
        )


BOARD_COMMANDS: tuple[Command, ...] = (
    Command("board.down", "j", "cursor_down", "down", "move down", show=False),
    Command("board.up", "k", "cursor_up", "up", "move up", show=False),
    Command("board.next_zone", "l,tab", "next_zone", "next zone", "next zone", show=False),
    Command(
        "board.previous_zone",
        "h,shift+tab",
        "previous_zone",
        "prev zone",
        "previous zone",
        show=False,
    ),
    *(
        Command(
            f"board.zone_{index + 1}",
            str(index + 1),
            f"jump_zone({index})",
            zone.value,
            f"jump to {zone.value}",
            show=False,
        )
        for index, zone in enumerate(ZONE_ORDER)
    ),
    Command(
        "board.toggle_done", "z", "toggle_done", "fold done", "fold or unfold Done", show=False
    ),
    Command(
        "board.next_prompt",
        "w",
        "next_prompt",
        "next prompt",
        "next prompt; the next one waiting, cycling",
        show=False,
    ),
    Command(
        "board.orchestrator",
        "0",
        "select_pinned",
        "orchestrator",
        "select the orchestrator; its line above the zones",
        show=False,
    ),
)
"""Movement on the board; bound on the board widget so Tab beats the screen's focus keys."""

APP_COMMANDS: tuple[Command, ...] = (
    # Priority: the zone tables would otherwise take Enter as "select row".
    Command(
        "session.attach",
        "enter",
        "attach",
        "attach",
        "attach; this terminal joins the session's tmux",
        key_display="⏎",
        priority=True,
    ),
    Command("session.send", "s", "send", "send", "send a message; Ctrl+S sends it"),
    Command("session.approve", "y", "answer(True)", "yes", "approve the pending prompt"),
    Command("session.deny", "n", "answer(False)", "no", "deny the pending prompt"),
    Command("session.detail", "i", "detail", "info", "detail; terminal, transcript, events"),
    Command("session.new", "N", "new_session", "new", "new session; project, task, agent"),
    Command("session.kill", "x", "kill", "kill", "kill; uncommitted work is saved first"),
    Command("session.restore", "r", "restore", "restore", "restore; restart it in place"),
    Command("session.ci", "c", "ci", "CI", "CI; checks, logs, rerun, send to agent"),
    Command("session.diff", "d", "diff", "diff", "diff; the branch against its base"),
    Command("session.merge", "m", "merge", "merge", "merge; shows every blocker first"),
    Command(
        "session.approve_pr", "A", "approve_pr", "approve", "approve; the PR at its current head"
    ),
    Command(
        "reactions.send", "S", "send_suggestion", "send ✉", "send the suggested message as it is"
    ),
    Command(
        "reactions.edit",
        "e",
        "edit_suggestion",
        "edit ✉",
        "edit the suggested message; Ctrl+S sends it",
    ),
    Command(
        "reactions.drop",
        "D",
        "drop_suggestion",
        "drop ✉",
        "drop the suggested message; you handle it",
    ),
    Command(
        "reactions.pause",
        "P",
        "pause_reactions",
        "pause reactions",
        "pause or resume reactions for this session",
        show=False,
    ),
    Command(
        "reactions.pause_all",
        "ctrl+r",
        "pause_all_reactions",
        "pause all reactions",
        "pause or resume reactions for every session",
        show=False,
    ),
    Command(
        "view.filter", "slash", "filter", "filter", "filter by id, title or branch", key_display="/"
    ),
    Command(
        "orchestrator.send",
        "o",
        "send_orchestrator",
        "orchestrator",
        "message the orchestrator; whatever is selected",
    ),
    Command("view.clear_filter", "escape", "clear_filter", "clear", "clear the filter", show=False),
    Command(
        "view.preview", "p", "toggle_preview", "preview", "toggle the live preview", show=False
    ),
    Command(
        "app.report",
        "R",
        "report",
        "report",
        "morning report; each session's outcome, why, CI, reactions and cost",
        show=False,
    ),
    Command("app.help", "question_mark", "help", "help", "help; every key", key_display="?"),
    Command("app.quit", "q", "quit", "quit", "quit; sessions keep running"),
)
"""Session and app commands; bound on the app, hidden by ``check_action`` when moot."""

ALL_COMMANDS: tuple[Command, ...] = BOARD_COMMANDS + APP_COMMANDS

DEFAULT_KEYMAP: dict[str, str] = {command.id: command.keys for command in ALL_COMMANDS}
"""Binding id to default keys; the shape user overrides take."""


class KeymapError(AoError, ValueError):
    """An override names a binding id that does not exist; the message lists them."""


def resolve_keymap(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Validate ``overrides`` against the known binding ids; the overrides to apply."""
    if not overrides:
        return {}
    unknown = sorted(set(overrides) - set(DEFAULT_KEYMAP))
    if unknown:
        known = ", ".join(sorted(DEFAULT_KEYMAP))
        raise KeymapError(f"unknown key binding id(s) {', '.join(unknown)} (known: {known})")
    empty = sorted(name for name, keys in overrides.items() if not keys.strip())
    if empty:
        raise KeymapError(f"no key given for {', '.join(empty)}")
    return {name: keys.replace(" ", "") for name, keys in overrides.items()}


def keys_for(command: Command, keymap: Mapping[str, str]) -> str:
    """The keys ``command`` answers to under ``keymap`` (the overrides in force)."""
    return keymap.get(command.id, command.keys)
