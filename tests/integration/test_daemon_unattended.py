"""Issue 12, "Unattended": the daemon a service manager runs for days.

- The unit ``ao-tui daemon unit`` prints runs: its ExecStart, with its Environment and
  WorkingDirectory and nothing else of this shell, starts a daemon that takes the lease.
- SIGTERM stops it cleanly (exit 0, the lease given back) and the log says so.
- ``$AO_TUI_HOME/daemon.log`` is owner-only, masks secrets, and stays bounded by rotation.

Real processes (``python -m ao_tui``), real flock, real SQLite written by this process as
another CLI would.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from core.lease import read_holder
from core.locations import Locations
from core.store import Store
from tests.support.engine import ao, wait_for, write_config
from tests.unit.test_service_unit import parse_unit, unquote

SECRET = "opaque-token-value-0123456789"
"""A secret with no recognisable shape: only its variable's name says it is one."""


@pytest.fixture
def project(git_repo: Path) -> Path:
    write_config(git_repo, git_repo, command="sleep 600")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


def held_by(pid: int) -> bool:
    holder = read_holder(Locations.from_env().engine_lock)
    return holder is not None and (holder.pid, holder.kind) == (pid, "daemon")


def log_text() -> str:
    path = Locations.from_env().home / "daemon.log"
    return path.read_text() if path.exists() else ""


def stop(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as systemd stops a unit; the exit code."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError("the daemon did not stop on SIGTERM within 15 s") from None


def test_the_printed_unit_runs_a_daemon_that_takes_the_lease_and_stops_on_sigterm(
    project: Path, tmp_path: Path
) -> None:
    printed = ao(project, "daemon", "unit", "--systemd")
    assert printed.returncode == 0, printed.stderr
    assert "systemctl --user daemon-reload" in printed.stderr
    service = dict(parse_unit(printed.stdout)["Service"])
    argv = unquote(service["ExecStart"])
    env = {
        name: value
        for key, raw in parse_unit(printed.stdout)["Service"]
        if key == "Environment"
        for name, _, value in [unquote(raw)[0].partition("=")]
    }
    assert env["AO_TUI_HOME"] == str(Locations.from_env().home)
    # What systemd gives a user service besides the unit's own: HOME, and the secrets file.
    env |= {"HOME": os.environ["HOME"], "GITHUB_TOKEN": SECRET}
    daemon = subprocess.Popen(
        argv, cwd=service["WorkingDirectory"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: held_by(daemon.pid), timeout=20)
        wait_for(lambda: "watching 0 sessions" in log_text(), timeout=10)
        store = Store(Locations.from_env().database)
        store.append_event("app-1", "message", {"result": f"sent GITHUB_TOKEN {SECRET} along"})
        store.close()
        wait_for(lambda: "event " in log_text() and "app-1 message" in log_text(), timeout=10)
    finally:
        code = stop(daemon)
    assert code == 0
    assert read_holder(Locations.from_env().engine_lock) is None
    text = log_text()
    assert "ao-tui daemon stopped (SIGTERM)" in text.splitlines()[-1]
    assert SECRET not in text and "***" in text
    log = Locations.from_env().home / "daemon.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_busy_daemon_log_rotates_within_its_bound(project: Path) -> None:
    daemon = subprocess.Popen(
        ["python", "-m", "ao_tui", "daemon", "--log-max-bytes", "4000", "--log-backups", "2"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: "watching 0 sessions" in log_text(), timeout=20)
        store = Store(Locations.from_env().database)
        for i in range(300):
            store.append_event(f"app-{i % 5}", "message", {"result": f"delivered #{i}"})
        store.close()
        wait_for(lambda: "#299" in log_text(), timeout=20)
    finally:
        assert stop(daemon) == 0
    home = Locations.from_env().home
    logs = sorted(p.name for p in home.glob("daemon.log*"))
    assert logs == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert sum((home / name).stat().st_size for name in logs) <= 3 * 4000
    assert {stat.S_IMODE((home / name).stat().st_mode) for name in logs} == {0o600}
