"""In the cockpit, ``x`` on a merged session leaves it merged, with its merge record.

The runtime is canned (no tmux here); the engine and its store are real.
"""

from __future__ import annotations

from typing import Any

import pytest

from ao_tui.app import CockpitApp
from ao_tui.screens.confirm_kill import ConfirmKillScreen
from ao_tui.screenshots import settle
from core.engine import Engine
from core.models import Lifecycle
from tests.tui.test_actions import MakeApp, record_notifications, select, wait_until


async def test_kill_on_a_merged_session_is_refused_and_it_stays_merged(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = engine.get("app-2")
    assert before.lifecycle is Lifecycle.MERGED
    app: CockpitApp = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("z")  # unfold Done, where merged sessions are
        await pilot.pause()
        await select(pilot, app, "app-2")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmKillScreen)
        await pilot.press("enter")

        def refused() -> Any:
            return [t for t in toasts if "nothing to kill" in t]

        await wait_until(pilot, refused)
        assert refused()[0].startswith("kill app-2 failed: app-2 is merged")
    after = engine.get("app-2")
    assert (after.lifecycle, after.pr) == (Lifecycle.MERGED, before.pr)
