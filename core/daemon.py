"""The reconcile loop run by whichever process holds the engine lease.

A file watch over a few roots (the hook logs under AO_TUI_HOME and the agent transcript
and status dirs; see :mod:`core.activity.watch`) wakes a tick within milliseconds of a hook
line and costs nothing while the agents are quiet; a timer tick every ``interval`` catches
what no file shows (a pane dying, the tmux server going away).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from core.activity.watch import watch_dirs
from core.engine import Engine
from core.errors import AoError
from core.lifecycle import PR_INTERVAL
from core.models import Event

MIN_GAP = 0.02
"""Shortest time between the starts of two ticks, so a burst of writes is read at once."""


def watch_roots(engine: Engine) -> list[Path]:
    """Directories whose changes mean an agent did something (existing ones only).

    Each project's agents may run with their own ``HOME`` or config dir (its env), so each
    installed agent plugin names the dirs it writes to under each project's env: the same
    ones it reads. A session may run any installed agent (``spawn --agent``), hence all.
    """
    dirs: set[Path] = set()
    for name in engine.registry.names("agent"):
        try:
            agent = engine.agent(name)
        except (AoError, ImportError):
            continue  # a plugin that cannot load runs no session to watch
        for project in engine.config.projects.values():
            dirs.update(agent.signal_dirs(project.env))
    candidates = [engine.locations.sessions_root, *sorted(dirs)]
    return [p for p in candidates if p.is_dir()]


def is_signal(name: str) -> bool:
    """Whether a change to the file ``name`` under the watched roots may be an agent's.

    A session's state dir also holds the logs of the CI runs ao-tui starts itself, which a
    test suite writes to continuously; waking a tick for each write would spin the loop.
    """
    return not (name.startswith("ci-") and name.endswith((".log", ".json")))


async def reconcile_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    interval: float = 1.0,
    on_events: Callable[[list[Event]], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
) -> None:
    """Tick on every watched change and at least every ``interval`` seconds until ``stop``.

    A tick that fails (tmux gone, the database locked past its timeout) is handed to
    ``on_error`` (else raised) and the loop carries on: the next tick may well succeed, and
    a cockpit that stopped reconciling for good would show a frozen board.
    """
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    watcher = asyncio.create_task(
        watch_dirs(lambda: watch_roots(engine), wake.set, stop, recursive=True, accept=is_signal)
    )
    try:
        while not stop.is_set():
            # Cleared before the tick, not after: a line written while the tick runs may
            # come after its file was read, and must bring the next tick at once.
            wake.clear()
            started = loop.time()
            try:
                events = await asyncio.to_thread(engine.reconcile, pr_interval=PR_INTERVAL)
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(exc)
                events = []
            if events and on_events is not None:
                on_events(events)
            stop_wait = asyncio.create_task(stop.wait())
            wake_wait = asyncio.create_task(wake.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()
            # One tool call writes a hook line, a transcript line and a status file within
            # milliseconds: ticks closer than MIN_GAP would read them one by one.
            rest = started + MIN_GAP - loop.time()
            if rest > 0 and not stop.is_set():
                await asyncio.sleep(rest)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
