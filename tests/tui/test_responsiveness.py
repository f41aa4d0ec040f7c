"""The cockpit stays responsive: slow engine calls never block keys; big boards stay fast.

No tmux in these unit-level cockpit tests: the runtime is canned. The slow test wraps the
store and runtime calls with a one-second sleep, standing in for a wedged tmux or a
locked database.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual import events

from ao_tui.app import CockpitApp
from ao_tui.messages import SessionsLoaded
from ao_tui.widgets.grouped_list import GroupedList, is_header
from core.engine import Engine
from core.models import (
    Activity,
    ActivityState,
    Session,
    SignalSource,
    WaitingFor,
)
from core.tick_policy import settled
from tests.support.canned import NOW, CannedRuntime, many_sessions, sample_engine
from tests.support.pilot_waits import pause_until, wait_until
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]


def slowed(call: Callable[..., Any], delay: float = 1.0) -> Callable[..., Any]:
    """``call`` after sleeping ``delay`` seconds (in whatever thread calls it)."""

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(delay)
        return call(*args, **kwargs)

    return slow


async def test_keys_answer_while_a_slow_refresh_runs(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("list_sessions", "events_after", "get_session"):
        monkeypatch.setattr(engine.store, name, slowed(getattr(engine.store, name)))
    for name in ("capture", "list_panes"):
        monkeypatch.setattr(runtime, name, slowed(getattr(runtime, name)))
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pause_until(pilot, lambda: app.sessions, timeout=3.0)
        assert app.board.selected_id == "app-7"
        app.request_reload()  # a one-second read of the store starts in a thread
        await pilot.pause(0.05)
        assert app._reload_running
        for expected in ("app-11", "app-9", "app-4"):
            # Pilot.press waits for the whole process to go idle, which the slow threads
            # never let it do; the key's latency is from its arrival to the new selection.
            started = time.perf_counter()
            key = events.Key("j", "j")
            key.set_sender(app)
            app.post_message(key)
            while app.board.selected_id != expected and time.perf_counter() - started < 2:
                await asyncio.sleep(0.002)
            elapsed = time.perf_counter() - started
            assert app.board.selected_id == expected
            # Every engine call takes 1 s here: a board waiting on one would take that long.
            # The margin below it absorbs a loaded CI machine; the p95 is in tests/bench.
            assert elapsed < 0.5, f"j took {elapsed * 1000:.0f} ms"
        assert app._reload_running  # the slow read was in flight the whole time


def big_engine(home: Path, count: int) -> Engine:
    """The sample engine plus ``count`` more sessions."""
    runtime = CannedRuntime()
    engine = sample_engine(home, runtime)
    for session in many_sessions(count):
        engine.store.insert_session(session, event=("spawned", {}))
        runtime.live[session.tmux] = session.pane_id
        runtime.screens[session.pane_id] = f"$ echo {session.id}\n{session.id}\n$ "
    return engine


async def test_first_paint_with_50_sessions_is_well_under_a_second(tmp_path: Path) -> None:
    app = CockpitApp(
        big_engine(tmp_path, 40), reconcile=False, notify_bell=False, cursor_blink=False
    )
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        while len(app.sessions) < 50 and time.perf_counter() - started < 5:
            await pilot.pause(0.01)
        await pilot.pause()
        elapsed = time.perf_counter() - started
    assert len(app.sessions) == 50
    assert elapsed < 1.0, f"first paint took {elapsed:.2f} s"


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_200_sessions_update_by_diff_quickly(tmp_path: Path, size: tuple[int, int]) -> None:
    engine = big_engine(tmp_path, 190)
    app = CockpitApp(
        engine, reconcile=False, notify_bell=False, cursor_blink=False, refresh_interval=60
    )
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        sessions = list(app.sessions.values())
        assert len(sessions) == 200
        # A tick where a tenth of the sessions change state and every age moves on.
        changed = [
            replace(s, activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW))
            if i % 10 == 0
            else s
            for i, s in enumerate(sessions)
        ]
        timings = []
        # Ages move on by a minute each time: every row's text changes (the worst tick).
        for now in (NOW + 60, NOW + 120, NOW + 180, NOW + 240, NOW + 300):
            started = time.perf_counter()
            app.board.show(changed, now)
            timings.append(time.perf_counter() - started)
            await pilot.pause()
        shown = [f"{t * 1000:.0f} ms" for t in timings]
        # The median bounds the usual cost; the max only catches a pathological one, as a
        # busy 2-core CI box can stall any single call.
        assert statistics.median(timings) < 0.1, shown
        assert max(timings) < 0.5, shown
        if size == (80, 24):
            rows = [k for k in app.board.query_one(GroupedList).row_keys() if not is_header(k)]
            assert len(rows) == 198  # every session but the two folded under Done


# -- following the store: per-row updates, ordering, announcements -------------------------


def _waiting(command: str) -> Activity:
    waiting = WaitingFor("permission", "Bash", command)
    return Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", waiting)


def _event(activity: Activity) -> tuple[str, dict[str, Any]]:
    return ("activity", {"state": activity.state.value, "zone": "needs_you"})


_until = partial(wait_until, timeout=10.0, interval=0.02)
"""Waits on the follower, whose changes land fast: checked more often than the default."""


async def test_a_change_committed_elsewhere_reloads_only_its_session(
    make_app: Callable[..., CockpitApp], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(refresh_interval=60)  # no safety reload during the test
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        full_reads: list[int] = []
        row_reads: list[str] = []
        list_sessions, get_session = engine.store.list_sessions, engine.store.get_session

        def counted_list() -> list[Session]:
            full_reads.append(1)
            return list_sessions()

        def counted_get(session_id: str) -> Session | None:
            row_reads.append(session_id)
            return get_session(session_id)

        monkeypatch.setattr(engine.store, "list_sessions", counted_list)
        monkeypatch.setattr(engine.store, "get_session", counted_get)
        activity = _waiting("make deploy")
        # From a thread and with no word to the cockpit, as another process would write.
        await asyncio.to_thread(
            engine.store.update_session, "app-8", event=_event(activity), activity=activity
        )
        needs_you = app.board.columns[0].table
        await _until(pilot, lambda: "app-8" in needs_you.row_keys())
        assert full_reads == [], "a change is applied to its row, not by reading every session"
        assert row_reads == ["app-8"]
        assert "app-8" not in app.board.columns[4].table.row_keys()  # left Working


async def test_an_older_full_read_never_replaces_a_newer_row(
    make_app: Callable[..., CockpitApp], engine: Engine
) -> None:
    app = make_app(refresh_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        stale = engine.list()  # what a full reload that began first read
        app._reload_running = True
        app._reload_ticket = app._next_ticket()
        newer = replace(app.sessions["app-8"], activity=_waiting("make deploy"))
        app._apply_changes({"app-8": newer}, app._next_ticket())  # a later per-row read
        app.post_message(SessionsLoaded(stale, NOW))  # ... lands after it
        await _until(pilot, lambda: not app._reload_running)
        assert app.sessions["app-8"] is newer
        assert app.sessions["app-10"] == next(s for s in stale if s.id == "app-10")


async def test_sessions_arriving_one_commit_at_a_time_are_one_announcement(
    make_app: Callable[..., CockpitApp], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(notify_bell=True, refresh_interval=60)
    bells: list[bool] = []
    toasts: list[str] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(True))
    monkeypatch.setattr(app, "write_raw", lambda _sequence: None)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        original = app.notify

        def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
            toasts.append(f"{title}: {message}")
            original(message, title=title, **kwargs)

        monkeypatch.setattr(app, "notify", notify)
        # One reconcile tick moving five sessions writes five commits, which the follower
        # may read one by one: five pieces, applied as they come.
        for number, sid in enumerate(("app-8", "app-10", "app-4", "app-5", "app-6")):
            activity = _waiting(f"step {number}")
            row = engine.store.update_session(sid, event=_event(activity), activity=activity)
            app._apply_changes({sid: row}, app._next_ticket())
        assert toasts == [], "gathered, not told piece by piece"
        await _until(pilot, lambda: bool(bells))
        await pilot.pause(0.5)
        assert bells == [True]
        # One line for the news, not a stack of toasts over the preview.
        assert toasts == ["5 sessions need you: app-8, app-10, app-4, app-5, app-6"]


async def test_an_unchanged_safety_reload_leaves_the_board_alone(
    make_app: Callable[..., CockpitApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(refresh_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        redraws: list[int] = []
        original = app.refresh_view

        def counted() -> None:
            redraws.append(1)
            original()

        monkeypatch.setattr(app, "refresh_view", counted)
        app.request_reload()
        await _until(pilot, lambda: not app._reload_running)
        assert redraws == []


async def test_the_heap_is_frozen_only_while_a_cockpit_runs(
    make_app: Callable[..., CockpitApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _until(pilot, lambda: gc.get_freeze_count() > 0)
    assert gc.get_freeze_count() == 0


async def test_a_quiet_pane_is_not_captured_again(
    make_app: Callable[..., CockpitApp], runtime: CannedRuntime
) -> None:
    """tmux's listing says whether the pane wrote anything since the last capture began:
    while it did not, the shown screen is current and no capture (a fork) is made."""
    quiet: dict[str, bool] = {"now": False}
    since: list[float] = []

    def quiet_since(pane_id: str, started: float) -> bool:
        since.append(started)
        return quiet["now"]

    runtime.quiet_since = quiet_since  # type: ignore[attr-defined]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")  # a working session: only the runtime can say it is quiet
        await settle(pilot)
        selected = app.selected_session()
        assert selected is not None and not settled(selected, app.engine.clock())

        def captures() -> int:
            return sum(1 for call in runtime.calls if call[0] == "capture")

        quiet["now"] = True
        # A capture begun before the pane went quiet may still land: let it, then count.
        await pilot.pause(1.0)
        before = captures()
        await pilot.pause(2.5)  # ten capture ticks, past the longest back-off
        assert captures() == before
        assert since and all(s <= time.time() for s in since)
        quiet["now"] = False  # the pane wrote something
        await _until(pilot, lambda: captures() > before)


async def test_the_follower_comes_back_after_a_failed_read_and_misses_nothing(
    make_app: Callable[..., CockpitApp], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read of the feed that fails (a stand-in for a database error: the real ones cannot
    be made to strike one read) ends the follower; it comes back and changes still land."""
    app = make_app(refresh_interval=60)  # no safety reload during the test
    real = engine.feed.read
    failures: list[int] = []

    def failing_once(after: int, **kwargs: Any) -> Any:
        if not failures:
            failures.append(after)
            raise OSError("disk I/O error")
        return real(after, **kwargs)

    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(engine.feed, "read", failing_once)
        first = _waiting("first")
        engine.store.update_session("app-10", event=_event(first), activity=first)
        await _until(pilot, lambda: bool(failures))
        # Written while no follower runs: the restarted one (or its resync) must show it.
        second = _waiting("second")
        engine.store.update_session("app-4", event=_event(second), activity=second)
        await _until(pilot, lambda: app.sessions["app-4"].activity == second)
        assert app.sessions["app-10"].activity == first
        assert app.is_running
        # And the follower is back: the next change arrives by itself.
        third = _waiting("third")
        engine.store.update_session("app-5", event=_event(third), activity=third)
        await _until(pilot, lambda: app.sessions["app-5"].activity == third)


async def test_a_settled_session_is_not_captured_again_for_a_while(
    make_app: Callable[..., CockpitApp], runtime: CannedRuntime
) -> None:
    """While every session is settled the loop lists no panes, so tmux cannot say whether a
    pane wrote: a settled agent's screen changes with news it reports, so the shown screen
    stands (for up to SETTLED_RECHECK seconds) and no capture is made."""
    runtime.quiet_since = lambda pane_id, started: False  # type: ignore[attr-defined]
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        selected = app.selected_session()
        assert selected is not None and settled(selected, app.engine.clock())

        def captures() -> int:
            return sum(1 for call in runtime.calls if call[0] == "capture")

        await _until(pilot, lambda: captures() > 0)
        await pilot.pause(0.5)
        before = captures()
        await pilot.pause(2.5)  # ten capture ticks, past the longest back-off
        assert captures() == before
