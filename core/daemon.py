"""The reconcile loop run by whichever process holds the engine lease.

One ``watchfiles.awatch`` over a few roots (the hook logs under AO_TUI_HOME and the agent
transcript dirs) wakes a tick within milliseconds of a hook line; a timer tick every
``interval`` catches what no file shows (a pane dying, the tmux server going away).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from core.activity.claude_paths import claude_config_dir
from core.engine import Engine
from core.lifecycle import PR_INTERVAL
from core.models import Event


def watch_roots(engine: Engine) -> list[Path]:
    """Directories whose changes mean an agent did something (existing ones only).

    Each project's agents may run with their own ``HOME``/``CLAUDE_CONFIG_DIR`` (its env), so
    the Claude dirs are those the agents write to, the same ones the plugin reads.
    """
    claude_dirs = {claude_config_dir(p.env) for p in engine.config.projects.values()}
    candidates = [engine.locations.sessions_root]
    for claude_dir in sorted(claude_dirs):
        candidates += [claude_dir / "projects", claude_dir / "sessions"]
    return [p for p in candidates if p.is_dir()]


async def reconcile_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    interval: float = 1.0,
    on_events: Callable[[list[Event]], None] | None = None,
) -> None:
    """Tick on every watched change and at least every ``interval`` seconds until ``stop``."""
    wake = asyncio.Event()
    watcher = asyncio.create_task(_watch(engine, wake, stop))
    try:
        while not stop.is_set():
            events = await asyncio.to_thread(engine.reconcile, pr_interval=PR_INTERVAL)
            if events and on_events is not None:
                on_events(events)
            wake.clear()
            stop_wait = asyncio.create_task(stop.wait())
            wake_wait = asyncio.create_task(wake.wait())
            await asyncio.wait(
                {stop_wait, wake_wait}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
            )
            stop_wait.cancel()
            wake_wait.cancel()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _watch(engine: Engine, wake: asyncio.Event, stop: asyncio.Event) -> None:
    # Imported here: watchfiles loads a native extension, which status --json never needs.
    from watchfiles import awatch

    while not stop.is_set():
        roots = watch_roots(engine)
        if not roots:
            await asyncio.sleep(1.0)
            continue
        # step=10 ms: the default 50 ms step and 1600 ms debounce would eat the latency
        # budget for a hook line reaching the board.
        async for _changes in awatch(*roots, stop_event=stop, step=10, debounce=50, recursive=True):
            wake.set()
            # A new claude projects dir may appear after we started: rewatch then.
            if set(watch_roots(engine)) != set(roots):
                break
