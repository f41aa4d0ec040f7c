"""SVG snapshots of the cockpit at 80x24 and 160x45, from the fixed sample state.

No tmux in these cockpit tests: the runtime is canned, the clock frozen and the cursor
does not blink, so a snapshot only changes when the drawing does. Regenerate with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ao_tui.app import CockpitApp
from core.engine import Engine
from tests.support.canned import with_canned_review
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]
SnapCompare = Callable[..., bool]

# The cockpit as it is while reactions run (its header then says nothing of them); these
# cockpits do not reconcile, so no reactor runs.
pytestmark = pytest.mark.reactions


def then(*keys: str) -> Callable[[Pilot[Any]], Any]:
    """Settle on the sample board, then press ``keys``."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return run


def test_board_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=settle)


def test_board_160x45(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=settle)


def test_preview_of_a_permission_prompt_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    """1 jumps to Needs you, where app-7 waits on a Bash permission prompt."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then("1"))


def test_preview_of_a_working_session_160x45(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=then("5"))


def test_detail_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then("i"))


def test_detail_transcript_160x45(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=then("i", "right"))


def test_send_dialog_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    keys = ("s", *"Yes, go ahead.", "enter", *"Then run make test.")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then(*keys))


def test_send_dialog_160x45(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=then("s", *"hi"))


def test_help_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then("question_mark"))


def test_help_160x45(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 45), run_before=then("question_mark"))


def on_session(session_id: str, *keys: str) -> Callable[[Pilot[Any]], Any]:
    """Settle, put the cursor on ``session_id``, then press ``keys``."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app: Any = pilot.app
        assert app.board.focus_session(session_id)
        await pilot.pause(0.1)
        await pilot.press(*keys)
        await pilot.pause(0.3)

    return run


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_ci_view(
    snap_compare: SnapCompare,
    make_app: MakeApp,
    engine: Engine,
    tmp_path: Path,
    size: tuple[int, int],
) -> None:
    """app-5's CI (canned: the sample has no git repo): pytest failing first, its excerpt."""
    with_canned_review(engine, tmp_path / "ci")
    assert snap_compare(make_app(), terminal_size=size, run_before=on_session("app-5", "c"))


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_merge_dialog(snap_compare: SnapCompare, make_app: MakeApp, size: tuple[int, int]) -> None:
    """app-5 has two blockers: the dialog lists them and offers the override."""
    assert snap_compare(make_app(), terminal_size=size, run_before=on_session("app-5", "m"))


def test_review_threads_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    """app-6's PR has two unresolved threads: the detail's Review tab lists them."""
    assert snap_compare(
        make_app(), terminal_size=(80, 24), run_before=on_session("app-6", "i", "right", "right")
    )
