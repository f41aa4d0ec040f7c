"""The morning report screen: R opens it on the sample board; a snapshot at 80x24, and the
figures it shows are those of ``ao-tui report`` (core.report) for the same store.

Like the other cockpit snapshots: canned runtime, frozen clock, no cursor blink.
Regenerate with ``pytest tests/tui/test_report_screen.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from ao_tui.app import CockpitApp
from ao_tui.screens.report import ReportScreen
from core.engine import Engine
from core.models import ReactionMark
from core.report import build_report, summary
from core.store import _append_event as append_event_at
from tests.support.canned import NOW
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]
SnapCompare = Callable[..., bool]

pytestmark = pytest.mark.reactions


def record_outcomes(engine: Engine) -> None:
    """On the sample: app-5 fails CI twice and escalates; app-2 merged 40 minutes in."""
    store = engine.store
    mark = ReactionMark(
        "ci-failed", "escalated", attempts=2, budget=2, tier=3, reason="CI still failing: pytest"
    )
    escalated = {"key": "ci-failed", "outcome": "escalated", "reason": mark.reason}
    store.update_session("app-5", reaction=mark, event=("reaction", escalated))
    merged = store.get_session("app-2")
    assert merged is not None
    with store.transaction() as db:
        for head in ("a1b2c3", "d4e5f6"):
            append_event_at(db, "app-5", "ci-failed", {"head_sha": head}, NOW - 600)
            append_event_at(db, "app-5", "reaction", {"key": "ci-failed", "outcome": "sent"}, NOW)
            append_event_at(db, "app-5", "message", {"result": "delivered"}, NOW)
        append_event_at(db, "app-2", "merged", {"sha": "abc"}, merged.created_at + 40 * 60)


async def open_report(pilot: Pilot[Any]) -> None:
    """Settle on the board, then press R."""
    await settle(pilot)
    await pilot.press("R")
    await pilot.pause(0.3)


def test_report_screen_80x24(snap_compare: SnapCompare, make_app: MakeApp, engine: Engine) -> None:
    record_outcomes(engine)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=open_report)


async def test_report_screen_shows_the_cli_figures(make_app: MakeApp, engine: Engine) -> None:
    record_outcomes(engine)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_report(pilot)
        screen = app.screen
        assert isinstance(screen, ReportScreen)
        expected = build_report(engine.store, engine.config.report)
        assert screen.report.lines == expected.lines
        assert "escalated (1 CI)" in summary(screen.report)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ReportScreen)
