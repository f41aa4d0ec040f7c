"""SVG snapshots of what a new user meets first: the empty board, the new-session form,
the help scrolled to its legend, the detail's Events and Info tabs.

Same canned state and frozen clock as :mod:`tests.tui.test_snapshots`; event times are
shown in local time, so the clock's zone is pinned to UTC here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ao_tui.app import CockpitApp
from ao_tui.watching import THIS_COCKPIT
from tests.support.pilot_waits import pause_until
from tests.tui.test_polish import empty_engine
from tests.tui.test_snapshots import on_session, then

MakeApp = Callable[..., CockpitApp]
SnapCompare = Callable[..., bool]

# The cockpit as it is while reactions run (its header then says nothing of them); these
# cockpits do not reconcile, so no reactor runs.
pytestmark = pytest.mark.reactions


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Event times in UTC whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def first_run(pilot: Pilot[Any]) -> None:
    """Wait for the first read of the (empty) store."""
    app: Any = pilot.app
    await pause_until(pilot, lambda: app.first_run.display, timeout=5.0)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_first_run_board(snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int]) -> None:
    # The header is pinned as make_app pins it: a cockpit that does not reconcile would
    # otherwise show whatever its lease check found by the time of the picture.
    app = CockpitApp(
        empty_engine(tmp_path),
        reconcile=False,
        notify_bell=False,
        cursor_blink=False,
        watching=THIS_COCKPIT,
    )
    assert snap_compare(app, terminal_size=size, run_before=first_run)


def test_new_session_form_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    """The task has the focus (bright border); the other fields are dimmer boxes."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then("N", *"Fix it"))


def test_help_legend_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    keys = ("question_mark", "pagedown", "pagedown")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=then(*keys))


def test_detail_events_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    keys = ("i", "right", "right", "right")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=on_session("app-5", *keys))


def test_detail_info_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    keys = ("i", "right", "right", "right", "right")
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=on_session("app-5", *keys))


def test_board_footer_80x24(snap_compare: SnapCompare, make_app: MakeApp) -> None:
    """app-5 has a PR: more keys apply than fit; help and quit stay, … marks the cut."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=on_session("app-5"))
