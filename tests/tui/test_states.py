"""The cockpit says what each state means: who fixes a failing PR, API retries, restores.

Issue 9 items 7, 8 and 10 as the operator meets them: an idle agent whose CI failed moves
from Fixing to Needs you with a toast saying what to do; an agent stuck on API retries
shows ``↻`` and "retrying after API error 7/10"; a session that a restore brings back to its
prompt is shown in Needs you without a toast or a bell. The runtime is canned (no tmux);
the engine and its store are real, changed the way a reconcile tick changes them.
"""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.models import Activity, ActivityState, Lifecycle, SignalSource, Zone
from core.zones import zone_of
from tests.support.canned import NOW
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.test_actions import MakeApp, record_notifications, select


async def test_an_idle_agent_with_failing_ci_leaves_fixing_for_needs_you(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = engine.get("app-5")  # working on its failing CI: Fixing
    assert zone_of(before) is Zone.FIXING
    app = make_app(notify_bell=True, refresh_interval=0.2)
    bells: list[bool] = []
    monkeypatch.setattr(app, "write_raw", lambda _sequence: None)
    monkeypatch.setattr(app, "bell", lambda: bells.append(True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        idle = Activity(ActivityState.IDLE, SignalSource.HOOK, NOW, "Done: bumped httpx")
        engine.store.update_session("app-5", activity=idle)
        await wait_until(pilot, lambda: toasts)
        reason = "CI failed; the agent is idle — send it the failure (c, then s)"
        assert toasts == [f"app-5 needs you: {reason}"]
        assert bells == [True]
        await select(pilot, app, "app-5")
        shown = str(app.preview.waiting.render())
        assert f"Needs you: {reason}" in " ".join(shown.split())
        assert zone_of(app.sessions["app-5"]) is Zone.NEEDS_YOU


async def test_api_retries_show_as_their_own_condition(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        detail = "retrying after API error 7/10"
        engine.store.update_session(
            "app-8", activity=Activity(ActivityState.RETRYING, SignalSource.PANE, NOW, detail)
        )
        await wait_until(pilot, lambda: toasts)
        assert toasts == [f"app-8 needs you: {detail}"]
        await select(pilot, app, "app-8")
        heading = str(app.preview.heading.render())
        assert heading.startswith("↻ app-8 retrying 7/10")
        waiting = " ".join(str(app.preview.waiting.render()).split())
        assert waiting.startswith("Retrying after API error 7/10 the agent retries on its own")


async def test_a_restored_session_back_at_its_prompt_is_shown_not_announced(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(notify_bell=True, refresh_interval=0.2)
    bells: list[bool] = []
    monkeypatch.setattr(app, "write_raw", lambda _sequence: None)
    monkeypatch.setattr(app, "bell", lambda: bells.append(True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        # What a restore of the killed app-3 and its first tick record.
        engine.store.update_session(
            "app-3",
            lifecycle=Lifecycle.RUNNING,
            lifecycle_reason="restored",
            extra={"started_at": NOW, "signals_from": NOW},
            activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, NOW, "restarting"),
        )
        resumed = Activity(ActivityState.IDLE, SignalSource.HOOK, NOW + 1.5, "session resume")
        engine.store.update_session("app-3", activity=resumed)
        await wait_until(pilot, lambda: app.sessions["app-3"].activity.state is resumed.state)
        await pilot.pause(0.6)  # longer than the news gathering
        assert zone_of(app.sessions["app-3"]) is Zone.NEEDS_YOU
        assert toasts == [] and bells == []
        await select(pilot, app, "app-3")
        waiting = " ".join(str(app.preview.waiting.render()).split())
        assert waiting == "Idle: restored: waiting for your next message"
