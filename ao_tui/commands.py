"""The command palette: every cockpit command by its namespaced title.

Titles come from :mod:`ao_tui.keymap` (``session: attach``, ``view: filter by id…``) and
show the key bound to them, so the palette doubles as a way to learn the keys. Commands
that do not apply to the selected session are left out, like their footer keys.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ao_tui.keymap import ALL_COMMANDS, Command

if TYPE_CHECKING:
    from ao_tui.app import CockpitApp


class CockpitCommands(Provider):
    """Provides the cockpit's own commands to Ctrl+P."""

    def _commands(self) -> list[tuple[Command, Callable[[], Any]]]:
        app: CockpitApp = self.app  # type: ignore[assignment]
        found: list[tuple[Command, Callable[[], Any]]] = []
        for command in ALL_COMMANDS:
            target = "board" if command.id.startswith("board.") else "app"
            if not app.command_applies(command):
                continue
            found.append((command, partial(app.run_palette_command, target, command.action)))
        return found

    def _help(self, command: Command) -> str:
        app: CockpitApp = self.app  # type: ignore[assignment]
        return f"{app.describe_keys(command)} · {command.help}"

    async def discover(self) -> Hits:
        """Every applicable command, in keymap order, for an empty query."""
        for command, run in self._commands():
            yield DiscoveryHit(command.title, run, help=self._help(command))

    async def search(self, query: str) -> Hits:
        """Commands whose title fuzzily matches ``query``."""
        matcher = self.matcher(query)
        for command, run in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    run,
                    text=command.title,
                    help=self._help(command),
                )
