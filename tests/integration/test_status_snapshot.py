"""``status --json`` with no daemon, its config rebuilt from the snapshot: the same answer
as a full load gives, an agent that exited while nobody watched included (issue 10 §8).

Real processes, a real tmux server on the test socket, a real git repository.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from core.locations import Locations
from tests.support.engine import ao, recorder_command, wait_for, write_config


def _status(cwd: Path, config: Path) -> list[dict[str, Any]]:
    proc = ao(cwd, "--config", str(config), "status", "--json")
    assert proc.returncode == 0, proc.stderr
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    return rows


def test_status_from_the_snapshot_still_finds_an_agent_that_exited_unwatched(
    git_repo: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, git_repo, command=recorder_command(tmp_path / "rec.bin"))
    spawned = ao(tmp_path, "--config", str(config), "spawn", "--prompt", "wait here", "--json")
    assert spawned.returncode == 0, spawned.stderr
    wait_for(lambda: (tmp_path / "rec.bin").exists())
    [running] = _status(tmp_path, config)  # a full load: it writes the snapshot
    assert running["lifecycle"] == "running"
    [snapshot] = Locations.from_env().config_snapshots.iterdir()
    written = snapshot.stat()

    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    subprocess.run(["tmux", "-L", socket, "kill-session", "-t", running["tmux"]], check=True)
    [exited] = _status(tmp_path, config)
    assert exited["lifecycle"] == "exited"
    assert exited["activity"]["state"] == "exited"
    # The snapshot was read, not written again: this status validated nothing.
    assert (snapshot.stat().st_ino, snapshot.stat().st_mtime_ns) == (
        written.st_ino,
        written.st_mtime_ns,
    )

    snapshot.unlink()
    assert _status(tmp_path, config) == [exited]  # what a full load says now


def test_status_after_the_config_changed_uses_the_new_config(
    git_repo: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, git_repo)
    assert _status(tmp_path, config) == []
    config.write_text(config.read_text().replace("agent: shell", "agent: claud"))
    proc = ao(tmp_path, "--config", str(config), "status", "--json")
    assert proc.returncode == 5
    assert "ao.config.yaml:6:12: projects.app.agent: unknown agent 'claud'" in proc.stderr
