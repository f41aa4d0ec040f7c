"""The session manifest: written atomically and privately, read back exactly, and any
damaged or hostile file read as "no manifest" (recovery then uses the artifacts)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from core.manifest import (
    MANIFEST_NAME,
    Manifest,
    Owner,
    abandon_operation,
    operation_mark,
    read_manifest,
    write_manifest,
)
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource


def session(**changes: object) -> Session:
    base: dict[str, object] = {
        "id": "app-3",
        "project": "app",
        "agent": "shell",
        "title": "deploy with ghp_" + "A" * 36,
        "prompt": "the task\nas given",
        "branch": "ao/app-3-deploy",
        "worktree": "/w/app-3",
        "tmux": "ao-app-3",
        "lifecycle": Lifecycle.RUNNING,
        "activity": Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, 1.0),
        "created_at": 12.5,
        "updated_at": 12.5,
        "agent_session_id": "0b7c2a52-8d41-4c1e-9a55-2f0e6a1d9c33",
        "base_branch": "main",
        "issue": "12",
    }
    base.update(changes)
    return Session(**base)  # type: ignore[arg-type]


def test_round_trip_private_and_masked(tmp_path: Path) -> None:
    folder = tmp_path / "app-3"
    write_manifest(folder, Manifest.of(session()).running("spawn"))
    path = folder / MANIFEST_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "ghp_" not in path.read_text()  # titles are masked as the database masks them
    back = read_manifest(folder)
    assert back is not None
    assert (back.prompt, back.branch, back.issue, back.created_at) == (
        "the task\nas given",
        "ao/app-3-deploy",
        "12",
        12.5,
    )
    assert back.operation == "spawn" and back.in_progress and not back.interrupted
    assert [p.name for p in folder.iterdir()] == [MANIFEST_NAME]  # no temp file left


HOSTILE = {
    "not json": b"{not json",
    "deep nesting": b"[" * 50_000,
    "a list": b"[1, 2]",
    "wrong types": json.dumps({"id": 3, "project": "app"}).encode(),
    "unknown operation": json.dumps({"id": "app-3", "operation": "rm -rf"}).encode(),
    "no id": json.dumps({"project": "app"}).encode(),
    "huge": b'{"id": "app-3", "prompt": "' + b"x" * 1_100_000 + b'"}',
    "binary": bytes(range(256)),
    "bool created_at": json.dumps({"id": "app-3", "created_at": True}).encode(),
}


@pytest.mark.parametrize("content", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_damaged_or_hostile_manifest_reads_as_none(tmp_path: Path, content: bytes) -> None:
    (tmp_path / MANIFEST_NAME).write_bytes(content)
    assert read_manifest(tmp_path) is None


def test_a_bad_owner_is_no_owner(tmp_path: Path) -> None:
    data = Manifest.of(session()).to_json()
    data.update(operation="kill", owner={"pid": True, "started": 5})
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data))
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest.owner is None and manifest.interrupted


def test_the_mark_stays_only_when_the_operation_is_cut_short(tmp_path: Path) -> None:
    with operation_mark(tmp_path, session(), "kill") as mark:
        mark.note(step="stopped")
        during = read_manifest(tmp_path)
        assert during is not None and during.operation == "kill"
        assert during.progress == {"step": "stopped"}
    after = read_manifest(tmp_path)
    assert after is not None and after.operation == "" and after.owner is None
    with pytest.raises(ValueError), operation_mark(tmp_path, session(), "restore"):
        raise ValueError("an ordinary failure: the engine recorded it")
    assert (read_manifest(tmp_path) or Manifest.of(session())).operation == ""
    with pytest.raises(KeyboardInterrupt), operation_mark(tmp_path, session(), "merge"):
        raise KeyboardInterrupt  # stopped half-way: the mark must stay
    left = read_manifest(tmp_path)
    assert left is not None and left.operation == "merge" and left.in_progress
    abandon_operation(tmp_path)
    gone = read_manifest(tmp_path)
    assert gone is not None and gone.interrupted


def test_owner_of_an_ended_process_is_not_alive() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert not Owner(child.pid).alive()
    assert not Owner(0).alive() and not Owner(-5).alive()
