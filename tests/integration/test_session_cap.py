"""``maxConcurrentSessions``: spawn refuses beyond the cap with exit 4, naming the holders.

Real git, real tmux (test socket), the recorder shell agent, the real CLI as processes for
the exit code and the race: two spawns started at once against a cap with one slot free.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Config, load_config
from core.engine import Engine
from core.errors import ConfigError, SessionCapError
from core.models import Lifecycle
from core.session_cap import session_cap, slot_holders
from tests.support.engine import ao, make_engine, recorder_command, write_config


def _config(tmp_path: Path, repo: Path, project_yaml: str = "", extra: str = "") -> Path:
    config = write_config(
        repo,
        repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml=project_yaml,
        extra=extra,
    )
    (repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return config


def _load(path: Path) -> Config:
    return load_config(path, known_agents=["shell"]).config


@pytest.fixture
def capped(tmp_path: Path, git_repo: Path) -> Path:
    _config(tmp_path, git_repo, "    maxConcurrentSessions: 2\n")
    return git_repo


def test_the_cap_comes_from_the_project_else_the_defaults(tmp_path: Path, git_repo: Path) -> None:
    path = _config(tmp_path, git_repo, extra="defaults:\n  maxConcurrentSessions: 7\n")
    assert session_cap(_load(path), "app") == 7
    path = _config(
        tmp_path,
        git_repo,
        "    maxConcurrentSessions: 3\n",
        "defaults:\n  maxConcurrentSessions: 7\n",
    )
    assert session_cap(_load(path), "app") == 3
    assert session_cap(_load(_config(tmp_path, git_repo)), "app") is None
    path = _config(tmp_path, git_repo, "    maxConcurrentSessions: 0\n")
    with pytest.raises(ConfigError) as info:
        _load(path)
    assert "projects.app.maxConcurrentSessions" in str(info.value)


def test_spawn_beyond_the_cap_is_refused_naming_the_holders(capped: Path) -> None:
    engine = make_engine(capped / "ao.config.yaml")
    first = engine.spawn("app", "fix the login test")
    second = engine.spawn("app", "write the release notes")
    with pytest.raises(SessionCapError) as info:
        engine.spawn("app", "rename the config loader")
    message = str(info.value)
    assert message.startswith("project app is at its cap of 2 sessions (maxConcurrentSessions)")
    assert f"held by {first.id} (running), {second.id} (running)" in message
    assert info.value.exit_code == 4
    # --force lifts the duplicate check, never the cap.
    with pytest.raises(SessionCapError):
        engine.spawn("app", "rename the config loader", force=True)
    assert len(engine.store.list_sessions()) == 2
    # A killed session gives its slot back.
    engine.kill(first.id)
    third = engine.spawn("app", "rename the config loader")
    assert third.lifecycle is Lifecycle.RUNNING
    # Restoring the killed one would take a third slot: refused the same way.
    with pytest.raises(SessionCapError, match=f"held by {second.id} .*, {third.id} "):
        engine.restore(first.id)
    assert engine.get(first.id).lifecycle is Lifecycle.KILLED
    engine.kill(second.id)
    assert engine.restore(first.id).lifecycle is Lifecycle.RUNNING


def test_the_cli_exits_4_with_the_holders(capped: Path) -> None:
    for task in ("fix the login test", "write the release notes"):
        assert ao(capped, "spawn", "--prompt", task).returncode == 0
    refused = ao(capped, "spawn", "--prompt", "rename the config loader")
    assert refused.returncode == 4, refused.stderr
    assert "at its cap of 2 sessions" in refused.stderr
    assert "held by app-1 (running), app-2 (running)" in refused.stderr


def test_two_spawns_at_once_never_both_take_the_last_slot(capped: Path) -> None:
    engine = make_engine(capped / "ao.config.yaml")
    engine.spawn("app", "fix the login test")
    # Each spawn then takes over a second between its count and its row (git runs the
    # post-checkout hook when it makes the worktree): both racers would see the slot free
    # if the count and the insert were not under one lock.
    hook = capped / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\nsleep 1\n", encoding="utf-8")
    hook.chmod(0o755)
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "ao_tui", "spawn", "--prompt", task],
            cwd=capped,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for task in ("write the release notes", "rename the config loader")
    ]
    codes = sorted(racer.wait(timeout=90) for racer in racers)
    errors = " ".join(racer.stderr.read() for racer in racers if racer.stderr)
    assert codes == [0, 4], errors
    live = [s for s in engine.store.list_sessions() if s.lifecycle is Lifecycle.RUNNING]
    assert len(live) == 2


def test_exited_sessions_hold_a_slot_ended_ones_do_not(capped: Path) -> None:
    engine = make_engine(capped / "ao.config.yaml")
    base = engine.spawn("app", "fix the login test")
    sessions = [
        replace(base, id=f"app-{n}", lifecycle=lifecycle, created_at=base.created_at + n)
        for n, lifecycle in enumerate(Lifecycle)
    ]
    held = [s.lifecycle for s in slot_holders(sessions, "app")]
    assert held == [Lifecycle.SPAWNING, Lifecycle.RUNNING, Lifecycle.PAUSED, Lifecycle.EXITED]
    assert slot_holders(sessions, "other") == []


def test_an_uncapped_project_spawns_freely(tmp_path: Path, git_repo: Path) -> None:
    engine: Engine = make_engine(_config(tmp_path, git_repo))
    for task in ("one task", "another job", "a third piece"):
        engine.spawn("app", task)
    assert len(engine.store.list_sessions()) == 3
