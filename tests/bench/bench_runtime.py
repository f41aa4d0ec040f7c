"""Runtime benchmarks (issue 10 §6): how soon an exit is recorded, and what idling costs.

- Agent exit -> store: 10 live sessions under the daemon's loop (default timer); one pane's
  process is killed and the clock stops when the reconciler's ``lifecycle`` change is in
  the store. The pane is then respawned for the next sample.
- Processes per idle minute: 10 and 50 settled sessions (idle by a hook, long ago) under
  the daemon's loop. Every ``tmux``, ``git`` and ``ps`` start is counted by wrapper scripts
  put first on PATH, which log their name and exec the real program (the engine runs each
  by name), over one minute after the sessions settled.

Anchors printed beside them: AO (Composio's Agent Orchestrator, its npm packages, same
agent and scenario) and ao-tui before issue 10, measured on main with 10 live sessions.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import Lifecycle
from tests.bench.sandbox import Sandbox, record_claude_sessions, sandbox
from tests.support.exec_count import COUNTED, exec_wrappers

Row = tuple[str, str, str, str]

IDLE_WINDOW = 60.0
"""Seconds of idling counted."""
SETTLE_WAIT = 25.0
"""Seconds given to the sessions to settle before counting (longer than the loop's settle
window, so what is counted is the idle cost, not the last change's)."""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


def _old_stop_hooks(seconds_ago: float) -> list[str]:
    """A hook history that ended with a turn, ``seconds_ago``."""
    at = time.time() - seconds_ago
    body = {"hook_event_name": "Stop", "session_id": "bench", "last_assistant_message": "done"}
    return [json.dumps({"ao_ts": f"{at:.6f}", "payload": body})]


def _pane(engine: Engine, tmux_name: str) -> tuple[str, int, bool]:
    panes = engine.runtime.list_panes()
    pane = panes[tmux_name]
    return pane.pane_id, pane.pane_pid, pane.dead


def bench_exit_to_feed(samples: int = 20) -> list[Row]:
    """Agent process killed -> the reconciler's ``lifecycle`` event in the store."""
    with sandbox() as box:
        engine = box.engine(agent="claude-code")
        sessions = record_claude_sessions(engine, 10, _old_stop_hooks(120))
        latencies: list[float] = []

        async def lifecycle_is(sid: str, want: Lifecycle, limit: float) -> float:
            start = time.perf_counter()
            while True:
                s = await asyncio.to_thread(engine.store.get_session, sid)
                if s is not None and s.lifecycle is want:
                    return time.perf_counter()
                if time.perf_counter() - start > limit:
                    raise AssertionError(f"{sid} never became {want}")
                await asyncio.sleep(0.002)

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.create_task(reconcile_loop(engine, stop, interval=1.0))
            await asyncio.sleep(1.5)
            for i in range(samples):
                target = sessions[i % len(sessions)]
                _pane_id, pid, _dead = await asyncio.to_thread(_pane, engine, target.tmux)
                await asyncio.sleep(0.3)  # the listing that found this pid reaches the watch
                killed = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                seen = await lifecycle_is(target.id, Lifecycle.EXITED, 10)
                latencies.append(seen - killed)
                _respawn(box, target.tmux)
                await lifecycle_is(target.id, Lifecycle.RUNNING, 35)
            stop.set()
            await loop

        asyncio.run(run())
    p50, p95 = _pct(latencies, 0.5) * 1000, _pct(latencies, 0.95) * 1000
    return [
        ("agent exit -> feed (10 live): p50", f"{p50:.0f} ms", "", "AO: 4 s read / 17 s status"),
        (
            "agent exit -> feed (10 live): p95",
            f"{p95:.0f} ms",
            "< 100 ms",
            f"{_ok(p95 < 100)} (before: ~1.0 s tick)",
        ),
    ]


def _respawn(box: Sandbox, tmux_name: str) -> None:
    subprocess.run(
        ["tmux", "-L", box.socket, "respawn-pane", "-k", "-t", f"={tmux_name}:",
         "sleep", "100000"],
        check=True, capture_output=True,
    )  # fmt: skip


def _idle_minute(count: int, *, cockpit: bool = False) -> Counter[str]:
    """What the daemon's loop (or a whole cockpit: its loop, preview and orphan line)
    starts in :data:`IDLE_WINDOW` seconds once ``count`` idle sessions have settled."""
    with sandbox() as box:
        execs = exec_wrappers(box.root)
        os.environ["PATH"] = execs.search_path(os.environ["PATH"])  # the sandbox restores it
        engine = box.engine(agent="claude-code")
        record_claude_sessions(engine, count, _old_stop_hooks(120))
        counted: Counter[str] = Counter()

        def count_window() -> Awaitable[None]:
            async def window() -> None:
                await asyncio.sleep(SETTLE_WAIT)
                before = len(execs.starts())
                await asyncio.sleep(IDLE_WINDOW)
                counted.update(execs.starts()[before:])

            return window()

        async def run() -> None:
            if cockpit:
                from ao_tui.app import CockpitApp

                app = CockpitApp(engine, notify_bell=False, cursor_blink=False)
                async with app.run_test(size=(160, 45)):
                    await count_window()
                return
            stop = asyncio.Event()
            loop = asyncio.create_task(reconcile_loop(engine, stop, interval=1.0))
            await count_window()
            stop.set()
            await loop

        asyncio.run(run())
    return counted


def bench_idle_processes() -> list[Row]:
    """Processes the engine starts in one idle minute, with 10 and 50 sessions."""
    rows: list[Row] = []
    for count in (10, 50):
        counted = _idle_minute(count)
        total = sum(counted.values())
        shown = " + ".join(f"{counted[n]} {n}" for n in COUNTED) or "none"
        anchor = "AO: 75 tmux + 2 ps; before: 58 tmux + 19 git" if count == 10 else ""
        rows.append(
            (f"processes per idle minute ({count} sessions)", shown, "0 + safety tick (<= 4)",
             f"{_ok(total <= 2 * (1 + 1))} {anchor}".rstrip())
        )  # fmt: skip
    counted = _idle_minute(10, cockpit=True)
    shown = " + ".join(f"{counted[n]} {n}" for n in COUNTED) or "none"
    rows.append(
        ("processes per idle minute, cockpit open (10 sessions)", shown,
         "safety tick + preview recheck (<= 6)", _ok(sum(counted.values()) <= 6))
    )  # fmt: skip
    return rows


BENCHMARKS = [bench_exit_to_feed, bench_idle_processes]
