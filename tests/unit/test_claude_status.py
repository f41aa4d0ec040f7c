"""Claude Code's ``sessions/<pid>.json`` status file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from core.models import ActivityState, SignalSource, WaitingFor
from plugins.agent.claude_code.status import (
    find_status,
    is_current,
    process_start,
    read_status_file,
)

UUID = "9a3e1f0c-1111-4222-8333-444455556666"


def _write(config: Path, pid: int, **fields: Any) -> Path:
    path = config / "sessions" / f"{pid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The shape 2.1.x writes (field names from the CLI bundle).
    data = {
        "pid": pid,
        "sessionId": UUID,
        "cwd": "/w/app-1",
        "startedAt": 1_760_000_000_000,
        "version": "2.1.197",
        "kind": "interactive",
        "status": "busy",
        "updatedAt": 1_760_000_123_456,
        "statusUpdatedAt": 1_760_000_123_456,
    }
    data.update(fields)
    path.write_text(json.dumps(data))
    return path


def test_reads_fields_and_status_time(tmp_path: Path) -> None:
    path = _write(tmp_path, 4242, waitingFor="permission prompt", status="waiting")
    status = read_status_file(path)
    assert status is not None
    assert (status.pid, status.session_id, status.cwd) == (4242, UUID, "/w/app-1")
    assert status.updated_at == pytest.approx(1_760_000_123.456)
    signal = status.signal()
    assert signal is not None
    assert signal.state is ActivityState.WAITING_INPUT
    assert signal.source is SignalSource.STATUS_FILE
    assert signal.waiting_for == WaitingFor("permission", "", "")
    assert signal.detail == "permission prompt"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("busy", ActivityState.WORKING),
        ("idle", ActivityState.IDLE),
        ("shell", ActivityState.IDLE),
        ("waiting", ActivityState.WAITING_INPUT),
    ],
)
def test_status_values(tmp_path: Path, status: str, state: ActivityState) -> None:
    read = read_status_file(_write(tmp_path, 1, status=status))
    assert read is not None
    signal = read.signal()
    assert signal is not None and signal.state is state


def test_unknown_status_gives_no_signal_and_mtime_is_the_fallback_time(tmp_path: Path) -> None:
    path = _write(tmp_path, 1, status="dreaming")
    data = json.loads(path.read_text())
    del data["updatedAt"], data["statusUpdatedAt"]
    path.write_text(json.dumps(data))
    os.utime(path, (1000.0, 1000.0))
    status = read_status_file(path)
    assert status is not None
    assert status.signal() is None
    assert status.updated_at == 1000.0


@pytest.mark.parametrize("content", ["", "{", "[]", '"x"'])
def test_unreadable_files_are_none(tmp_path: Path, content: str) -> None:
    path = tmp_path / "1.json"
    path.write_text(content)
    assert read_status_file(path) is None
    assert read_status_file(tmp_path / "missing.json") is None


def test_find_status_by_pid_then_by_scan_with_session_check(tmp_path: Path) -> None:
    _write(tmp_path, 100, sessionId="someone-else")
    mine = _write(tmp_path, 200)
    found = find_status(tmp_path, UUID, (100,))
    assert found is not None and found.path == mine  # pid 100 is another session: scanned
    assert find_status(tmp_path, "unknown-uuid", (100, 200)) is None
    assert find_status(tmp_path / "nowhere", UUID) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_pid_reuse_is_detected_with_proc_start(tmp_path: Path) -> None:
    pid = os.getpid()
    started = process_start(pid)
    assert started is not None and started.isdigit()
    live = read_status_file(_write(tmp_path, pid, procStart=started))
    assert live is not None and is_current(live)
    reused = read_status_file(_write(tmp_path, pid, procStart="1"))
    assert reused is not None and not is_current(reused)
    assert find_status(tmp_path, UUID, (pid,)) is None
