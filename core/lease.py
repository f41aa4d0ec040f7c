"""The engine lease: exactly one process at a time runs reconcile ticks, and all know which.

An ``flock`` on ``engine.lock`` in the state dir: the kernel releases it the moment its
holder exits, SIGKILL included, so a crashed process never leaves a stale lease behind.
The holder writes who it is into the file (pid, the kernel's start time of that pid,
kind of process, since when), so followers, ``status`` and ``doctor`` can name it. The
flock alone says whether anyone holds the lease; the record only says who, and is
believed only while its pid is still the very process that wrote it (pids are reused).

A process that wants to watch and finds the lease taken does not give up: it follows
and tries again every :data:`LEASE_POLL` seconds (:func:`wait_for_lease`), so when the
holder goes away another cockpit, the daemon or ``events --follow`` takes over at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.bounded_json import loads
from core.file_lock import is_held
from core.owner import Owner
from core.store_health import StoreError, os_error

if TYPE_CHECKING:
    import asyncio

LEASE_POLL = 0.1
"""Seconds between two attempts of a follower to take the lease: a holder that dies is
replaced within this, far inside the 2 s an unwatched prompt may wait at most."""

KINDS: dict[str, str] = {
    "cockpit": "cockpit",
    "daemon": "daemon",
    "events": "events --follow",
    "cli": "ao-tui command",
    "recover": "ao-tui recover",
}
"""What each kind of holder is called; a record naming anything else is not believed."""

_MAX_RECORD = 4096
"""Bytes of the lease file read: a record is ~100; more is not one of ours."""


@dataclass(frozen=True)
class LeaseHolder:
    """Who holds the engine lease: the kind of process, its pid, since when (epoch s).

    ``pid`` is None when the holder cannot be named: it wrote no record yet, an older
    version wrote none, or the pid in the file now belongs to another process.
    """

    kind: str
    pid: int | None = None
    since: float | None = None

    def describe(self) -> str:
        """``daemon (pid 123)``; ``an ao-tui process (pid unknown)`` when it cannot be named."""
        name = KINDS.get(self.kind)
        if name is None:
            return "an ao-tui process" + (f" (pid {self.pid})" if self.pid else " (pid unknown)")
        return f"{name} (pid {self.pid})" if self.pid else name


class EngineLease:
    """The lease as one process holds it; :meth:`acquire` never waits."""

    def __init__(self, path: Path, kind: str = "cli") -> None:
        """Prepare a lease on ``path`` for a process of ``kind`` (see :data:`KINDS`)."""
        self.path = path
        self.kind = kind
        self.since: float | None = None
        self._fd: int | None = None
        self._closed = False
        self._guard = threading.Lock()
        """Attempts run in threads: one that lands after :meth:`close` must take nothing."""

    @property
    def held(self) -> bool:
        """Whether this process holds the lease."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process now holds it."""
        with self._guard:
            if self._closed:
                return False
            return self._acquire()

    def _acquire(self) -> bool:
        if self._fd is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # os.open makes the descriptor non-inheritable: a tmux server or CI run started
            # by the holder must not keep the lease alive after the holder is gone.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise os_error(self.path, exc) from exc  # a read-only or full state dir
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            # Without locks every process would reconcile at once, or none would.
            raise StoreError(
                f"{self.path}: cannot lock the engine lease ({exc.strerror or exc}); the state "
                "dir must be on a file system with flock: set AO_TUI_HOME to a local directory"
            ) from exc
        since = time.time()
        owner = Owner.current()
        record = {"pid": owner.pid, "started": owner.started, "kind": self.kind, "since": since}
        data = json.dumps(record).encode()
        try:
            # Written in place, then cut to length: a reader never sees an empty file.
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        except OSError as exc:
            os.close(fd)
            raise os_error(self.path, exc) from exc
        self._fd = fd
        self.since = since
        return True

    def release(self) -> None:
        """Give the lease up (closing the file drops the lock; the record stays, unbelieved)."""
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self.since = None

    def close(self) -> None:
        """Release for good: an attempt still running in a thread takes nothing after this."""
        with self._guard:
            self._closed = True
        self.release()

    def holder(self) -> LeaseHolder | None:
        """Who holds the lease now (this process included); None when nobody does."""
        if self._fd is not None:
            return LeaseHolder(self.kind, os.getpid(), self.since)
        return read_holder(self.path)


def read_holder(path: Path) -> LeaseHolder | None:
    """Who holds the lease on ``path``; None when no process does.

    The flock decides whether the lease is held; the record names the holder only while
    its pid still runs with the start time it recorded.
    """
    try:
        if not is_held(path):
            return None
    except OSError:
        return None  # no locks on this file system: nobody can hold the lease there
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_RECORD)
    except OSError:
        return LeaseHolder("unknown")
    text = raw.decode("ascii", errors="replace").strip()
    if text.isdigit() and len(text) <= 10:
        # Written by a version before the record: a bare pid, no start time to check.
        bare = int(text)
        return LeaseHolder("unknown", bare if _pid(bare) and Owner(bare).alive() else None)
    try:
        record = loads(text)
    except ValueError:
        return LeaseHolder("unknown")  # being rewritten by a new holder this instant
    if not isinstance(record, dict):
        return LeaseHolder("unknown")
    pid, started, kind, since = (record.get(k) for k in ("pid", "started", "kind", "since"))
    if not _pid(pid):
        return LeaseHolder("unknown")
    assert isinstance(pid, int)
    if not Owner(pid, started if isinstance(started, str) else "").alive():
        return LeaseHolder("unknown")  # the recorded process is gone: someone else holds it
    return LeaseHolder(
        kind if isinstance(kind, str) and kind in KINDS else "unknown",
        pid,
        float(since) if isinstance(since, int | float) and not isinstance(since, bool) else None,
    )


def _pid(value: object) -> bool:
    """Whether ``value`` can be a process id (a huge number would overflow ``kill``)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


async def wait_for_lease(
    lease: EngineLease,
    stop: asyncio.Event,
    *,
    on_holder: Callable[[LeaseHolder | None], None] | None = None,
    poll: float = LEASE_POLL,
) -> bool:
    """Try to take ``lease`` every ``poll`` seconds until it is ours (True) or ``stop`` (False).

    ``on_holder`` hears who holds it meanwhile, each time that changes (None: nobody, for
    the instant between a holder's exit and this process's next try). The file work runs
    in a thread: a state dir on a hung network file system must not freeze a cockpit.
    """
    # Imported here, not at the top: `status --json` reads the lease holder and must not pay
    # ~30 ms for asyncio (issue 10 §8).
    import asyncio

    def attempt() -> tuple[bool, LeaseHolder | None]:
        if stop.is_set():
            return False, None
        if lease.acquire():
            return True, None
        return False, read_holder(lease.path)

    told: object = object()  # nothing told yet
    while not stop.is_set():
        taken, holder = await asyncio.to_thread(attempt)
        if taken and stop.is_set():
            lease.release()  # stopped while the attempt ran: nobody would tick with it
            return False
        if taken:
            return True
        if on_holder is not None and holder != told:
            told = holder
            on_holder(holder)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)
    return False
