"""The first process of every agent pane: receive the launch plan, then exec the agent.

tmux is given ``python -m core.launcher PIPE`` (two or more argv elements, so tmux execs it
without a shell). The plan holds the agent's argv, environment and working directory, so
the task prompt reaches the agent as one argv element — nothing is ever typed at spawn and
no shell ever sees the text.

The plan's environment holds secrets, so it never rests on disk: it goes through a FIFO
(named pipe, 0600, in the session's 0700 dir). The engine makes the FIFO, starts the pane,
waits (bounded) until this launcher has opened it for reading, writes the plan, closes and
removes it. A FIFO stores no data on disk: whenever the engine is killed, at most an empty
FIFO node is left behind, and :func:`sweep_plans` removes those (and the plan files older
versions wrote) when an engine starts. Likewise this launcher gives up (exit 127, saying
why in the pane) when no plan arrives within :data:`RECEIVE_TIMEOUT` seconds.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import stat
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from core.errors import AoError

HANDOVER_TIMEOUT = 20.0
"""Seconds the engine waits for the launcher to open the FIFO (a Python start on a loaded
machine); then it gives up, kills the pane and reports the spawn as failed."""
RECEIVE_TIMEOUT = 40.0
"""Seconds the launcher waits for the plan; longer than the engine's wait, so it only
gives up when the engine is gone."""
STALE_PIPE_AGE = 2 * RECEIVE_TIMEOUT
"""A FIFO older than this belongs to no spawn in progress."""
PLAN_PREFIX = "launch-"


class PlanError(AoError):
    """The plan could not be handed over; the message says why."""


def make_pipe(directory: Path) -> Path:
    """A new FIFO for one plan, readable and writable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)  # a dir left by an older version may be wider
    path = directory / f"{PLAN_PREFIX}{uuid.uuid4().hex}.fifo"
    os.mkfifo(path, 0o600)
    return path


def hand_over(
    path: Path,
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    timeout: float = HANDOVER_TIMEOUT,
    launcher_gone: Callable[[], bool] | None = None,
) -> None:
    """Write the plan into the FIFO at ``path`` once its reader (the launcher) is there.

    Opening a FIFO for writing without blocking fails with ENXIO until a reader has it
    open; the open is retried until ``timeout``, or until ``launcher_gone`` (asked now and
    then: it may cost a tmux call) says the launcher died before it got there. Raises
    :class:`PlanError` then.
    """
    data = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
    start = time.monotonic()
    deadline = start + timeout
    next_check = start + 0.5
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise PlanError(f"cannot open the launch pipe {path}: {exc.strerror}") from None
        now = time.monotonic()
        if now >= deadline:
            raise PlanError(f"the agent's launcher did not start within {timeout:.0f}s")
        if launcher_gone is not None and now >= next_check:
            next_check = now + 0.5
            if launcher_gone():
                raise PlanError("the agent's pane ended before its launcher took the plan")
        time.sleep(0.01)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise PlanError(f"{path} is not the launch pipe ao-tui made")
        _write_all(fd, data, deadline)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            raise PlanError("the agent's launcher stopped reading its launch plan")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
        except BrokenPipeError:
            raise PlanError("the agent's launcher closed its launch pipe early") from None


def sweep_plans(sessions_root: Path, *, now: float | None = None) -> list[Path]:
    """Remove plan files (older versions wrote the environment into them) and FIFOs left
    by a spawn that was killed; the paths removed. A FIFO younger than
    :data:`STALE_PIPE_AGE` may belong to a spawn in progress and is kept."""
    removed: list[Path] = []
    cutoff = (time.time() if now is None else now) - STALE_PIPE_AGE
    try:
        session_dirs = list(os.scandir(sessions_root))
    except OSError:
        return removed
    for session_dir in session_dirs:
        try:
            entries = list(os.scandir(session_dir.path)) if session_dir.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(PLAN_PREFIX):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISFIFO(info.st_mode) and info.st_mtime > cutoff:
                    continue
                Path(entry.path).unlink()
            except OSError:
                continue
            removed.append(Path(entry.path))
    return removed


def _timed_out(_signum: int, _frame: FrameType | None) -> None:
    raise TimeoutError


def receive(path: Path, *, timeout: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
    """Read the plan from the FIFO (or, from an older engine, the file) at ``path``."""
    previous = signal.signal(signal.SIGALRM, _timed_out)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        # Blocks until the engine opens the other end; the alarm bounds the wait.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(fd)
    except TimeoutError:
        raise PlanError(
            f"no launch plan arrived within {timeout:.0f}s (the ao-tui process that "
            "started this session went away); restore the session to start it again"
        ) from None
    except OSError as exc:
        raise PlanError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        try:
            path.unlink()
        except OSError:
            pass
    try:
        plan = json.loads(b"".join(chunks))
    except ValueError:
        raise PlanError("the launch plan arrived incomplete") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("argv"), list) or not plan["argv"]:
        raise PlanError("the launch plan has no command")
    return plan


def main(args: list[str] | None = None) -> int:
    """Exec the plan's argv; on failure say why in the pane and exit 127."""
    argv = sys.argv[1:] if args is None else args
    if len(argv) != 1:
        print("usage: python -m core.launcher PIPE", file=sys.stderr)
        return 2
    try:
        plan = receive(Path(argv[0]))
    except PlanError as exc:
        print(f"ao-tui launcher: {exc}", file=sys.stderr)
        return 127
    env = {str(k): str(v) for k, v in dict(plan.get("env") or {}).items()}
    command = [str(part) for part in plan["argv"]]
    try:
        os.chdir(str(plan.get("cwd") or "."))
        os.execvpe(command[0], command, env)
    except OSError as exc:
        print(f"ao-tui launcher: cannot start {command[0]!r}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    raise SystemExit(main())
