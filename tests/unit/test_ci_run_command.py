"""Each CI run keeps the command it ran; a check is labelled with it, never with today's config."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from core.scm import CiSettings, ScmTarget
from core.store import Store
from core.store_sqlite import MIGRATIONS, SCHEMA_VERSION
from plugins.scm.local import LocalScm

HEAD = "c" * 40
TOKEN = "ghp_" + "R" * 36


def target(tmp_path: Path, command: str) -> ScmTarget:
    return ScmTarget(
        session_id="app-1",
        title="t",
        repo=tmp_path,
        worktree=tmp_path,
        branch="ao/app-1-t",
        base="main",
        state_dir=tmp_path,
        ci=CiSettings(command=command, timeout=600),
    )


def test_a_run_keeps_its_command_masked(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    run_id = store.start_ci_run("app-1", HEAD, "", command=f"deploy --token {TOKEN}")
    assert run_id is not None
    run = store.ci_run(run_id)
    assert run is not None and run.command == "deploy --token ***"
    store.finish_ci_run(run_id, passed=True, exit_code=0, excerpt="ok")
    (check,) = LocalScm().checks(target(tmp_path, "pytest -q"), store, HEAD)
    assert (check.name, check.command) == ("deploy --token ***", "deploy --token ***")
    assert check.to_json()["command"] == "deploy --token ***"


def test_a_database_from_before_is_migrated_and_its_runs_named_from_their_logs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:2]:
        db.executescript(step)
    db.execute("PRAGMA user_version=2")
    log = tmp_path / "ci-old.log"
    log.write_text("# ao-tui CI for app-1 at cccc\n# command: make test\nall good\n")
    for log_path in (str(log), str(tmp_path / "gone.log")):
        db.execute(
            "INSERT INTO ci_runs(session_id, head_sha, state, started_at, finished_at, "
            "exit_code, log_path, excerpt) VALUES('app-1', ?, 'passing', ?, ?, 0, ?, '')",
            (HEAD, time.time(), time.time(), log_path),
        )
    db.close()
    store = Store(path)
    check_db = sqlite3.connect(path)
    assert check_db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check_db.close()
    first, second = store.ci_runs("app-1")
    assert (first.command, second.command) == ("", "")
    scm = LocalScm()
    now = target(tmp_path, "pytest -q")  # the config of today says something else
    assert [c.name for c in scm.checks(now, store, HEAD)] == ["CI (its command was not recorded)"]
    store.close()
    # Only the newest run of a head is its check: drop it to see the older one's label.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DELETE FROM ci_runs WHERE id=2")
    db.close()
    store = Store(path)
    assert [c.name for c in scm.checks(now, store, HEAD)] == ["make test"]
    store.close()
