"""The SQLite store: ids never reused, sessions round-trip, two processes stay consistent."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    Session,
    SessionPR,
    SignalSource,
    WaitingFor,
)
from core.store import Store, StoreError
from core.store_sqlite import SCHEMA_VERSION


def make_session(session_id: str, **kw: object) -> Session:
    base: dict[str, object] = {
        "id": session_id,
        "project": "app",
        "agent": "shell",
        "title": "t",
        "prompt": "p",
        "branch": f"ao/{session_id}-t",
        "worktree": f"/tmp/{session_id}",
        "tmux": f"ao-{session_id}",
        "lifecycle": Lifecycle.RUNNING,
        "activity": Activity(ActivityState.WORKING, SignalSource.HOOK, 1.0, "Bash"),
        "created_at": 1.0,
        "updated_at": 1.0,
    }
    base.update(kw)
    return Session(**base)  # type: ignore[arg-type]


def test_ids_are_sequential_and_never_reused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.allocate_id("app") == "app-1"
    assert store.allocate_id("app") == "app-2"
    assert store.allocate_id("web") == "web-1"
    store.close()
    reopened = Store(tmp_path / "s.db")
    assert reopened.allocate_id("app") == "app-3"


def test_allocation_skips_ids_that_exist_without_a_counter(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.insert_session(make_session("app-1"), event=("spawned", {}))
    assert store.allocate_id("app") == "app-2"


def test_allocation_skips_ids_carried_outside_the_database(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    on_disk = {"app-1", "app-2", "app-4"}
    assert store.peek_id("app", in_use=on_disk.__contains__) == "app-3"
    assert store.allocate_id("app", in_use=on_disk.__contains__) == "app-3"
    assert store.allocate_id("app", in_use=on_disk.__contains__) == "app-5"


def test_raising_a_counter_never_lowers_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    assert store.raise_counter("app", 7) == 7
    assert store.raise_counter("app", 3) == 7
    assert store.allocate_id("app") == "app-8"


def _allocate_many(path: str, n: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = Store(Path(path))
    out.put([store.allocate_id("app") for _ in range(n)])


def test_two_processes_never_get_the_same_id(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    Store(Path(db)).close()
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_allocate_many, args=(db, 40, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    ids = [i for _ in procs for i in queue.get(timeout=30)]
    for p in procs:
        p.join(timeout=30)
    assert len(ids) == 120
    assert len(set(ids)) == 120


def test_session_round_trip_and_update_logs_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    session = make_session("app-1", pr=SessionPR("open"), extra={"k": [1, 2]})
    store.insert_session(session, event=("spawned", {"branch": session.branch}))
    assert store.get_session("app-1") == session
    waiting = Activity(
        ActivityState.WAITING_INPUT,
        SignalSource.HOOK,
        5.0,
        "Bash: ls",
        WaitingFor("permission", "Bash"),
    )
    updated = store.update_session("app-1", activity=waiting, event=("activity", {"state": "w"}))
    assert updated.activity == waiting
    kinds = [e.kind for e in store.events_after(0)]
    assert kinds == ["spawned", "activity"]
    assert store.last_event_seq() == 2


def test_update_unknown_session_raises_and_logs_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with pytest.raises(KeyError):
        store.update_session("app-9", lifecycle=Lifecycle.KILLED, event=("killed", {}))
    assert store.events_after(0) == []


def test_database_is_in_wal_mode_with_current_schema(tmp_path: Path) -> None:
    Store(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this ao-tui"):
        Store(tmp_path / "s.db")


def test_garbage_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"s\.db"):
        Store(path)


def test_conditional_update_skips_a_stale_decision(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.insert_session(make_session("app-1"), event=("spawned", {}))
    store.update_session("app-1", lifecycle=Lifecycle.KILLED, event=("killed", {}))
    # a reconcile tick that saw the session running must not undo the kill
    stale = store.update_session_if(
        "app-1",
        {"lifecycle": Lifecycle.RUNNING, "attempt": 1},
        lifecycle=Lifecycle.EXITED,
        event=("lifecycle", {}),
    )
    assert stale is None
    assert store.get_session("app-1").lifecycle is Lifecycle.KILLED  # type: ignore[union-attr]
    assert [e.kind for e in store.events_after(0)] == ["spawned", "killed"]
    fresh = store.update_session_if(
        "app-1", {"lifecycle": Lifecycle.KILLED}, lifecycle_reason="checked"
    )
    assert fresh is not None and fresh.lifecycle_reason == "checked"


def test_a_second_store_in_one_process_keeps_the_first_ones_commits_visible(
    tmp_path: Path,
) -> None:
    # Opening a second Store used to read the file's header through a descriptor of its
    # own; closing it dropped the POSIX locks SQLite held for the first connection, another
    # process then took itself for the last one, checkpointed and deleted the WAL, and
    # every later commit of the first Store was invisible to other processes.
    path = tmp_path / "state.db"
    first = Store(path)
    second = Store(path)
    count = [sys.executable, "-c", _COUNT_EVENTS, str(path)]
    assert subprocess.run(count, capture_output=True, text=True, check=True).stdout == "0\n"
    first.append_event("app-1", "spawned", {})
    seen = subprocess.run(count, capture_output=True, text=True, check=True).stdout
    assert seen == "1\n"
    second.close()
    first.close()


_COUNT_EVENTS = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM events").fetchone()[0])
db.close()
"""


def test_every_schema_version_names_the_tables_a_new_database_has(tmp_path: Path) -> None:
    # A version with no entry would let a database missing a table pass as healthy.
    import sqlite3

    from core.store_health import REQUIRED_TABLES

    assert set(REQUIRED_TABLES) == set(range(1, SCHEMA_VERSION + 1))
    Store(tmp_path / "s.db").close()
    db = sqlite3.connect(tmp_path / "s.db")
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    db.close()
    tables = {name for (name,) in rows} - {"sqlite_sequence"}
    assert tables == REQUIRED_TABLES[SCHEMA_VERSION]
