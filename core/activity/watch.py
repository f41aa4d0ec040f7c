"""Wake on file changes: inotify where Linux has it, watchfiles' polling elsewhere.

The reconcile loop wakes when an agent writes its hook log, transcript or status file, and
the cockpit when another process commits to the store. Both want the news within
milliseconds and both sit idle most of the time. watchfiles (the portable fallback) polls
its queue every ``step`` milliseconds from a thread that takes the GIL each time, which
costs a steady half percent of a core per watcher even when nothing changes; an inotify
descriptor registered with the event loop costs nothing until the kernel has news, and
delivers it at once.

inotify watches single directories, so a tree is watched directory by directory: a new
subdirectory is added as soon as its creation is reported (and counts as a change, since
files may have been written into it before its watch existed). Roots are re-evaluated
every ``rescan`` seconds, so a directory that appears later (the agent's first transcript
directory) is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import errno
import os
import struct
from collections.abc import Callable
from pathlib import Path

IN_MODIFY = 0x00000002
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
_WATCH_MASK = (
    IN_MODIFY
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
"""Content writes, files and directories appearing or going; not reads, not attributes."""

_EVENT = struct.Struct("iIII")
"""``struct inotify_event`` before its name: wd, mask, cookie, len."""
_READ_SIZE = 64 * 1024

RESCAN = 1.0
"""Seconds between two checks for roots that appeared (or went) since the watch began."""


class Inotify:
    """One inotify descriptor and the directories it watches (Linux only).

    Raises :class:`OSError` when the kernel or C library offers no inotify, or when the
    per-user watch limit is reached; callers fall back to polling then.
    """

    def __init__(self) -> None:
        """Open a non-blocking, close-on-exec inotify descriptor."""
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            self._init1 = libc.inotify_init1
            self._add_watch = libc.inotify_add_watch
        except (OSError, AttributeError) as exc:
            raise OSError("inotify is not available here") from exc
        self._add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._add_watch.restype = ctypes.c_int
        fd = int(self._init1(os.O_NONBLOCK | os.O_CLOEXEC))
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"inotify_init1: {os.strerror(errno)}")
        self.fd = fd
        self.dirs: dict[int, Path] = {}
        """Watched directories by watch descriptor."""

    def add(self, directory: Path) -> bool:
        """Watch ``directory`` (not its subdirectories); False when it is not a directory."""
        wd = int(self._add_watch(self.fd, os.fsencode(directory), _WATCH_MASK))
        if wd < 0:
            code = ctypes.get_errno()
            if code == errno.ENOSPC:  # inotify's word for the per-user limit on watches
                raise OSError(code, "inotify watch limit reached")
            return False  # gone or not a directory: a race with its removal, not an error
        self.dirs[wd] = directory
        return True

    def add_tree(self, root: Path) -> None:
        """Watch ``root`` and every directory below it."""
        if not self.add(root):
            return
        for parent, subdirs, _files in os.walk(root):
            for name in subdirs:
                self.add(Path(parent) / name)

    def read(self) -> list[tuple[Path | None, str, int]]:
        """Every pending event as (directory, name, mask); the directory is None on overflow."""
        events: list[tuple[Path | None, str, int]] = []
        while True:
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                return events
            if not data:
                return events
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                start = offset + _EVENT.size
                name = data[start : start + length].rstrip(b"\0").decode(errors="replace")
                offset = start + length
                if mask & IN_IGNORED:
                    self.dirs.pop(wd, None)
                    continue
                events.append((self.dirs.get(wd), name, mask))

    def close(self) -> None:
        """Close the descriptor (the kernel drops every watch with it)."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


async def watch_dirs(
    roots: Callable[[], list[Path]],
    on_change: Callable[[], None],
    stop: asyncio.Event,
    *,
    recursive: bool = True,
    accept: Callable[[str], bool] | None = None,
    rescan: float = RESCAN,
) -> None:
    """Call ``on_change`` after changes under ``roots()`` until ``stop`` is set.

    ``accept`` says, by base name, which files' changes count (all when None; directories
    created under a recursive watch always count). Changes reported together make one call.
    """
    try:
        notify = Inotify()
    except OSError:
        await _poll_dirs(roots, on_change, stop, recursive=recursive, accept=accept)
        return
    loop = asyncio.get_running_loop()
    watched: set[Path] = set()

    def add_roots() -> None:
        for root in roots():
            if root not in watched and root.is_dir():
                if recursive:
                    notify.add_tree(root)
                else:
                    notify.add(root)
                watched.add(root)
        # A root that went away (its watch ended) is re-added when it comes back.
        live = set(notify.dirs.values())
        watched.intersection_update(live)

    broken: list[OSError] = []

    def readable() -> None:
        changed = False
        for directory, name, mask in notify.read():
            if directory is None:  # the queue overflowed: something changed, unknown what
                changed = True
                continue
            if recursive and mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                try:
                    notify.add_tree(directory / name)
                except OSError as exc:
                    broken.append(exc)  # the watch loop falls back to polling
                changed = True
            elif accept is None or not name or accept(name):
                changed = True
        if changed:
            on_change()

    try:
        add_roots()
        loop.add_reader(notify.fd, readable)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rescan)
                if broken:
                    raise broken[0]
                add_roots()
        finally:
            loop.remove_reader(notify.fd)
    except OSError:
        # The watch limit ran out part-way: polling still sees every root.
        notify.close()
        await _poll_dirs(roots, on_change, stop, recursive=recursive, accept=accept)
        return
    notify.close()


async def _poll_dirs(
    roots: Callable[[], list[Path]],
    on_change: Callable[[], None],
    stop: asyncio.Event,
    *,
    recursive: bool,
    accept: Callable[[str], bool] | None,
) -> None:
    """The portable fallback: watchfiles, restarted when the set of roots changes."""
    # Imported here: watchfiles loads a native extension that most commands never need.
    from watchfiles import awatch

    while not stop.is_set():
        current = [p for p in roots() if p.is_dir()]
        if not current:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESCAN)
            continue
        # step=10 ms: the default 50 ms step and 1600 ms debounce would eat the latency
        # budget of a hook line reaching the board.
        async for _changes in awatch(
            *current,
            stop_event=stop,
            step=10,
            debounce=50,
            recursive=recursive,
            watch_filter=None if accept is None else lambda _c, path: accept(Path(path).name),
        ):
            on_change()
            if {p for p in roots() if p.is_dir()} != set(current):
                break
