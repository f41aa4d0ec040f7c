"""Plugins that fail on cue, standing in for a tmux or git that breaks mid-action.

Making real tmux or git fail at one exact call is not reliable (the failure would have to
land between two calls of one action), so these fakes raise where a test says: each call
named in ``failures`` raises that exception; every other call behaves like the canned
runtime (or, for the SCM and workspace, raises nothing the test did not ask for).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.slots import PaneInfo
from tests.support.canned import CannedRuntime


class FailingRuntime(CannedRuntime):
    """The canned runtime, except that the calls named in ``failures`` raise."""

    def __init__(self, failures: dict[str, BaseException] | None = None) -> None:
        """``failures`` maps a method name (``paste``) to what it raises."""
        super().__init__()
        self.failures: dict[str, BaseException] = dict(failures or {})

    def _check(self, name: str) -> None:
        error = self.failures.get(name)
        if error is not None:
            raise error

    def create(
        self, name: str, cwd: Path, argv: Sequence[str], *, width: int = 200, height: int = 50
    ) -> PaneInfo:
        """Fail as told, else refuse like the canned runtime."""
        self._check("create")
        return super().create(name, cwd, argv, width=width, height=height)

    def kill(self, name: str) -> None:
        """Fail as told, else forget the pane."""
        self._check("kill")
        super().kill(name)

    def list_panes(self) -> dict[str, PaneInfo]:
        """Fail as told, else the canned panes (every call is recorded)."""
        self.calls.append(("list_panes",))
        self._check("list_panes")
        return super().list_panes()

    def capture(self, target: str, *, ansi: bool = False) -> str:
        """Fail as told, else the canned screen."""
        self._check("capture")
        return super().capture(target, ansi=ansi)

    def paste(self, target: str, text: str) -> None:
        """Fail as told, else record the paste."""
        self._check("paste")
        super().paste(target, text)

    def send_keys(self, target: str, *keys: str) -> None:
        """Fail as told, else record the keys."""
        self._check("send_keys")
        super().send_keys(target, *keys)

    def attach_argv(self, name: str, *, inside_tmux: bool) -> list[str]:
        """Fail as told, else a harmless command."""
        self._check("attach_argv")
        return super().attach_argv(name, inside_tmux=inside_tmux)


class FailingPlugin:
    """An SCM, workspace or tracker plugin every call of which raises ``error``."""

    def __init__(self, name: str, error: BaseException) -> None:
        """Fill the slot as ``name``; every method raises ``error``."""
        self.name = name
        self.error = error
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        """A method that records its name and raises."""
        if method.startswith("__"):
            raise AttributeError(method)

        def fail(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(method)
            raise self.error

        return fail
