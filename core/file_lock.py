"""Exclusive locks between processes: an ``flock`` on a file, taken with a bounded wait.

The kernel drops an ``flock`` when its holder dies, so a crashed process never leaves a
lock behind. Each :func:`hold` opens the file anew, and ``flock`` locks belong to the open
file, so two threads of one process exclude each other too. The lock file is never
deleted: deleting it would let a second process lock a new file while the first still
holds the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

_POLL = 0.05
"""Seconds between attempts while another holder has the lock."""


def holder_pid(path: Path) -> int | None:
    """The pid the last holder wrote into the lock file, if it is readable."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def hold(
    path: Path, *, timeout: float, on_timeout: Callable[[int | None], Exception]
) -> Iterator[None]:
    """Hold the lock on ``path`` for the ``with`` block, waiting up to ``timeout`` seconds.

    When the wait runs out, ``on_timeout(pid of the holder or None)`` is raised: it says
    who holds the lock and what to do, in the caller's own error class.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        # A read-only or full place cannot hold a lock file; the work goes on as it did
        # before there were locks, and the operation itself reports what is wrong there.
        yield
        return
    try:
        if _acquire(fd, path, timeout, on_timeout):
            # Only for messages: who to blame when another process waits too long.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _acquire(
    fd: int, path: Path, timeout: float, on_timeout: Callable[[int | None], Exception]
) -> bool:
    """Take the lock on ``fd``; False where the file system has no locks (some NFS)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise on_timeout(holder_pid(path)) from None
            time.sleep(_POLL)
        except OSError:
            return False


def is_held(path: Path) -> bool:
    """Whether a live process holds the lock on ``path`` (False when the file is missing)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
