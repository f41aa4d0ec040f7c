"""Cockpit benchmarks (issue: first paint, key to repaint, state change to card, idle CPU).

Each function returns rows of (measurement, value, target, verdict) for the table printed
by ``python -m tests.bench``. The first three drive the cockpit headless with
``App.run_test``; the last runs the real cockpit in a real tmux.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from ao_tui.app import CockpitApp
from ao_tui.widgets.grouped_list import is_header
from core.config import Config, ProjectConfig
from core.engine import Engine
from core.locations import Locations
from core.models import ZONE_ORDER, Activity, ActivityState, SignalSource, WaitingFor, Zone
from core.registry import Registry
from core.zones import zone_of
from tests.bench.bench_foundation import HISTORY, Row, _ok, _pct
from tests.bench.sandbox import record_claude_sessions, sandbox
from tests.support.canned import NOW, CannedRuntime, many_sessions

REPO_ROOT = Path(__file__).resolve().parents[2]


def canned_engine(home: Path, count: int) -> Engine:
    """An engine under ``home`` whose store holds ``count`` sessions, none of them Done.

    No tmux here: a :class:`CannedRuntime` answers for the panes and the sessions are
    inserted straight into the store (as ``canned.sample_engine`` does), so what is
    timed is the cockpit itself, not tmux or an agent. The sessions cycle through the
    sample's states, so every zone but Done has cards; the clock is frozen.
    """
    repo = home / "repo"
    repo.mkdir(parents=True)
    config = Config(
        projects={"app": ProjectConfig(path=repo, session_prefix="app", agent="claude-code")}
    )
    runtime = CannedRuntime()
    registry = Registry()
    registry.register("runtime", "tmux", lambda: runtime)
    engine = Engine(
        config, locations=Locations(home=home / "state"), registry=registry, clock=lambda: NOW
    )
    for session in many_sessions(count):
        sid = session.id
        engine.store.insert_session(session, event=("spawned", {}))
        runtime.live[session.tmux] = session.pane_id
        runtime.screens[session.pane_id] = f"$ echo {sid}\n{sid}\n$ "
    return engine


def _app(engine: Engine, **kwargs: Any) -> CockpitApp:
    return CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False, **kwargs)


class PaintWatch:
    """The first screen update of ``app`` at which a condition holds.

    Wraps the app's ``_display``, which every compositor refresh of the top screen ends in.
    Headless, the composed update is built but not written to a terminal, so the time
    measured stops short of the terminal write (microseconds over a local pty).
    """

    def __init__(self, app: CockpitApp) -> None:
        """Start watching ``app``; nothing is expected until :meth:`expect`."""
        self.app = app
        self.condition: Callable[[], bool] | None = None
        self.met_at: float | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            # During a batch nothing reaches the screen; the refresh after it does.
            if renderable is None or app._batch_count or self.met_at is not None:
                return
            if self.condition is not None and self.condition():
                self.met_at = time.perf_counter()

        setattr(app, "_display", display)  # noqa: B010 - mypy forbids assigning a method

    def expect(self, condition: Callable[[], bool]) -> None:
        """Record the next screen update at which ``condition`` holds."""
        self.met_at = None
        self.condition = condition

    async def wait(self, timeout: float = 5.0) -> float:
        """When the expected screen was shown (perf_counter); fail after ``timeout``."""
        deadline = time.perf_counter() + timeout
        while self.met_at is None:
            if time.perf_counter() > deadline:
                raise AssertionError("the expected screen was never painted")
            await asyncio.sleep(0.001)
        return self.met_at


def cards_shown(app: CockpitApp) -> int:
    """Session rows held by the board's visible view (headers excluded)."""
    board = app.board
    if board.wide:
        return sum(column.table.row_count for column in board.columns)
    return sum(1 for key in board.grouped.row_keys() if not is_header(key))


async def _first_paint(engine: Engine, size: tuple[int, int], count: int) -> float:
    started = time.perf_counter()
    app = _app(engine)
    watch = PaintWatch(app)
    wide = size[0] >= 100
    watch.expect(lambda: app.board.wide == wide and cards_shown(app) == count)
    async with app.run_test(size=size):
        painted = await watch.wait(10.0)
    return painted - started


