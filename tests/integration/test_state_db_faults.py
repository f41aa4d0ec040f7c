"""The state database and folder when they cannot be used: exit 7, one line, what to do.

Real faults only: damaged files written byte by byte, a lock held by another process, a
tmpfs that is full or read-only, a read-only bind mount (tests/support/mounts.py; those
skip where mounting is not allowed). Every verb answers with one stderr line naming the
file and the fix, exit 7 — never a traceback, never a silently fresh database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import EngineError
from core.locations import Locations
from core.store import Store, StoreError
from core.store_sqlite import SCHEMA_VERSION
from tests.support.engine import ao, make_engine, write_config
from tests.support.mounts import fill, read_only_view, remount_read_only, tmpfs
from tests.unit.test_store import make_session

RECOVER = "ao-tui recover"


def _one_line(result: subprocess.CompletedProcess[str], code: int = 7) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.fixture
def config(tmp_path: Path, git_repo: Path) -> Path:
    """A config for the test repo with the shell agent."""
    return write_config(tmp_path, git_repo, command="sleep 600")


@pytest.fixture
def database() -> Path:
    """Where the CLI keeps its database (the test's private AO_TUI_HOME)."""
    locations = Locations.from_env()
    locations.ensure()
    return locations.database


def _with_sessions(path: Path, count: int) -> None:
    store = Store(path)
    for number in range(1, count + 1):
        store.insert_session(make_session(f"app-{number}"), event=("spawned", {"n": number}))
    store.close()


# damaged files ------------------------------------------------------------------------


def _zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(8192))


