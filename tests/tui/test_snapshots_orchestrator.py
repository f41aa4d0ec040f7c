"""SVG snapshots of the orchestrator's pinned line over the sample board (issue 13).

Like the other cockpit snapshots: canned runtime, frozen clock, no cursor blink, the
orchestrator from :mod:`tests.support.orchestrator`. Regenerate with
``pytest tests/tui/test_snapshots_orchestrator.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from ao_tui.app import CockpitApp
from core.engine import Engine
from core.models import Role
from tests.support.canned import sample_sessions
from tests.support.orchestrator import WAITING, with_orchestrator
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]
SnapCompare = Callable[..., bool]

pytestmark = pytest.mark.reactions


def then(*keys: str) -> Callable[[Pilot[Any]], Any]:
    """Settle on the board, then press ``keys``."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return run


def add_reviewer(engine: Engine) -> None:
    """app-12 reviews app-4's head: a reviewer started from app-4's branch, at work."""
    author = sample_sessions()[3]
    working = sample_sessions()[6]
    reviewer = replace(
        working,
        id="app-12",
        title="Review app-4: Add CSV export to reports",
        branch="ao/app-12-review-app-4",
        base_branch=author.branch,
        tmux="ao-app-12",
        pane_id="%12",
        role=Role.REVIEWER,
        extra={},
    )
    engine.store.insert_session(reviewer, event=("spawned", {"branch": reviewer.branch}))


def test_board_with_the_orchestrator_80x24(
    snap_compare: SnapCompare, make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_board_with_the_orchestrator_and_a_reviewer_160x45(
    snap_compare: SnapCompare, make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    add_reviewer(engine)
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=settle)


def test_orchestrator_needs_you_80x24(
    snap_compare: SnapCompare, make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine, activity=WAITING)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_orchestrator_selected_80x24(
    snap_compare: SnapCompare, make_app: MakeApp, engine: Engine
) -> None:
    """0 selects it: its pane in the preview, the o key in the footer."""
    with_orchestrator(engine)
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then("0"))