def bench_first_paint(runs: int = 3) -> list[Row]:
    """From constructing the cockpit to the first screen holding all 50 sessions."""
    rows: list[Row] = []
    with TemporaryDirectory(prefix="ao-bench-") as tmp:
        engine = canned_engine(Path(tmp), 50)
        for size in ((160, 45), (80, 24)):
            times = [asyncio.run(_first_paint(engine, size, 50)) for _ in range(runs)]
            worst = max(times)
            rows.append(
                (
                    f"first paint, 50 sessions, {size[0]}x{size[1]}: median (max of {runs})",
                    f"{statistics.median(times):.2f} s (max {worst:.2f} s)",
                    "< 1.0 s",
                    _ok(worst < 1.0),
                )
            )
    return rows


def _moved_from(app: CockpitApp, before: str | None) -> bool:
    return app.board.selected_id not in (before, None)


async def _key_latencies(engine: Engine, size: tuple[int, int], presses: int) -> list[float]:
    app = _app(engine)
    watch = PaintWatch(app)
    latencies: list[float] = []
    async with app.run_test(size=size) as pilot:
        watch.expect(lambda: cards_shown(app) == 200 and app.board.selected_id is not None)
        await watch.wait(10.0)
        await pilot.pause(0.3)  # the first capture and preview land before timing starts
        for _ in range(presses):
            before = app.board.selected_id
            watch.expect(partial(_moved_from, app, before))
            started = time.perf_counter()
            await pilot.press("j")
            latencies.append(await watch.wait(2.0) - started)
            await pilot.pause(0.02)
    return latencies


def bench_key_to_repaint(presses: int = 50) -> list[Row]:
    """``j`` on a board of 200 sessions: from the key to the screen with the cursor moved.

    The cockpit keeps its timers (pane captures, ages, the safety reload), so presses
    land among them as they would in use. The screen counted is the first that shows the
    moved cursor; the preview's title for the new selection is part of that same update
    (its pane follows with the capture).
    """
    rows: list[Row] = []
    with TemporaryDirectory(prefix="ao-bench-") as tmp:
        # 75 of the 200 are in Needs you, the first zone: 50 presses never hit its end.
        engine = canned_engine(Path(tmp), 200)
        for size in ((160, 45), (80, 24)):
            times = asyncio.run(_key_latencies(engine, size, presses))
            p50, p95 = _pct(times, 0.5) * 1000, _pct(times, 0.95) * 1000
            name = f"j -> repaint, 200 sessions, {size[0]}x{size[1]} ({presses} presses)"
            rows.append((f"{name}: p50", f"{p50:.0f} ms", "", ""))
            rows.append((f"{name}: p95", f"{p95:.0f} ms", "< 50 ms", _ok(p95 < 50)))
    return rows


def _in_zone(app: CockpitApp, session_id: str, zone: Zone) -> bool:
    table = app.board.columns[ZONE_ORDER.index(zone)].table
    return session_id in table.row_keys()


async def _move_latencies(engine: Engine, samples: int) -> list[float]:
    target = next(s for s in engine.list() if zone_of(s) is Zone.WORKING)
    waiting = WaitingFor("permission", "Bash", "rm -rf build")
    states = [
        (
            Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", waiting),
            Zone.NEEDS_YOU,
        ),
        (Activity(ActivityState.WORKING, SignalSource.HOOK, NOW, "Bash: pytest"), Zone.WORKING),
    ]
    app = _app(engine)
    watch = PaintWatch(app)
    latencies: list[float] = []
    async with app.run_test(size=(160, 45)) as pilot:
        watch.expect(lambda: cards_shown(app) == 50 and _in_zone(app, target.id, Zone.WORKING))
        await watch.wait(10.0)
        await pilot.pause(0.3)
        for i in range(samples):
            activity, zone = states[i % 2]
            previous = states[(i + 1) % 2][0]
            data = {
                "state": activity.state.value,
                "previous": previous.state.value,
                "source": activity.source.value,
                "zone": zone.value,
            }
            watch.expect(partial(_in_zone, app, target.id, zone))
            started = time.perf_counter()
            # Written from a thread with no word to the cockpit, as the daemon's reconciler
            # writes from its own process: the cockpit finds it by following the event log.
            await asyncio.to_thread(
                engine.store.update_session,
                target.id,
                event=("activity", data),
                activity=activity,
            )
            latencies.append(await watch.wait(3.0) - started)
            # Spread the samples over the reload timer and the event poll.
            await asyncio.sleep(0.13)
    return latencies