def _other_program(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    db.commit()
    db.close()


def _empty_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (a)")
    db.execute("DROP TABLE t")
    db.commit()
    db.close()


def _truncated(path: Path) -> None:
    _with_sessions(path, 300)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _garbage_pages(path: Path) -> None:
    _with_sessions(path, 300)
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(4096)  # page 1 (the header and schema) stays, the rest is noise
        handle.write(b"\xa5" * (size - 4096))


def _missing_table(path: Path) -> None:
    _with_sessions(path, 1)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE events")
    db.commit()
    db.close()


def _damaged_record(path: Path) -> None:
    _with_sessions(path, 2)
    db = sqlite3.connect(path)
    db.execute("UPDATE sessions SET activity='{not json' WHERE id='app-2'")
    db.commit()
    db.close()


def _damaged_pr(path: Path) -> None:
    _with_sessions(path, 2)
    db = sqlite3.connect(path)
    db.execute("""UPDATE sessions SET pr='{"state": "open", "ahead": "three"}' WHERE id='app-2'""")
    db.commit()
    db.close()


DAMAGE = {
    "zero-bytes": (_zero_bytes, "is empty (0 bytes)"),
    "garbage": (_garbage, "not an SQLite database"),
    "another-programs-database": (_other_program, "holds another program's tables"),
    "sqlite-without-schema": (_empty_sqlite, "has no ao-tui schema"),
    "truncated": (_truncated, "is damaged"),
    "garbage-pages": (_garbage_pages, "is damaged"),
    "missing-table": (_missing_table, "table events missing"),
    "damaged-record": (_damaged_record, "session 'app-2' is damaged"),
    "damaged-pr": (_damaged_pr, "session 'app-2' is damaged (pr.ahead: expected a whole number"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
@pytest.mark.parametrize("verb", [["status"], ["ls"], ["spawn", "--prompt", "add a test"]])
def test_a_damaged_database_is_exit_7_naming_the_file_and_the_recovery(
    tmp_path: Path, config: Path, database: Path, kind: str, verb: list[str]
) -> None:
    damage, said = DAMAGE[kind]
    damage(database)
    size = database.stat().st_size
    err = _one_line(ao(tmp_path, *verb))
    assert str(database) in err and said in err and RECOVER in err, err
    # Refused, not repaired behind the operator's back: numbering would restart at 1.
    assert database.stat().st_size == size
    assert not list((tmp_path / "repo").glob("*.new-*"))


def test_damage_after_open_is_a_store_error_at_the_next_call(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _with_sessions(path, 3)
    store = Store(path)
    assert len(store.list_sessions()) == 3
    # Another program damages it while this store is open: a record, then a table.
    other = sqlite3.connect(path)
    other.execute("UPDATE sessions SET lifecycle='half-written' WHERE id='app-3'")
    other.commit()
    with pytest.raises(StoreError) as raised:
        store.list_sessions()
    assert str(raised.value).startswith(f"{path}: session 'app-3' is damaged")
    assert RECOVER in str(raised.value)
    other.execute("DROP TABLE ci_runs")
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="no such table: ci_runs"):
        store.start_ci_run("app-1", "abc", "/tmp/log")
    with pytest.raises(StoreError, match="no such table: ci_runs"):
        store.ci_runs("app-1")


def test_a_fresh_database_is_created_complete(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    assert [p.name for p in tmp_path.iterdir()] == ["state.db"]  # no temporary left over
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


# a lock held by another process --------------------------------------------------------


@pytest.fixture
def lock_holder(database: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the database's write lock until the test ends."""
    Store(database).close()
    code = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(database)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_write_locked_past_the_timeout_names_the_holder(
    database: Path, lock_holder: subprocess.Popen[str]
) -> None:
    store = Store(database, busy_timeout=0.3)  # opening needs no write lock
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        store.allocate_id("app")
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert message.startswith(f"{database}: another process holds the database (pid ")
    assert f"pid {lock_holder.pid} (" in message and "for more than 0.3s" in message


def test_spawn_while_the_database_is_locked_is_exit_7_and_leaves_nothing(
    tmp_path: Path, config: Path, git_repo: Path, lock_holder: subprocess.Popen[str]
) -> None:
    # The real CLI, with its real 10 s busy timeout.
    err = _one_line(ao(tmp_path, "spawn", "--prompt", "add a test"))
    assert "another process holds the database" in err and f"pid {lock_holder.pid}" in err
    branches = subprocess.run(
        ["git", "branch", "--list", "ao/*"], cwd=git_repo, capture_output=True, text=True
    )
    assert branches.stdout == ""


def test_the_engine_passes_a_locked_store_on_as_a_store_error(
    config: Path, database: Path, lock_holder: subprocess.Popen[str]
) -> None:
    engine = make_engine(config)
    engine.store = Store(database, busy_timeout=0.2)
    with pytest.raises(StoreError):
        engine.spawn("app", "add a test")
    assert not isinstance(StoreError("x"), EngineError)  # exit 7, not 1


# full and read-only state folders --------------------------------------------------------


@pytest.fixture
def state_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """AO_TUI_HOME on a tmpfs of its own (1 MB), with a database and one session in it."""
    with tmpfs(tmp_path / "state-fs", size="1m") as mount:
        home = mount / "ao"
        monkeypatch.setenv("AO_TUI_HOME", str(home))
        locations = Locations(home=home)
        locations.ensure()
        _with_sessions(locations.database, 1)
        yield home


@pytest.mark.parametrize(
    "verb",
    [["status"], ["status", "--json"], ["ls"], ["spawn", "--prompt", "x"], ["send", "app-1", "hi"]],
)
def test_a_read_only_state_folder_says_read_only(
    tmp_path: Path, config: Path, state_mount: Path, verb: list[str]
) -> None:
    remount_read_only(state_mount.parent)
    err = _one_line(ao(tmp_path, *verb))
    assert "read-only:" in err and str(state_mount) in err, err
    assert "move it aside" not in err


@pytest.mark.parametrize("verb", [["status"], ["spawn", "--prompt", "x"], ["kill", "app-1"]])
def test_a_full_state_folder_says_disk_full(
    tmp_path: Path, config: Path, state_mount: Path, verb: list[str]
) -> None:
    fill(state_mount.parent)
    err = _one_line(ao(tmp_path, *verb))
    assert "disk full:" in err and str(state_mount.parent) in err, err
    assert "move it aside" not in err


def test_init_in_a_read_only_repository(tmp_path: Path, git_repo: Path) -> None:
    with read_only_view(git_repo, tmp_path / "ro-repo") as view:
        err = _one_line(ao(tmp_path, "init", str(view)), code=1)
    assert f"cannot write {view / 'ao.config.yaml'}: Read-only file system" in err


@pytest.mark.parametrize("verb", [["status"], ["ls"], ["spawn", "--prompt", "x"]])
def test_a_state_dir_that_is_a_file_says_so(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, verb: list[str]
) -> None:
    home = tmp_path / "not-a-dir"
    home.write_text("")
    monkeypatch.setenv("AO_TUI_HOME", str(home))
    err = _one_line(ao(tmp_path, *verb))
    assert f"{home}: not a directory, and the state dir must be one" in err
