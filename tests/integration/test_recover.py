"""Item 8: ``ao-tui recover`` rebuilds the session rows from what exists.

A damaged database (0 bytes, garbage, cut short) is moved aside, never deleted; a missing
one is simply rebuilt. Rows come from the manifests first, then from the artifacts alone,
and numbering continues above the highest id found. Real CLI, git and tmux.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from core.engine import Engine
from core.lease import EngineLease
from core.locations import Locations
from core.manifest import Manifest, manifest_path, write_manifest
from core.state_rebuild import database_damage
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, write_config
from tests.support.orphans import reset_database

HOOK_ID = "5d8e9f00-1a2b-4c3d-8e9f-0a1b2c3d4e5f"


@pytest.fixture
def project(git_repo: Path) -> Path:
    """The repo with a config for a shell agent that just waits; the cwd for ao-tui."""
    write_config(git_repo, git_repo, command="sleep 600")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


@pytest.fixture
def engine(project: Path) -> Engine:
    """An engine on that config, with three sessions: running, killed with work, and the
    last id burnt by a killed session whose branch stays (so numbering must go past 3)."""
    engine = make_engine(project / "ao.config.yaml")
    running = engine.spawn("app", "keep the login test green\nsecond line of the task")
    (Path(running.worktree) / "draft.txt").write_text("uncommitted\n")
    killed = engine.spawn("app", "document the API")
    (Path(killed.worktree) / "api.md").write_text("# API\n")
    engine.kill(killed.id)
    third = engine.spawn("app", "a third one")
    engine.kill(third.id)
    return engine


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\xffnot a database at all\n" * 300)


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _pages_scribbled(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xaa" * 4096  # a page of the tables overwritten in place
    path.write_bytes(bytes(data))


def _index_lost(path: Path) -> None:
    """An index forgotten by the schema while its pages stay: SQLite opens and reads the
    file without complaint, only its integrity check finds the damage."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA writable_schema=ON")
    db.execute("DELETE FROM sqlite_master WHERE name='events_session'")
    db.commit()
    db.close()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty": _empty,
    "garbage": _garbage,
    "cut short": _cut_short,
    "scribbled": _pages_scribbled,
    "index lost": _index_lost,
}


def _checkpoint(engine: Engine) -> Path:
    """Fold the WAL into the file (so damage to the file is damage to the data), close."""
    path = engine.store.path
    engine.store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_recover_moves_a_damaged_database_aside_and_rebuilds_every_row(
    project: Path, engine: Engine, damage: str
) -> None:
    path = _checkpoint(engine)
    DAMAGE[damage](path)
    broken = path.read_bytes()
    assert database_damage(path) is not None

    proc = ao(project, "recover")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "moved aside to" in proc.stdout
    [aside] = path.parent.glob("state.db.damaged-*")
    assert aside.read_bytes() == broken  # never deleted, never changed
    assert "rebuilt app-1  running" in proc.stdout
    assert "rebuilt app-2  killed" in proc.stdout

    rows = {s["id"]: s for s in json.loads(ao(project, "status", "--json").stdout)}
    assert set(rows) == {"app-1", "app-2", "app-3"}
    assert rows["app-1"]["title"] == "keep the login test green"
    with sqlite3.connect(path) as db:
        prompt = db.execute("SELECT prompt FROM sessions WHERE id='app-1'").fetchone()[0]
    assert prompt == "keep the login test green\nsecond line of the task"
    # numbering goes on after the highest id found, and the sessions work as before
    assert json.loads(ao(project, "spawn", "-p", "next", "--json").stdout)["id"] == "app-4"
    assert ao(project, "kill", "app-1").returncode == 0
    assert "draft.txt" in run_git(
        project, "show", "--name-only", "--format=", "ao/app-1-keep-the-login-test-green"
    )
    restored = ao(project, "restore", "app-2")
    assert restored.returncode == 0, restored.stderr
    assert (Path(rows["app-2"]["worktree"]) / "api.md").read_text() == "# API\n"


def test_recover_rebuilds_a_missing_database_without_moving_anything(
    project: Path, engine: Engine
) -> None:
    path = reset_database(engine)
    proc = ao(project, "recover", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["damage"] is None and report["moved_to"] == []
    assert [r["id"] for r in report["rebuilt"]] == ["app-1", "app-2", "app-3"]
    assert report["counters"] == {"app": 3}
    assert not list(path.parent.glob("state.db.damaged-*"))


def test_recover_without_manifests_uses_the_artifacts_and_says_what_it_guessed(
    project: Path, engine: Engine
) -> None:
    """Sessions from before manifests existed: title from the branch, prompt unknown, the
    agent's session id from its hook log."""
    locations = engine.locations
    for sid in ("app-1", "app-2", "app-3"):
        manifest_path(locations.session_dir(sid)).unlink()
    (locations.session_dir("app-1") / "hooks.jsonl").write_text(
        json.dumps({"hook_event_name": "Stop", "session_id": HOOK_ID}) + "\n"
    )
    reset_database(engine)
    proc = ao(project, "recover", "--json")
    assert proc.returncode == 0, proc.stderr
    rebuilt = {r["id"]: r for r in json.loads(proc.stdout)["rebuilt"]}
    assert rebuilt["app-1"]["from"] == "what was left (no manifest)"
    assert "prompt" in rebuilt["app-1"]["guessed"]
    rows = {s["id"]: s for s in json.loads(ao(project, "status", "--json").stdout)}
    assert rows["app-1"]["title"] == "keep the login test green"
    assert rows["app-1"]["agent_session_id"] == HOOK_ID
    assert rows["app-2"]["branch"] == "ao/app-2-document-the-api"
    assert rows["app-2"]["lifecycle"] == "killed"


def test_recover_refuses_while_another_process_holds_the_engine_lease(
    project: Path, engine: Engine
) -> None:
    path = _checkpoint(engine)
    _empty(path)
    lease = EngineLease(Locations.from_env().engine_lock)
    assert lease.acquire()  # this test process stands for a running cockpit
    try:
        proc = ao(project, "recover")
    finally:
        lease.release()
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "engine lease" in proc.stderr
    assert path.exists() and not list(path.parent.glob("state.db.damaged-*"))


def test_recover_refuses_while_an_operation_runs(project: Path, engine: Engine) -> None:
    session = engine.get("app-1")
    # This test process stands for one still killing app-1.
    write_manifest(engine.locations.session_dir("app-1"), Manifest.of(session).running("kill"))
    path = _checkpoint(engine)
    _garbage(path)
    proc = ao(project, "recover")
    assert proc.returncode == 1
    assert "a kill of app-1" in proc.stderr and proc.stderr.count("\n") == 1
    assert not list(path.parent.glob("state.db.damaged-*"))


def test_a_healthy_database_is_kept_and_only_missing_rows_are_added(
    project: Path, engine: Engine
) -> None:
    with engine.store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE id='app-2'")
    engine.store.close()
    proc = ao(project, "recover")
    assert proc.returncode == 0, proc.stderr
    assert "moved aside" not in proc.stdout
    assert "rebuilt app-2  killed" in proc.stdout and "app-1" not in proc.stdout
