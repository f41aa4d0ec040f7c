"""The line under the zone counts that says the config file has an error the cockpit ignores.

Hidden while the config in use is the file's. When the file changes and no longer loads,
the cockpit keeps the config it has (:mod:`core.config_reload`) and this line says so,
where the error is and what to do, until a later save loads again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

from core.config_reload import Reload
from core.inert import inert


class ConfigLine(Static):
    """``⚠ config not reloaded: ao.config.yaml:5:9: projects.app.ci: expected a mapping…``.

    Not reloaded means the previous config stays in use (the toast says so in words); the
    line keeps the room for where the error is and what it is.
    """

    DEFAULT_CSS = """
    ConfigLine {
        height: 1;
        padding: 0 1;
        display: none;
        color: $error;
        background: $error 15%;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ConfigLine.-shown {
        display: block;
    }
    """

    @dataclass
    class Reloaded(Message):
        """The config file changed; what its reload found."""

        reload: Reload

    def show(self, error: str) -> None:
        """Show ``error`` (one line: file:line:col first); hide the line when it is ""."""
        self.set_class(bool(error), "-shown")
        if not error:
            self.update("")
            return
        line = Text("⚠ config not reloaded: ", style="bold", no_wrap=True, overflow="ellipsis")
        line.append(inert(error, one_line=True))
        self.update(line)
