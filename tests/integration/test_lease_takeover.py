"""Issue 9 item 5 for the headless watchers: ``daemon`` and ``events --follow`` wait for the
engine lease and take it over within 2 s of its holder going away; ``doctor`` names the
holder, or warns that nobody watches running sessions.

Real processes (``python -m ao_tui``), real flock, real tmux on the test socket. The test
process itself stands for a cockpit when it holds an :class:`EngineLease` of kind cockpit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.lease import EngineLease, LeaseHolder, read_holder
from core.locations import Locations
from tests.support.engine import ao, wait_for, write_config

TAKEOVER = 2.0
"""Seconds within which a waiting process must hold the lease after its holder is gone."""


@pytest.fixture
def project(git_repo: Path) -> Path:
    """A repo whose config runs a quiet shell agent; the cwd for ao-tui."""
    write_config(git_repo, git_repo, command="sleep 600")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


class Watcher:
    """An ``ao-tui`` process that runs until stopped; its stderr collected as it comes."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ao_tui", *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        watcher.stop()


def lock() -> Path:
    return Locations.from_env().engine_lock


def held_by(pid: int, kind: str) -> bool:
    holder = read_holder(lock())
    return holder is not None and (holder.pid, holder.kind) == (pid, kind)


def test_daemon_waits_for_a_cockpit_then_takes_over_within_two_seconds(
    project: Path, watchers: list[Watcher]
) -> None:
    cockpit = EngineLease(lock(), kind="cockpit")
    assert cockpit.acquire()
    daemon = Watcher(project, "daemon")
    watchers.append(daemon)
    wait_for(lambda: daemon.said("takes over when it stops"), timeout=20)
    assert daemon.said(f"cockpit (pid {os.getpid()}) is watching the sessions")
    time.sleep(0.5)
    assert daemon.proc.poll() is None, "the daemon gave up instead of waiting"
    assert held_by(os.getpid(), "cockpit")

    released = time.monotonic()
    cockpit.release()
    wait_for(lambda: held_by(daemon.proc.pid, "daemon"), timeout=TAKEOVER, interval=0.02)
    assert time.monotonic() - released < TAKEOVER
    wait_for(lambda: daemon.said("ao-tui daemon: watching 0 sessions"), timeout=5)


def test_events_follow_takes_over_from_a_sigkilled_daemon(
    project: Path, watchers: list[Watcher]
) -> None:
    assert ao(project, "spawn", "--prompt", "sit there").returncode == 0
    daemon = Watcher(project, "daemon")
    watchers.append(daemon)
    wait_for(lambda: held_by(daemon.proc.pid, "daemon"), timeout=20)
    follower = Watcher(project, "events", "--follow", "--json")
    watchers.append(follower)
    time.sleep(1.0)  # the follower is up and trying
    assert held_by(daemon.proc.pid, "daemon")

    killed = time.monotonic()
    os.kill(daemon.proc.pid, signal.SIGKILL)
    wait_for(lambda: held_by(follower.proc.pid, "events"), timeout=TAKEOVER, interval=0.02)
    assert time.monotonic() - killed < TAKEOVER

    # It reconciles now: the agent's exit is noticed, with no cockpit and no daemon.
    session = json.loads(ao(project, "status", "--json").stdout)[0]
    subprocess.run(
        ["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "kill-session", "-t", session["tmux"]],
        check=True,
    )

    def exited() -> bool:
        rows = json.loads(ao(project, "status", "--json").stdout)
        return bool(rows[0]["lifecycle"] == "exited")

    wait_for(exited, timeout=10)


def test_doctor_names_who_watches_and_warns_when_nobody_does(
    project: Path, watchers: list[Watcher]
) -> None:
    def watching() -> dict[str, str]:
        proc = ao(project, "doctor", "--json")
        return next(c for c in json.loads(proc.stdout) if c["name"] == "watching")

    assert watching()["status"] == "ok"  # nobody watches, and nothing runs
    assert "none is running" in watching()["detail"]
    assert ao(project, "spawn", "--prompt", "sit there").returncode == 0
    nobody = watching()
    assert nobody["status"] == "warn"
    assert "nobody watches the 1 running session" in nobody["detail"]
    assert "ao-tui daemon" in nobody["fix"]

    daemon = Watcher(project, "daemon")
    watchers.append(daemon)
    wait_for(lambda: held_by(daemon.proc.pid, "daemon"), timeout=20)
    named = watching()
    assert named["status"] == "ok"
    assert f"daemon (pid {daemon.proc.pid}) watches the sessions since " in named["detail"]
    plain = ao(project, "doctor")
    assert f"daemon (pid {daemon.proc.pid})" in plain.stdout


def test_a_pid_reused_after_the_holder_died_is_not_named(project: Path) -> None:
    """The record names a dead process whose pid now runs something else: not believed."""
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        holder = EngineLease(lock(), kind="cockpit")
        assert holder.acquire()
        # As if the recorded holder had died and its pid now belonged to `sleep`, while
        # the lock is held by a process whose record was lost.
        record = {"pid": stranger.pid, "started": "1", "kind": "daemon", "since": 1.0}
        lock().write_text(json.dumps(record))
        assert read_holder(lock()) == LeaseHolder("unknown")
        proc = ao(project, "doctor", "--json")
        check = next(c for c in json.loads(proc.stdout) if c["name"] == "watching")
        assert str(stranger.pid) not in check["detail"]
        assert "an ao-tui process (pid unknown)" in check["detail"]
        holder.release()
    finally:
        stranger.kill()
        stranger.wait()
