"""Throwaway worktrees for merges, and the sweep that removes those a killed merge left.

A merge works in a detached worktree under a fresh temp dir ``ao-tui-merge-XXXX`` (the
worktree is ``ao-tui-merge-XXXX/ao-tui-merge-XXXX``, so its registration in the repository
carries the same recognisable name). While the merge runs, its process holds an ``flock``
on ``owner.lock`` in that dir. A merge killed with SIGKILL cannot clean up: its worktree
stays registered in the operator's repository, locked when the kill hit ``git worktree
add`` (git keeps it locked "initializing" until the add is done). The kernel drops the
``flock`` with the process, so :func:`sweep` can tell such leftovers from merges that are
still running, in this or any other process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.file_lock import hold, holder_pid, is_held
from core.git import run_git
from core.slots import SlotError
from plugins.repo_lock import worktrees_locked

PREFIX = "ao-tui-merge-"
OWNER = "owner.lock"
_UNREGISTERED_GRACE = 60.0
"""Seconds before a temp dir with no registration may be swept: a merge creates its dir
and then its owner lock, and must not lose the dir in between."""


@dataclass(frozen=True)
class _Registration:
    path: Path
    locked: bool


@contextlib.contextmanager
def scratch_worktree(repo: Path, start: str) -> Iterator[Path]:
    """A detached worktree of ``repo`` at commit ``start``, gone after the ``with`` block."""
    scratch = Path(tempfile.mkdtemp(prefix=PREFIX))
    path = scratch / scratch.name
    try:
        with hold(scratch / OWNER, timeout=0, on_timeout=_owned_elsewhere(scratch)):
            try:
                with worktrees_locked(repo):
                    run_git(["worktree", "add", "--quiet", "--detach", str(path), start], cwd=repo)
                yield path
            finally:
                with worktrees_locked(repo):
                    _discard(repo, path, locked=False)
                    run_git(["worktree", "prune"], cwd=repo, check=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _owned_elsewhere(scratch: Path) -> Callable[[int | None], Exception]:
    def error(pid: int | None) -> Exception:
        return SlotError(f"the fresh temp dir {scratch} is already in use by process {pid}")

    return error


def sweep(repo: Path) -> list[str]:
    """Remove ``repo``'s scratch worktrees whose merge died, and their temp dirs; one note each.

    Merges still running (their owner lock is held) are left alone.
    """
    notes: list[str] = []
    with worktrees_locked(repo):
        dead = [
            entry
            for entry in _registrations(repo)
            if entry.path.parent.name.startswith(PREFIX) and not is_held(entry.path.parent / OWNER)
        ]
        for entry in dead:
            _discard(repo, entry.path, locked=entry.locked)
            shutil.rmtree(entry.path.parent, ignore_errors=True)
            state = "locked, " if entry.locked else ""
            notes.append(
                f"removed the merge worktree {entry.path} ({state}left by a merge that was "
                "interrupted)"
            )
        if dead:
            run_git(["worktree", "prune"], cwd=repo, check=False)
    _sweep_temp_dirs()
    return notes


def _discard(repo: Path, path: Path, *, locked: bool) -> None:
    """Unregister worktree ``path`` and delete its files (a locked or missing one too)."""
    if locked:
        # Older gits refuse to remove a locked worktree whose directory is gone.
        run_git(["worktree", "unlock", str(path)], cwd=repo, check=False)
    run_git(["worktree", "remove", "--force", "--force", str(path)], cwd=repo, check=False)


def _registrations(repo: Path) -> list[_Registration]:
    """Every linked worktree ``repo`` has registered, with whether it is locked."""
    out = run_git(["worktree", "list", "--porcelain"], cwd=repo).stdout
    found: list[_Registration] = []
    for block in out.split("\n\n"):
        lines = block.splitlines()
        if not lines or not lines[0].startswith("worktree "):
            continue
        locked = any(line == "locked" or line.startswith("locked ") for line in lines[1:])
        found.append(_Registration(Path(lines[0].removeprefix("worktree ")), locked))
    return found[1:]  # the first is the main worktree


def _sweep_temp_dirs() -> None:
    """Delete scratch temp dirs no merge owns any more (killed after unregistering, or
    before registering).

    A dir whose owner lock names a process held it once, so once the lock is free its merge
    is gone: removed at once. A dir with no such name yet may be a merge between making it
    and taking its lock: removed only after a grace.
    """
    now = time.time()
    uid = os.getuid()
    for scratch in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        owner = scratch / OWNER
        try:
            info = scratch.lstat()
            if info.st_uid != uid or not stat.S_ISDIR(info.st_mode):
                continue
        except OSError:
            continue
        # The name first, then the lock: the holder writes its pid only once it holds it.
        was_held = holder_pid(owner) is not None
        if is_held(owner):
            continue
        if was_held or now - info.st_mtime > _UNREGISTERED_GRACE:
            shutil.rmtree(scratch, ignore_errors=True)
