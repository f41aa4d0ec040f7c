"""One base class for every ao-tui error, and the CLI's one error handler.

Every exception class ao-tui defines derives from :class:`core.errors.AoError` (found by
walking every module, so a new one that does not fails here); the CLI turns each into one
stderr line and its exit code, and anything unexpected into one line and exit 1.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess

import click
import pytest

import ao_tui
import core
import plugins
from ao_tui.cli.common import _errors, unexpected_error
from core.errors import AoError, ConfigError, EngineError, NotFoundError
from core.registry import UnknownPluginError
from core.slots import SlotError
from core.store import StoreError
from core.tracker import TrackerError

CONTROL_FLOW = {
    "plugins.agent.demo_program.interrupts.Quit",
    "plugins.agent.demo_program.interrupts.TurnInterrupted",
}
"""Exceptions the scripted demo agent uses to unwind its own loop, never shown to anyone."""


def _error_classes() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for package in (core, ao_tui, plugins):
        prefix = package.__name__ + "."
        for info in pkgutil.walk_packages(package.__path__, prefix):
            if info.name.endswith("__main__"):
                continue  # running it is what importing it does
            module = importlib.import_module(info.name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(value, BaseException)
                    and value.__module__ == info.name
                    and f"{value.__module__}.{value.__qualname__}" not in CONTROL_FLOW
                ):
                    found.append(value)
    return found


def test_every_ao_tui_exception_derives_from_ao_error() -> None:
    classes = _error_classes()
    names = {cls.__name__ for cls in classes}
    # The classes the issue names are found (the walk itself works).
    assert {"SlotError", "StoreError", "TrackerError", "UnknownPluginError"} <= names
    assert {"ConfigError", "EngineError", "MergeBlockedError", "YamlError"} <= names
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, AoError)]
    assert strays == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError.single("bad key", file="ao.config.yaml", line=3, col=1), 5),
        (EngineError("refused"), 1),
        (NotFoundError("no session"), 3),
        (StoreError("state.db: damaged"), 7),
        (SlotError("tmux failed"), 1),
        (TrackerError("TASKS.md:3: bad"), 1),
        (UnknownPluginError("no agent 'x'"), 1),
    ],
)
def test_ao_errors_become_one_line_and_their_exit_code(
    error: AoError, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited, _errors():
        raise error
    assert exited.value.code == code
    err = capsys.readouterr().err
    assert err == f"ao-tui: {error}\n"


def test_an_unexpected_error_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AO_TUI_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited, _errors():
        raise RuntimeError("the\nplugin broke with token ghp_abcdefghijklmnopqrstuvwxyz0123")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "RuntimeError: the plugin broke" in err and "AO_TUI_DEBUG=1" in err
    assert "ghp_" not in err  # masked like everything else ao-tui prints


def test_an_os_error_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit), _errors():
        raise PermissionError(13, "Permission denied", "/x/state.db")
    assert "/x/state.db: Permission denied" in capsys.readouterr().err


def test_debug_env_var_gives_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AO_TUI_DEBUG", "1")
    with pytest.raises(RuntimeError), _errors():
        raise RuntimeError("boom")


def test_click_usage_errors_pass_through() -> None:
    with pytest.raises(click.UsageError), _errors():
        raise click.UsageError("bad flag")


def test_unexpected_error_of_a_subprocess() -> None:
    error = subprocess.CalledProcessError(128, ["git", "status"], stderr="fatal")
    text = unexpected_error(error)
    assert text.startswith("unexpected error: CalledProcessError: ")
    assert "\n" not in text
