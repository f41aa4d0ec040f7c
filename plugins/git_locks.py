"""Git lock files (``index.lock``, ``HEAD.lock``, ref locks) a dead git process left behind.

git creates ``<file>.lock`` before it changes ``<file>`` and renames it over the file when
done; a git process killed in between (an agent's ``git commit`` when its tmux session is
killed) leaves the lock, and every later git call that needs the file refuses with "File
exists". A lock is stale when no live process can be holding it: none of this user's
processes has it open, no git process of this user works in the worktree it guards, and
it is older than git ever holds one in practice. A stale lock is removed; a held one is
waited for, then reported with the holder's pid, because retrying later will work.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.slots import WorktreeBusyError

LOCK_IN_USE = re.compile(r"Unable to create '(?P<path>[^'\n]+\.lock)': File exists")
"""How git reports a lock it could not take (the same text for index and ref locks)."""

STALE_AGE = 3.0
"""Seconds: git takes and drops its locks within milliseconds, even in big repositories a
lock lives for seconds at most, and a younger one may belong to a git that just started."""
BLIND_STALE_AGE = 600.0
"""Seconds, where processes cannot be listed (no /proc): only age can tell then."""
HOLDER_WAIT = 10.0
"""Seconds to wait for a live holder to finish before reporting it."""

_PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    """A live process that holds (or may hold) a lock."""

    pid: int
    argv: tuple[str, ...]

    def describe(self) -> str:
        """``pid 4242: git commit -m wip`` (shortened)."""
        command = " ".join(self.argv) or "?"
        if len(command) > 80:
            command = command[:77] + "..."
        return f"pid {self.pid}: {command}"


def _own_pids() -> Iterator[int]:
    uid = os.getuid()
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
        except OSError:
            continue  # the process ended while we looked
        yield int(entry.name)


def _has_open(proc: Path, target: str) -> bool:
    try:
        for fd in (proc / "fd").iterdir():
            try:
                if str(fd.readlink()) == target:
                    return True
            except OSError:
                continue
    except OSError:
        return False
    return False


def _is_git(proc: Path) -> bool:
    try:
        return (proc / "comm").read_text(encoding="utf-8", errors="replace").startswith("git")
    except OSError:
        return False


def _works_in(proc: Path, places: Sequence[Path]) -> bool:
    try:
        cwd = (proc / "cwd").readlink()
    except OSError:
        return False
    return any(cwd == place or cwd.is_relative_to(place) for place in places)


def _argv(proc: Path) -> tuple[str, ...]:
    try:
        raw = (proc / "cmdline").read_bytes()
    except OSError:
        return ()
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def holders(lock: Path, places: Sequence[Path]) -> list[Holder] | None:
    """This user's processes that have ``lock`` open or run git inside one of ``places``.

    None when processes cannot be listed on this system. Paths are compared resolved, as
    the kernel reports them.
    """
    if not (_PROC / "self" / "fd").is_dir():
        return None
    target = str(lock.resolve())
    roots = [place.resolve() for place in places]
    found: list[Holder] = []
    for pid in _own_pids():
        proc = _PROC / str(pid)
        # Any program may hold a lock open (libgit2-based tools too); a git process may
        # also hold one it already closed (ref locks are closed before the rename).
        if _has_open(proc, target) or (_is_git(proc) and _works_in(proc, roots)):
            found.append(Holder(pid, _argv(proc)))
    return found


def settle(lock: Path, places: Sequence[Path], *, wait: float | None = None) -> str | None:
    """Make sure ``lock`` no longer blocks git; a note when a stale one was removed.

    ``places`` are the directories a git process holding this lock would work in (the
    worktree and its git dir). None when there was no lock. Raises
    :class:`WorktreeBusyError` naming the holder when a live one keeps it past ``wait``
    seconds (default :data:`HOLDER_WAIT`).
    """
    deadline = time.monotonic() + (HOLDER_WAIT if wait is None else wait)
    while True:
        try:
            seen = lock.stat()
        except FileNotFoundError:
            return None
        live = holders(lock, places)
        age = time.time() - seen.st_mtime
        if not live and age >= (STALE_AGE if live is not None else BLIND_STALE_AGE):
            if _unlink_if_same(lock, seen):
                return (
                    f"removed the stale git lock {lock} ({age:.0f}s old; no git process "
                    "was using it: one was interrupted before it could clean up)"
                )
            continue  # replaced meanwhile: look at the new one
        if time.monotonic() >= deadline:
            if live:
                who = ", ".join(holder.describe() for holder in live[:3])
                raise WorktreeBusyError(f"a git process ({who}) is using {lock}")
            raise WorktreeBusyError(
                f"{lock} exists ({age:.0f}s old) and this system cannot tell whether a git "
                "process holds it; if no git command runs there, delete it"
            )
        time.sleep(0.1)


def _unlink_if_same(lock: Path, seen: os.stat_result) -> bool:
    """Remove ``lock`` only if it is still the file looked at (not a new lock since)."""
    try:
        now = lock.stat()
    except FileNotFoundError:
        return True
    if (now.st_ino, now.st_mtime_ns) != (seen.st_ino, seen.st_mtime_ns):
        return False
    lock.unlink(missing_ok=True)
    return True


def reported_lock(git_error_text: str) -> Path | None:
    """The lock file a failed git call says it found in its way, if that was the failure."""
    match = LOCK_IN_USE.search(git_error_text)
    return Path(match["path"]) if match else None
