"""One lock per repository around every change to its worktree registrations.

``git worktree add`` registers a worktree in steps (a directory under
``<common-dir>/worktrees``, then its ``gitdir`` file, then the checkout); a ``git worktree
prune`` or ``remove`` run by another process in between deletes the half-made entry and
the add fails with "could not open .../gitdir". Every ao-tui process that adds, removes,
prunes or repairs worktrees therefore takes this lock first. It lives in the repository's
common git dir, so every process on every state dir that works on the same repository
shares it, and it is an ``flock``, so a killed holder never leaves it stuck.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from core.file_lock import hold
from core.git import GIT_TIMEOUT, run_git
from core.slots import SlotError

LOCK_NAME = "ao-tui-worktrees.lock"
LOCK_WAIT = GIT_TIMEOUT + 30.0
"""Seconds to wait for the lock: a holder runs a few git calls, each bounded by
``GIT_TIMEOUT``, so a longer wait means a holder that is stuck, not busy."""

_common_dirs: dict[str, Path] = {}


def common_dir(repo: Path) -> Path:
    """The git dir shared by ``repo`` and all its worktrees (asked once per repository)."""
    key = str(repo.absolute())
    found = _common_dirs.get(key)
    if found is None:
        out = run_git(["rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=repo)
        found = _common_dirs[key] = Path(out.stdout.strip("\n"))
    return found


@contextlib.contextmanager
def worktrees_locked(repo: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold ``repo``'s worktree lock for the ``with`` block (bounded wait, then SlotError)."""
    path = common_dir(repo) / LOCK_NAME
    wait = LOCK_WAIT if timeout is None else timeout

    def busy(pid: int | None) -> SlotError:
        who = f"process {pid}" if pid else "another ao-tui process"
        return SlotError(
            f"{who} has been changing the worktrees of {repo} for over {wait:.0f}s "
            f"(it holds {path}); retry when it has finished"
        )

    with hold(path, timeout=wait, on_timeout=busy):
        yield
