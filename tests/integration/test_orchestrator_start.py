"""``ao-tui start`` / ``ao-tui stop``: one daemon, the project's orchestrator, no worker harmed.

- ``start`` starts a detached daemon when none runs (never a second one), spawns the
  orchestrator (role orchestrator, fixed id), and leaves both alone when run again.
- ``stop`` kills the orchestrator only; ``start`` then restores it in place.
- ``--no-orchestrator`` starts none; an agent that cannot run a role is refused.
- Inside the orchestrator's own environment, ``ao-tui`` is this ao-tui: it sees the same
  sessions, and what it does is marked "by app-orchestrator". A worker it spawns gets
  nothing of that environment.

Real git, real tmux (the test socket), the demo agent (it can run a role), the real CLI as
processes (``--json`` so no cockpit opens; stdout is no terminal anyway).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.agent_env import ROLE_BIN_ENV
from core.daemon_presence import daemon_pid, daemon_running
from core.lease import read_holder
from core.locations import Locations
from core.models import Lifecycle, Role
from core.plugin_access import live_pane
from core.provenance import ACTOR_ENV
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, wait_for, write_config

pytestmark = pytest.mark.tmux


@pytest.fixture
def config(git_repo: Path) -> Path:
    # A cap of 1: the worker a test spawns fills it, and the orchestrator takes no slot.
    path = write_config(
        git_repo, git_repo, agent="demo", extra_project_yaml="    maxConcurrentSessions: 1\n"
    )
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return path


@pytest.fixture
def daemons() -> Iterator[None]:
    """Stop whatever daemon a test's `start` left running (it outlives the CLI call)."""
    yield
    home = Locations.from_env().home
    pid = daemon_pid(home) if daemon_running(home) else None
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not daemon_running(home), timeout=20)


