"""The change feed: events in order with the rows they name, woken by any process's commit.

Real SQLite files, real inotify, a real second process writing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from core.feed import Batch, Change, ChangeFeed
from core.store import Store
from tests.unit.test_store import make_session

ROOT = Path(__file__).resolve().parents[2]
QUIET = 60.0
"""A resync so slow that only a wake-up (file watch or this process) can explain a read."""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "state.db")
    for session_id in ("app-1", "app-2"):
        store.insert_session(make_session(session_id), event=("spawned", {}))
    return store


async def next_batch(batches: AsyncGenerator[Batch, None], timeout: float = 5.0) -> Batch:
    return await asyncio.wait_for(batches.__anext__(), timeout)


def test_changes_come_in_log_order_with_the_row_each_names(store: Store) -> None:
    store.update_session("app-2", title="renamed", event=("activity", {"state": "idle"}))
    store.append_event("app-1", "message", {"result": "delivered"})
    changes = ChangeFeed(store).read(0)
    assert [(c.event.seq, c.event.session_id, c.event.kind) for c in changes] == [
        (1, "app-1", "spawned"),
        (2, "app-2", "spawned"),
        (3, "app-2", "activity"),
        (4, "app-1", "message"),
    ]
    # Each row is read once, after the events: the newest row, whatever event names it.
    assert changes[1].session is not None and changes[1].session.title == "renamed"
    assert changes[1].session is changes[2].session
    rows = Batch(changes, order=1).rows
    assert rows == {"app-1": changes[0].session, "app-2": changes[1].session}
    assert ChangeFeed(store).read(4) == []


def test_an_event_naming_a_deleted_session_comes_with_no_row(store: Store) -> None:
    # Another tool (or a hand with sqlite3) removed the row; the event stays in the log.
    with sqlite3.connect(store.path) as db:
        db.execute("DELETE FROM sessions WHERE id = 'app-2'")
    store.append_event("app-9", "message", {"result": "sent"})  # never had a row
    changes = ChangeFeed(store).read(0)
    assert [(c.event.session_id, c.session is None) for c in changes] == [
        ("app-1", False),
        ("app-2", True),
        ("app-9", True),
    ]


async def test_a_burst_of_a_thousand_events_arrives_whole_and_in_order(store: Store) -> None:
    feed = ChangeFeed(store, resync=QUIET)
    batches = feed.batches(after=2)
    for i in range(1500):
        store.append_event(f"app-{1 + i % 2}", "activity", {"i": i})
    seen: list[Change] = []
    orders: list[int] = []
    while len(seen) < 1500:
        batch = await next_batch(batches)
        seen += batch.changes
        orders.append(batch.order)
    await batches.aclose()
    assert [c.event.data["i"] for c in seen] == list(range(1500))
    assert [c.event.seq for c in seen] == list(range(3, 1503))
    assert orders == sorted(set(orders))  # each read numbered after the one before
    assert all(c.session is not None and c.session.id == c.event.session_id for c in seen)


async def test_another_process_commit_wakes_a_reader_at_once(store: Store) -> None:
    feed = ChangeFeed(store, resync=QUIET)
    batches = feed.batches()
    waiting = asyncio.ensure_future(next_batch(batches, timeout=10))
    await asyncio.sleep(0.3)  # the reader is idle, its file watch set
    writer = (
        "import sys; from pathlib import Path; from core.store import Store; "
        "Store(Path(sys.argv[1])).append_event('app-1', 'message', {'result': 'sent'})"
    )
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", writer, str(store.path)], cwd=ROOT, check=True)
    batch = await waiting
    assert time.monotonic() - started < 5.0  # the resync is a minute away: the watch woke it
    [change] = batch.changes
    assert (change.event.kind, change.event.seq) == ("message", 3)
    assert change.session is not None and change.session.id == "app-1"
    await batches.aclose()


async def test_a_wake_from_another_thread_reads_at_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process's writer (the reconciler, in a worker thread) wakes readers directly."""

    async def no_watch(path: Path, wake: asyncio.Event, stop: asyncio.Event) -> None:
        await stop.wait()

    # The file watch is switched off (a stand-in that never fires), so that only the
    # wake can explain the read: with both on, the watch would hide a missing wake.
    monkeypatch.setattr("core.feed._watch_database", no_watch)
    feed = ChangeFeed(store, resync=QUIET)
    batches = feed.batches()
    waiting = asyncio.ensure_future(next_batch(batches, timeout=QUIET / 2))
    await asyncio.sleep(0.3)
    assert feed.readers == 1

    def write_then_wake() -> None:
        store.append_event("app-2", "activity", {"state": "idle"})
        feed.wake()

    started = time.monotonic()
    thread = threading.Thread(target=write_then_wake)
    thread.start()
    batch = await waiting
    thread.join()
    assert time.monotonic() - started < 5.0
    assert [c.event.kind for c in batch.changes] == ["activity"]
    await batches.aclose()
    assert feed.readers == 0


async def test_no_event_is_lost_across_a_reader_restart(store: Store) -> None:
    feed = ChangeFeed(store, resync=QUIET)
    first = feed.batches(after=0)
    batch = await next_batch(first)
    last = batch.last_seq
    await first.aclose()  # the follower failed (or was stopped) here
    assert feed.readers == 0
    for i in range(5):  # written while nobody reads
        store.append_event("app-1", "activity", {"i": i})
    again = feed.batches(after=last)
    batch = await next_batch(again)
    await again.aclose()
    assert [c.event.data.get("i") for c in batch.changes] == [0, 1, 2, 3, 4]
    assert batch.changes[0].event.seq == last + 1


async def test_a_reader_past_the_end_of_a_replaced_log_goes_on_from_its_end(
    tmp_path: Path,
) -> None:
    """A reader that last saw seq 500 meets a log that ends at 2 (a recovered database)."""
    store = Store(tmp_path / "state.db")
    store.insert_session(make_session("app-1"), event=("spawned", {}))
    feed = ChangeFeed(store, resync=0.1)
    batches = feed.batches(after=500)
    waiting = asyncio.ensure_future(next_batch(batches, timeout=10))
    await asyncio.sleep(0.3)
    store.append_event("app-1", "message", {"result": "sent"})
    batch = await waiting
    await batches.aclose()
    assert [(c.event.seq, c.event.kind) for c in batch.changes] == [(2, "message")]


async def test_a_reader_after_pruned_events_gets_what_is_left(store: Store) -> None:
    for i in range(4):
        store.append_event("app-1", "activity", {"i": i})
    with sqlite3.connect(store.path) as db:
        db.execute("DELETE FROM events WHERE seq <= 4")  # pruned by hand: seqs 1-4 gone
    batches = ChangeFeed(store, resync=QUIET).batches(after=1)
    batch = await next_batch(batches)
    await batches.aclose()
    assert [c.event.seq for c in batch.changes] == [5, 6]


async def test_a_stopped_reader_ends_without_waiting_for_the_resync(store: Store) -> None:
    feed = ChangeFeed(store, resync=QUIET)
    stop = asyncio.Event()

    async def read_all() -> list[Batch]:
        return [batch async for batch in feed.batches(after=2, stop=stop)]

    reading = asyncio.ensure_future(read_all())
    await asyncio.sleep(0.2)
    stop.set()
    assert await asyncio.wait_for(reading, 2.0) == []
    assert feed.readers == 0
