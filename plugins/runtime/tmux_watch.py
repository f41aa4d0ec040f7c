"""Agent exits and the tmux server going away, told by the kernel the moment they happen.

The tmux runtime's :class:`~core.slots.RuntimeWatch`: one Linux pidfd per live pane's
process and one for the tmux server, registered with the event loop. A pidfd turns
readable when its process exits; nothing runs, polls or attaches while none does.

Why pidfds and not tmux's own notifications (measured with tmux 3.3a, see
``tests/bench/bench_runtime.py`` and the module's tests):

- A control-mode client (``tmux -C``) has to be attached to a session. It then counts in
  that session's ``session_attached`` (which decides when a window gets its size back and
  shows in ``tmux ls``), it gets ``%output`` and subscriptions for that one session only,
  and tmux sends it no notification at all when a pane dies under ``remain-on-exit`` (the
  window stays, so no ``%window-close``): a hook would still have to reach it. It is also
  one more long-lived process per engine that must be found and killed after a SIGKILL.
- Hooks (``pane-died``, ``session-closed``) reach a FIFO only through ``run-shell``: a shell
  per event, from a command string, and they must be installed into every session (the
  operator's own server included when no private socket is set). They cannot say that the
  server itself died.
- A pidfd costs one descriptor per agent and nothing else: no process is started, nothing
  is attached or installed on the operator's server, nothing outlives the engine (the
  kernel closes the descriptors with it), and the exit is seen within a millisecond.

The pidfd fires when the process exits, a moment before tmux reaps it and marks its pane
dead, so the wake waits for the reaping (the pid leaving ``/proc``) before it is sent, and
sends a few more within a third of a second in case tmux marked the pane dead later.
Which pids to watch comes from the runtime's own ``list-panes`` (the reconcile tick's), so
a restarted server is watched again from the first listing that finds it. A session killed
while its process survives (it ignores SIGHUP) is left to the reconcile loop's safety tick.

Where pidfds are missing (not Linux, a kernel before 5.3) :func:`watch_exits` returns at
once, and the reconcile loop keeps its short timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

Subscribe = Callable[[Callable[[Mapping[str, int], int], None]], Callable[[], None]]
"""Registers a listener for every pane listing, called with the live sessions' pane pids and
the server's pid (0: no server), from any thread, and at once with the last listing;
returns the function that unregisters it."""

REAP_WAIT = 0.02
"""Longest wait, after a process exits, for tmux to reap it before waking anyway: tmux
misses a SIGCHLD now and then (see :meth:`TmuxRuntime.list_panes`), and then the pane shows
dead while its process stays a zombie until the listing nudges the server."""
REAP_POLL = 0.001
"""Seconds between two looks at ``/proc`` while tmux has not yet reaped an exited pane."""
LATER_LOOKS = (0.03, 0.1, 0.3)
"""Seconds after the first wake for a pane's death at which more are sent: tmux may see the
pane's terminal close a moment after it reaped the process, and a tick already running when
the first wake came may have listed the pane before either."""

SERVER = ""
"""The key of the server's own process among the watched ones."""


def pidfds_available() -> bool:
    """Whether this system can watch a process's exit through a pidfd."""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        fd = os.pidfd_open(os.getpid())
    except OSError:
        return False
    os.close(fd)
    return True


class ExitWatch:
    """The pidfds of one watch: which process each belongs to, and what to wake."""

    def __init__(self, wake: Callable[[str | None], None]) -> None:
        """Watch nothing yet; ``wake`` gets the session whose process exited (None: all)."""
        self._wake = wake
        self._loop = asyncio.get_running_loop()
        self._fds: dict[tuple[str, int], int] = {}
        """(session name or :data:`SERVER`, pid) to its pidfd."""
        self._pending: set[asyncio.Task[None]] = set()

    def update(self, pids: Mapping[str, int], server_pid: int) -> None:
        """Watch exactly ``pids`` and the server's ``server_pid`` (call in the loop's thread)."""
        wanted = {(name, pid) for name, pid in pids.items() if pid > 0}
        if server_pid > 0:
            wanted.add((SERVER, server_pid))
        for key in set(self._fds) - wanted:
            self._forget(key)
        for key in wanted - set(self._fds):
            try:
                fd = os.pidfd_open(key[1])
            except ProcessLookupError:
                self._exited(key)  # gone between the listing and now: that is news too
                continue
            except OSError:
                continue  # out of descriptors: the safety tick still sees this one
            self._fds[key] = fd
            self._loop.add_reader(fd, self._readable, key)

    def _readable(self, key: tuple[str, int]) -> None:
        self._forget(key)
        self._exited(key)

    def _forget(self, key: tuple[str, int]) -> None:
        fd = self._fds.pop(key, None)
        if fd is not None:
            self._loop.remove_reader(fd)
            with contextlib.suppress(OSError):
                os.close(fd)

    def _exited(self, key: tuple[str, int]) -> None:
        name, pid = key
        if name == SERVER:
            self._wake(None)  # every pane went with it; nothing to wait for
            return
        task = self._loop.create_task(self._after_reap(name, pid))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _after_reap(self, name: str, pid: int) -> None:
        """Wake once tmux has reaped ``pid`` (so the listing shows the pane dead), and again
        at :data:`LATER_LOOKS`."""
        proc = Path(f"/proc/{pid}")
        deadline = self._loop.time() + REAP_WAIT
        while proc.exists() and self._loop.time() < deadline:
            await asyncio.sleep(REAP_POLL)
        self._wake(name)
        waited = 0.0
        for delay in LATER_LOOKS:
            await asyncio.sleep(delay - waited)
            waited = delay
            self._wake(name)

    def close(self) -> None:
        """Close every pidfd and cancel the wakes still waiting."""
        for key in list(self._fds):
            self._forget(key)
        for task in list(self._pending):
            task.cancel()


async def watch_exits(
    subscribe: Subscribe, wake: Callable[[str | None], None], stop: asyncio.Event
) -> None:
    """Wake on every exit of a listed pane's process or of the server, until ``stop``.

    Returns at once, watching nothing, where pidfds are not available.
    """
    if not pidfds_available():
        return
    loop = asyncio.get_running_loop()
    watch = ExitWatch(wake)

    def listed(pids: Mapping[str, int], server_pid: int) -> None:
        # Listings come from the reconcile tick's worker thread.
        with contextlib.suppress(RuntimeError):  # the loop closed: the watch is over
            loop.call_soon_threadsafe(watch.update, dict(pids), server_pid)

    unsubscribe = subscribe(listed)
    try:
        await stop.wait()
    finally:
        unsubscribe()
        watch.close()
