"""In the cockpit, a merged session offers neither ``x`` nor ``r``; pressed anyway, they say why.

A merged session used to offer kill: its record became ``killed`` and ``r`` then started
the agent again on the merged branch. The runtime is canned (no tmux here); the engine and
its store are real.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ao_tui.app import CockpitApp
from core.engine import Engine
from core.models import Lifecycle, SessionPR
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.conftest import Recorder
from tests.tui.test_actions import MakeApp, record_notifications, select


async def test_x_and_r_are_not_offered_on_a_merged_session_and_say_why(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = engine.get("app-2")
    assert before.lifecycle is Lifecycle.MERGED
    kill, restore = Recorder(), Recorder()
    monkeypatch.setattr(engine, "kill", kill)
    monkeypatch.setattr(engine, "restore", restore)
    app: CockpitApp = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("z")  # unfold Done, where merged sessions are
        await pilot.pause()
        await select(pilot, app, "app-2")
        keys = set(app.screen.active_bindings)
        assert "x" not in keys and "r" not in keys
        assert app.check_action("kill", ()) is False
        assert app.check_action("restore", ()) is False
        await pilot.press("x")
        await pilot.press("r")

        def said() -> Any:
            return len(toasts) >= 2

        await wait_until(pilot, said)
        assert app.screen is app.screen_stack[0]  # no kill dialog opened
        assert toasts == [
            "kill: not offered: app-2 is merged: nothing left to kill",
            "restore: not offered: app-2 is merged: its work has landed; N starts a new session",
        ]
    assert (kill.calls, restore.calls) == ([], [])
    assert engine.get("app-2") == before


async def test_a_pr_merged_on_the_host_is_closed_too(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Killed, then its PR merged on GitHub: restore must not bring it back either.
    killed = engine.get("app-3")
    merged_pr = SessionPR("merged", number=44)
    engine.store.update_session(killed.id, pr=merged_pr)
    app: CockpitApp = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("z")
        await pilot.pause()
        await select(pilot, app, "app-3")
        assert "r" not in set(app.screen.active_bindings)
        await pilot.press("r")
        await wait_until(pilot, lambda: toasts)
        assert toasts == [
            "restore: not offered: app-3 is merged: its work has landed; N starts a new session"
        ]
        # The CLI's refusal says it in full (tests/integration/test_merged_sessions.py).


async def test_r_on_a_killed_session_still_restores(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    restored = replace(engine.get("app-3"), attempt=2, extra={"restore": {"notes": ["back"]}})
    restore = Recorder(result=restored)
    monkeypatch.setattr(engine, "restore", restore)
    app: CockpitApp = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("z")
        await pilot.pause()
        await select(pilot, app, "app-3")
        assert "r" in set(app.screen.active_bindings)
        await pilot.press("r")
        await wait_until(pilot, lambda: restore.calls and toasts)
        assert toasts == ["app-3: restored (attempt 2); back"]
