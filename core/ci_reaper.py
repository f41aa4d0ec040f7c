"""Nothing a CI run starts may outlive it: find every process of a run and end it.

A process group is not enough: a test suite's server started with ``setsid`` (or a
daemon that double-forks) leaves the group and would run on after a passing run, or even
a timed-out one. So every process of a run is found two ways:

- by an environment marker (``AO_TUI_CI_RUN=<run id>-<random nonce>``) that the run's
  first process gets and every child inherits, read from ``/proc/<pid>/environ``;
- by ancestry: the runner makes itself the *child subreaper* of its subtree (Linux
  ``prctl``), so orphans of the run are re-parented to it instead of to init, and its
  descendants are the run's processes even when one cleared its environment.

Only processes of the same user are touched; a process that cannot be read (another
user's, one that exits while being read, a kernel thread) is skipped, never an error.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import time
from collections.abc import Iterable
from pathlib import Path

MARKER_ENV = "AO_TUI_CI_RUN"
"""The variable that marks every process of a CI run."""

PROC = Path("/proc")
_PR_SET_CHILD_SUBREAPER = 36


def new_marker(run_id: int) -> str:
    """A marker value no other run (of this or another ao-tui) can share."""
    return f"{run_id}-{secrets.token_hex(12)}"


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants (Linux only); whether it worked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _pids(proc: Path) -> list[int]:
    try:
        return [int(entry.name) for entry in os.scandir(proc) if entry.name.isdigit()]
    except OSError:
        return []


def _own(proc: Path, pid: int) -> bool:
    try:
        return (proc / str(pid)).stat().st_uid == os.getuid()
    except OSError:
        return False


def marked(marker: str, *, proc: Path = PROC) -> list[int]:
    """Pids of this user's processes whose environment carries ``marker``."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found: list[int] = []
    for pid in _pids(proc):
        if pid == os.getpid() or not _own(proc, pid):
            continue
        try:
            environ = (proc / str(pid) / "environ").read_bytes()
        except OSError:  # gone, another user's, or not a process we may read
            continue
        if needle in environ.split(b"\0"):
            found.append(pid)
    return found


def _parent(proc: Path, pid: int) -> int | None:
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        return int(stat[stat.rindex(")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def descendants(root: int, *, proc: Path = PROC) -> list[int]:
    """Pids of every living process below ``root`` (its children, theirs, ...)."""
    children: dict[int, list[int]] = {}
    for pid in _pids(proc):
        parent = _parent(proc, pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in found or pid == root:
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        return stat[stat.rindex(")") + 2 :].startswith("Z")
    except (OSError, ValueError):
        return False


def reap_zombies() -> None:
    """Collect the exit status of every finished child (adopted orphans included)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_run(
    marker: str,
    *,
    group: int | None = None,
    root: int | None = None,
    grace: float = 3.0,
    deadline: float = 15.0,
    adopted: bool = False,
    proc: Path = PROC,
) -> list[int]:
    """End every process of a run: the marked ones, ``group``'s and ``root``'s descendants.

    SIGTERM first, SIGKILL to whatever is left after ``grace`` seconds; found again until
    none is left (a process may fork while being ended), for at most ``deadline`` seconds.
    ``adopted`` says this process is the run's subreaper: it collects the exit status of
    every child it has. Returns the pids that were signalled.
    """
    collect = reap_zombies if adopted else _nothing
    signalled: list[int] = []
    if group is not None:
        try:
            os.killpg(group, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    until = time.monotonic() + deadline
    while True:
        found = set(marked(marker, proc=proc))
        if root is not None:
            found.update(descendants(root, proc=proc))
        found = {pid for pid in found if _alive(pid)}
        if not found:
            break
        signalled.extend(sorted(found - set(signalled)))
        _signal(found, signal.SIGTERM)
        stop = min(until, time.monotonic() + grace)
        while time.monotonic() < stop and any(_alive(pid) for pid in found):
            collect()
            time.sleep(0.05)
        _signal((pid for pid in found if _alive(pid)), signal.SIGKILL)
        collect()
        if time.monotonic() >= until:
            break
    if group is not None:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    collect()
    return signalled


def _nothing() -> None:
    """Children of a process that is not the run's subreaper are not ours to collect."""
