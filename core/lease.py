"""The engine lease: exactly one process at a time runs reconcile ticks.

An ``flock`` on a file in the state dir: the kernel releases it when the holder dies, so a
crashed daemon never leaves a stale lease behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from core.store_health import os_error


class EngineLease:
    """A non-blocking exclusive lock; :meth:`acquire` says whether this process got it."""

    def __init__(self, path: Path) -> None:
        """Prepare a lease on ``path`` (not taken yet)."""
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process holds the lease."""
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process now holds it."""
        if self._fd is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise os_error(self.path, exc) from exc  # a read-only or full state dir
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
        except OSError as exc:
            os.close(fd)
            raise os_error(self.path, exc) from exc
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lease up (closing the file drops the lock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
