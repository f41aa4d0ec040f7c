"""Fixtures for cockpit tests: a deterministic engine without tmux, and a recorder.

Most cockpit tests need no tmux: the engine's runtime is :class:`CannedRuntime` (canned
pane screens, nothing runs) and sessions are inserted straight into a throwaway store
with a frozen clock, so every run shows the same board.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ao_tui.app import CockpitApp
from ao_tui.watching import THIS_COCKPIT
from core.engine import Engine
from tests.support.canned import CannedRuntime, sample_engine


@pytest.fixture
def runtime() -> CannedRuntime:
    """The canned runtime the sample engine uses (it records every call)."""
    return CannedRuntime()


@pytest.fixture
def engine(tmp_path: Path, runtime: CannedRuntime) -> Engine:
    """The sample state: ten sessions across every zone, no tmux in this cockpit test."""
    return sample_engine(tmp_path / "sample", runtime)


@pytest.fixture
def make_app(engine: Engine) -> Callable[..., CockpitApp]:
    """Build a cockpit on the sample engine: no reconcile, no bell, no cursor blink."""

    def make(**kwargs: Any) -> CockpitApp:
        kwargs.setdefault("reconcile", False)
        if not kwargs["reconcile"]:
            # The header as the usual cockpit shows it, whatever else runs on the machine.
            kwargs.setdefault("watching", THIS_COCKPIT)
        kwargs.setdefault("notify_bell", False)
        kwargs.setdefault("cursor_blink", False)
        return CockpitApp(engine, **kwargs)

    return make


class Recorder:
    """Records calls of a replaced method and returns a canned value (or calls through)."""

    def __init__(self, result: Any = None, through: Callable[..., Any] | None = None) -> None:
        """``through`` is called with the same arguments when given."""
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.result = result
        self.through = through

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Record, then answer."""
        self.calls.append((args, kwargs))
        if self.through is not None:
            return self.through(*args, **kwargs)
        return self.result
