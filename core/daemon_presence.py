"""Whether an ``ao-tui daemon`` process runs, holding the engine lease or waiting for it.

The engine lease names its holder, but a daemon that waits behind a cockpit holds nothing
yet. So every daemon also holds an ``flock`` on ``daemon.lock`` for as long as it runs (the
kernel drops it when the process dies, however it dies), and ``ao-tui start`` starts a
daemon only while none holds it: never a second one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from core.file_lock import is_held

DAEMON_LOCK = "daemon.lock"


def daemon_lock(home: Path) -> Path:
    """The file a running daemon holds locked (in the state dir ``home``)."""
    return home / DAEMON_LOCK


def mark_daemon(home: Path) -> int | None:
    """Lock ``daemon.lock`` for this process's life; its descriptor, or None when another
    daemon holds it already or the state dir has no locks (nothing is marked then)."""
    path = daemon_lock(home)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass  # the pid is only for messages; the lock is what counts
    return fd


def daemon_running(home: Path) -> bool:
    """Whether a daemon process runs for the state dir ``home``."""
    try:
        return is_held(daemon_lock(home))
    except OSError:
        return False


def daemon_pid(home: Path) -> int | None:
    """The pid the running daemon wrote (None when unreadable)."""
    try:
        text = daemon_lock(home).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