def bench_state_to_card(samples: int = 30) -> list[Row]:
    """A session's activity changing in the store to its card showing in the new zone."""
    with TemporaryDirectory(prefix="ao-bench-") as tmp:
        engine = canned_engine(Path(tmp), 50)
        times = asyncio.run(_move_latencies(engine, samples))
    p50, p95 = _pct(times, 0.5) * 1000, _pct(times, 0.95) * 1000
    name = f"store change -> card in new zone, 50 sessions ({samples} samples)"
    return [
        (f"{name}: p50", f"{p50:.0f} ms", "", ""),
        (f"{name}: p95", f"{p95:.0f} ms", "< 100 ms", _ok(p95 < 100)),
    ]


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found  # it has exited
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(_descendants(int(child)))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its descendants, reaped ones included."""
    ticks = 0
    for proc in _descendants(pid):
        try:
            stat = Path(f"/proc/{proc}/stat").read_text()
        except OSError:
            continue  # it exited between listing and reading
        # Fields after the parenthesised command name; utime is field 14 of stat(5).
        fields = stat.rsplit(")", 1)[1].split()
        ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _tmux(socket: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=True)
    return done.stdout


def bench_idle_cpu(duration: float = 60.0, settle: float = 5.0) -> list[Row]:
    """CPU of the real cockpit process over ``duration`` seconds with 50 live sessions.

    The cockpit runs as ``python -m ao_tui`` in a 160x45 window of a private tmux server;
    with no daemon it takes the engine lease and reconciles the 50 sessions itself. The
    sessions are claude-code records whose panes run ``sleep`` and whose hook logs are
    canned (see ``record_claude_sessions``): the agents cost nothing, the cockpit's reads
    of tmux, hooks and the store are real. The tmux server's own CPU is not counted.
    """
    with sandbox() as box:
        engine = box.engine(agent="claude-code")
        record_claude_sessions(engine, 50, HISTORY)
        cfg = next(box.root.glob("cfg-*/ao.config.yaml"))
        name = "ao-bench-cockpit"
        _tmux(
            box.socket,
            "new-session", "-d", "-s", name, "-x", "160", "-y", "45",
            "-c", str(REPO_ROOT), "-e", f"PYTHONPATH={REPO_ROOT}",
            sys.executable, "-m", "ao_tui", "--config", str(cfg),
        )  # fmt: skip
        pid = int(_tmux(box.socket, "display-message", "-p", "-t", name, "#{pane_pid}"))
        try:
            deadline = time.monotonic() + 20
            # A session id on screen: the cockpit is up and has read the store.
            while "app-1" not in _tmux(box.socket, "capture-pane", "-p", "-t", name):
                if time.monotonic() > deadline:
                    raise AssertionError("the cockpit never showed the sessions")
                time.sleep(0.2)
            time.sleep(settle)
            before = cpu_seconds(pid)
            time.sleep(duration)
            used = cpu_seconds(pid) - before
            if not Path(f"/proc/{pid}").exists():
                raise AssertionError("the cockpit exited during the measurement")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    share = used / duration * 100
    return [
        (
            f"idle CPU, cockpit, 50 live sessions, over {duration:.0f} s",
            f"{share:.1f} % of a core",
            "< 2 %",
            _ok(share < 2),
        )
    ]


BENCHMARKS = [bench_first_paint, bench_key_to_repaint, bench_state_to_card, bench_idle_cpu]