def start(repo: Path, *args: str) -> dict[str, object]:
    result = ao(repo, "start", *args, "--json", timeout=180)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def status(repo: Path, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    """``status --json`` run as the operator does, or (``env``) as the ``ao-tui`` found on
    that environment's PATH."""
    if env is None:
        result = ao(repo, "status", "--json")
    else:
        result = subprocess.run(
            ["ao-tui", "status", "--json"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    loaded: list[dict[str, object]] = json.loads(result.stdout)
    return loaded


def pane_environ(pid: int) -> dict[str, str]:
    """The environment the agent process of a pane runs with (as its launcher exec'd it)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode() for key, value in pairs}


def test_start_stop_start_keeps_workers_and_one_daemon(
    config: Path, git_repo: Path, daemons: None
) -> None:
    first = start(git_repo)
    daemon = first["daemon"]
    assert isinstance(daemon, dict) and daemon["action"] == "started"
    assert first["orchestrator"] == {
        "id": "app-orchestrator",
        "action": "started",
        "lifecycle": "running",
    }
    home = Locations.from_env().home
    assert daemon_running(home)
    holder = wait_for(lambda: read_holder(home / "engine.lock"))
    assert holder.kind == "daemon" and holder.pid == daemon["pid"]
    rows = status(git_repo)
    assert [(r["id"], r["role"]) for r in rows] == [("app-orchestrator", "orchestrator")]

    # Again: nothing new, neither a second daemon nor a second orchestrator.
    second = start(git_repo)
    assert second["daemon"] == {"action": "running", "pid": daemon["pid"]}
    orchestrator = second["orchestrator"]
    assert isinstance(orchestrator, dict) and orchestrator["action"] == "running"
    assert [r["id"] for r in status(git_repo)] == ["app-orchestrator"]

    engine = make_engine(config)
    worker = engine.spawn("app", "write the docs")
    stopped = ao(git_repo, "stop", "--json")
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["orchestrator"]["action"] == "stopped"
    boss = engine.get("app-orchestrator")
    assert boss.lifecycle is Lifecycle.KILLED
    assert live_pane(engine.runtime, boss) is None
    assert live_pane(engine.runtime, engine.get(worker.id)) is not None
    assert engine.get(worker.id).lifecycle is Lifecycle.RUNNING

    third = start(git_repo)
    assert third["orchestrator"] == {
        "id": "app-orchestrator",
        "action": "restored",
        "lifecycle": "running",
    }
    assert third["daemon"] == {"action": "running", "pid": daemon["pid"]}
    boss = engine.get("app-orchestrator")
    assert boss.role is Role.ORCHESTRATOR and live_pane(engine.runtime, boss) is not None
    assert live_pane(engine.runtime, engine.get(worker.id)) is not None


def test_no_orchestrator_starts_only_the_daemon(
    config: Path, git_repo: Path, daemons: None
) -> None:
    started = start(git_repo, "--no-orchestrator")
    assert started["orchestrator"] is None
    assert status(git_repo) == []
    stopped = ao(git_repo, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "has no orchestrator" in stopped.stdout


def test_an_unknown_project_is_named(config: Path, git_repo: Path) -> None:
    result = ao(git_repo, "start", "web", "--json")
    assert result.returncode == 5
    assert "unknown project 'web' (known: app)" in result.stderr
    assert not daemon_running(Locations.from_env().home)


def test_the_orchestrators_ao_tui_is_this_one(config: Path, git_repo: Path, daemons: None) -> None:
    start(git_repo, "--no-cockpit")
    engine = make_engine(config)
    boss = engine.get("app-orchestrator")
    pane = live_pane(engine.runtime, boss)
    assert pane is not None
    env = pane_environ(pane.pane_pid)
    assert env[ACTOR_ENV] == "app-orchestrator"
    launcher = Path(env[ROLE_BIN_ENV]) / "ao-tui"
    assert env["PATH"].split(":")[0] == str(launcher.parent)
    assert launcher.is_file() and os.access(launcher, os.X_OK)

    # From the orchestrator's worktree, with its environment: the same sessions.
    worktree = Path(boss.worktree)
    rows = status(worktree, env)
    assert [r["id"] for r in rows] == ["app-orchestrator"]
    spawned = subprocess.run(
        ["ao-tui", "spawn", "--prompt", "fix the login test", "--json"],
        cwd=worktree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert spawned.returncode == 0, spawned.stderr
    worker_id = json.loads(spawned.stdout)["id"]
    assert {r["id"] for r in status(git_repo)} == {"app-orchestrator", worker_id}
    events = [e for e in engine.store.events_after(0) if e.kind == "spawned"]
    assert [(e.session_id, e.data.get("by")) for e in events] == [
        ("app-orchestrator", None),
        (worker_id, "app-orchestrator"),
    ]
    # Nothing of the orchestrator's role reaches the worker it spawned.
    worker_pane = wait_for(lambda: live_pane(engine.runtime, engine.get(worker_id)))
    worker_env = pane_environ(worker_pane.pane_pid)
    assert ACTOR_ENV not in worker_env and ROLE_BIN_ENV not in worker_env
    assert str(launcher.parent) not in worker_env["PATH"].split(":")


def test_an_agent_without_roles_is_refused_before_anything_is_made(
    tmp_path: Path, git_repo: Path
) -> None:
    config = write_config(git_repo, git_repo, command="sh -c 'sleep 600'")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    result = ao(git_repo, "start", "--no-cockpit", "--json", timeout=120)
    home = Locations.from_env().home
    try:
        assert result.returncode == 1
        assert result.stderr.startswith(
            "ao-tui: the shell agent cannot run the orchestrator: its plugin cannot give it "
            "standing instructions and tool rules it enforces itself"
        )
        assert "use one of: claude-code, demo (--agent NAME" in result.stderr
        assert result.stderr.count("\n") == 1
        engine = make_engine(config)
        assert engine.store.list_sessions() == []
        assert not (home / "sessions" / "app-orchestrator").exists()
        assert not engine.locations.worktree("app", "app-orchestrator").exists()
        assert "ao/app-orchestrator" not in run_git(git_repo, "branch", "--list", "ao/*")
        # --agent picks one that can.
        started = start(git_repo, "--agent", "demo")
        assert started["orchestrator"] == {
            "id": "app-orchestrator",
            "action": "started",
            "lifecycle": "running",
        }
        assert make_engine(config).get("app-orchestrator").agent == "demo"
    finally:
        pid = daemon_pid(home) if daemon_running(home) else None
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            wait_for(lambda: not daemon_running(home), timeout=20)


def test_two_starts_at_once_start_one_daemon(config: Path, git_repo: Path, daemons: None) -> None:
    argv = [sys.executable, "-m", "ao_tui", "start", "--no-orchestrator", "--json"]
    runs = [
        subprocess.Popen(argv, cwd=git_repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    daemons_seen = [json.loads(out)["daemon"] for out, _ in outputs]
    assert sorted(d["action"] for d in daemons_seen) == ["running", "started"]
    assert daemons_seen[0]["pid"] == daemons_seen[1]["pid"]
