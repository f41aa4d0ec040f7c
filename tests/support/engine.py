"""Build a real engine (real tmux on the test socket, real git) around a temp config."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from core.config import load_config
from core.engine import Engine
from core.models import ActivityState, Session
from core.registry import Registry

T = TypeVar("T")

RECORDER = Path(__file__).with_name("recorder_agent.py")


def write_config(
    directory: Path,
    repo: Path,
    *,
    agent: str = "shell",
    command: str | None = None,
    prefix: str = "app",
    extra: str = "",
    extra_project_yaml: str = "",
) -> Path:
    """Write an ao.config.yaml with one project ``app`` for ``repo``; return its path.

    ``extra_project_yaml`` is added inside the project (indent its lines by 4 spaces);
    ``extra`` is appended at the top level.
    """
    lines = [
        "projects:",
        "  app:",
        f"    path: {repo}",
        "    defaultBranch: main",
        f"    sessionPrefix: {prefix}",
        f"    agent: {agent}",
    ]
    if command is not None:
        lines += ["    agentConfig:", f"      command: {command!r}"]
    path = directory / "ao.config.yaml"
    text = "\n".join(lines) + "\n" + extra_project_yaml.rstrip("\n")
    path.write_text(text.rstrip("\n") + "\n" + extra, encoding="utf-8")
    return path


def recorder_command(out: Path, *, bracketed: bool = False) -> str:
    """A shell-agent command line that records every byte it receives into ``out``.

    ``bracketed``: the recorder turns on bracketed paste first, as Claude Code does.
    """
    return f"{sys.executable} {RECORDER} {'--bracketed ' if bracketed else ''}{out}"


def make_engine(config_path: Path, registry: Registry | None = None) -> Engine:
    """An engine on ``config_path`` with the installed plugins (or ``registry``)."""
    registry = registry or Registry()
    loaded = load_config(config_path, known_agents=registry.names("agent"))
    return Engine(loaded.config, registry=registry)


def wait_for(check: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def ao(
    cwd: Path, *args: str, input_text: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI (``python -m ao_tui ARGS``) in ``cwd`` as scripts do; never raises."""
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input_text,
        timeout=timeout,
        check=False,
    )


def settle(
    engine: Engine, session_id: str, check: Callable[[Session], bool], timeout: float = 60
) -> Session:
    """Reconcile until ``check`` holds for the session; fail showing its last state and pane
    (the real-agent tests' way to wait for what the agent does next)."""
    deadline = time.monotonic() + timeout
    session = engine.get(session_id)
    while time.monotonic() < deadline:
        engine.reconcile()
        session = engine.get(session_id)
        if check(session):
            return session
        time.sleep(0.2)
    pane = engine.runtime.capture(session.pane_id) if session.pane_id else ""
    raise AssertionError(f"timed out; last activity {session.activity!r}\n--- pane ---\n{pane}")


def state_is(*states: ActivityState) -> Callable[[Session], bool]:
    """A :func:`settle` check: the session's activity is one of ``states``."""
    return lambda s: s.activity.state in states
