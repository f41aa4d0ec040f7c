"""The change feed: every event in the store's log, in order, with the session row it names.

The one way a reader learns that something changed: the cockpit (to move cards), the daemon
and ``events --follow`` (to print), and the reaction engine of the next issue. A reader asks
for the changes after a sequence number and gets them in batches, one per read of the store:
the new events and, read once after them, the row of every session they name.

Readers are woken two ways, and nothing runs while nothing changes:

- at once by this process's own writes: the engine calls :meth:`ChangeFeed.wake` after a
  reconcile tick or a verb (from any thread);
- by another process's commits, through a file watch on the database and its WAL
  (:mod:`core.activity.watch`, inotify).

A slow resync (:data:`RESYNC`) bounds how long a change the watch missed could go unseen.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.models import Event, Session
from core.store import Store

if TYPE_CHECKING:
    # asyncio costs ~30 ms to import; only the async readers need it.
    import asyncio

RESYNC = 2.0
"""Seconds after which the log is read even without a wake-up (a missed file watch)."""
READ_LIMIT = 1000
"""Most events one read returns: a burst larger than this comes in several batches."""


@dataclass(frozen=True)
class Change:
    """One event, and the row of the session it names as read just after the event."""

    event: Event
    session: Session | None
    """The session's current row; None when the session no longer exists (or never did)."""


@dataclass(frozen=True)
class Batch:
    """The changes one read of the store found, oldest first (never empty)."""

    changes: list[Change]
    order: int
    """When the read began, among every read numbered by :meth:`ChangeFeed.next_read`."""

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest event in the batch (where the next read starts)."""
        return self.changes[-1].event.seq

    @property
    def rows(self) -> dict[str, Session | None]:
        """Each session the batch names, once, with its row (None: deleted)."""
        return {change.event.session_id: change.session for change in self.changes}


class ChangeFeed:
    """The changes to one store, for any number of readers in this process."""

    def __init__(self, store: Store, *, resync: float = RESYNC) -> None:
        """Follow ``store``'s event log; ``resync`` bounds a missed file watch's delay."""
        self.store = store
        self.resync = resync
        self._readers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()
        self._reads = itertools.count(1)

    @property
    def readers(self) -> int:
        """How many readers are following now (each closed reader is gone at once)."""
        return len(self._readers)

    def wake(self) -> None:
        """This process wrote to the store: every reader reads now. Safe from any thread."""
        with self._lock:
            readers = list(self._readers)
        for loop, flag in readers:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that loop is closed; its reader will not read again
                self._forget((loop, flag))

    def next_read(self) -> int:
        """A number for a read of the store about to begin, larger than any before it.

        Reads run in threads and may land in any order; a reader that keeps rows from
        several kinds of read (the cockpit's full reloads and its batches) shows, per row,
        what the read that began last saw.
        """
        return next(self._reads)

    def last_seq(self) -> int:
        """The newest sequence number in the log (0 for an empty log). Blocking."""
        return self.store.last_event_seq()

    def read(self, after: int, *, limit: int = READ_LIMIT) -> list[Change]:
        """The changes after ``after``, oldest first, each session's row read once. Blocking.

        The rows are read after the events, so a row is never older than its event.
        """
        events = self.store.events_after(after, limit=limit)
        rows = {i: self.store.get_session(i) for i in dict.fromkeys(e.session_id for e in events)}
        return [Change(event, rows[event.session_id]) for event in events]

    async def batches(
        self, after: int | None = None, *, stop: asyncio.Event | None = None
    ) -> AsyncGenerator[Batch, None]:
        """Every batch of changes after ``after`` (None: from now) as it lands, until ``stop``.

        A log that ends before ``after`` was replaced (a database recovered or reset): the
        reader goes on from its end rather than waiting for numbers it will never reach.
        """
        import asyncio

        seq = await asyncio.to_thread(self.last_seq) if after is None else after
        flag = asyncio.Event()
        reader = (asyncio.get_running_loop(), flag)
        with self._lock:
            self._readers.append(reader)
        watch_stop = asyncio.Event()
        watcher = asyncio.create_task(_watch_database(self.store.path, flag, watch_stop))
        try:
            while stop is None or not stop.is_set():
                # Cleared before reading: a commit landing during the read wakes us again.
                flag.clear()
                order = self.next_read()
                changes, end = await asyncio.to_thread(self._read_or_end, seq)
                if changes:
                    batch = Batch(changes, order)
                    seq = batch.last_seq
                    yield batch
                    continue
                seq = min(seq, end)
                await _wait(flag, stop, self.resync)
        finally:
            self._forget(reader)
            watch_stop.set()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def changes(
        self, after: int | None = None, *, stop: asyncio.Event | None = None
    ) -> AsyncGenerator[Change, None]:
        """Every change after ``after`` (None: from now), one at a time, until ``stop``."""
        batches = self.batches(after, stop=stop)
        try:
            async for batch in batches:
                for change in batch.changes:
                    yield change
        finally:
            await batches.aclose()

    def _read_or_end(self, after: int) -> tuple[list[Change], int]:
        """The changes after ``after``; when there are none, where the log ends (one hop)."""
        changes = self.read(after)
        return changes, (changes[-1].event.seq if changes else self.last_seq())

    def _forget(self, reader: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._readers.remove(reader)


async def _wait(flag: asyncio.Event, stop: asyncio.Event | None, timeout: float) -> None:
    """Until ``flag`` or ``stop`` is set, or ``timeout`` seconds have passed."""
    import asyncio

    if stop is None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(flag.wait(), timeout)
        return
    waits = {asyncio.ensure_future(flag.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def _watch_database(path: Path, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``wake`` whenever the database or its WAL changes (any process's commit)."""
    from core.activity.watch import watch_dirs

    names = {path.name, path.name + "-wal"}
    await watch_dirs(
        lambda: [path.parent], wake.set, stop, recursive=False, accept=names.__contains__
    )
