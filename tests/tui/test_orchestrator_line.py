"""The orchestrator in the cockpit: pinned above the zones on its own line, never in a zone.

Canned runtime and frozen clock as the other cockpit tests (tests/tui/conftest.py); the
orchestrator's row and its actions come from :mod:`tests.support.orchestrator`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ao_tui.app import CockpitApp
from ao_tui.screens.confirm_kill import ConfirmKillScreen
from ao_tui.screens.send import SendScreen
from ao_tui.status_table import render_table
from ao_tui.widgets.pinned import PinnedLine
from ao_tui.widgets.zone_counts import count_zones
from core.engine import Engine
from core.models import Activity, ActivityState, Lifecycle, Role, SignalSource
from tests.support.canned import NOW, sample_engine, sample_sessions
from tests.support.orchestrator import (
    ORCHESTRATOR,
    ORCHESTRATOR_SCREEN,
    WAITING,
    orchestrator_session,
    with_orchestrator,
)
from tests.support.orphans import forget_row
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]


def strip_text(app: CockpitApp) -> str:
    return " ".join(str(line.content) for line in app.board.strip.query(PinnedLine))


async def test_no_orchestrator_no_strip(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        strip = app.board.strip
        assert not strip.display
        assert strip.region.height == 0
        assert app.board.pinned_ids == []
        # The board starts right under the header: the strip took no line.
        assert app.board.region.y == app.counts.region.bottom


async def test_the_strip_says_the_last_action_and_follows_new_ones(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        strip = app.board.strip
        assert strip.display
        assert strip.region.height == 1
        text = strip_text(app)
        assert text.startswith("● app-orchestrator working 4m")
        assert "spawned app-10 · 1m ago" in text
        assert len(text) <= 78
        # Its own ao-tui call, logged by it: the line says so once the feed brings it.
        engine.store.actor = ORCHESTRATOR
        engine.store.append_event("app-9", "message", {"result": "queued"})
        await wait_until(pilot, lambda: "sent app-9 a message" in strip_text(app), timeout=5)
        # What the engine saw during its call is no action of its: the line stays.
        engine.store.append_event("app-9", "activity", {"state": "working"})
        engine.store.actor = ""
        engine.store.append_event("app-9", "killed", {})
        await pilot.pause(0.5)
        assert "sent app-9 a message" in strip_text(app)


async def test_the_orchestrator_is_in_no_zone_and_no_count(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine, activity=Activity(ActivityState.IDLE, SignalSource.HOOK, NOW, ""))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert ORCHESTRATOR not in app.board.grouped.row_keys()
        assert count_zones(list(app.sessions.values())) == count_zones(sample_sessions())
        assert "Needs you 3" in str(app.counts.content)  # idle, it is no worker waiting


async def test_selecting_it_shows_its_pane_and_the_keys_act_on_it(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first_card = app.board.selected_id
        assert first_card != ORCHESTRATOR
        await pilot.press("0")
        await wait_until(pilot, lambda: app._last_capture == (ORCHESTRATOR, ORCHESTRATOR_SCREEN))
        assert app.selected_session() is not None
        assert app.selected_session().role is Role.ORCHESTRATOR  # type: ignore[union-attr]
        assert app.preview.session_id == ORCHESTRATOR
        assert app.board.strip.query(PinnedLine).first().has_class("-selected")
        assert not app.board.grouped.show_cursor  # one thing looks selected
        assert app.applies("attach") and app.applies("kill") and app.applies("send")
        # j goes back down to the card it came from; k from the top goes up to it again.
        await pilot.press("j")
        assert app.board.selected_id == first_card
        assert app.board.grouped.show_cursor
        await pilot.press("k")
        assert app.board.selected_id == ORCHESTRATOR
        await pilot.press("x")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ConfirmKillScreen)
        assert app.screen.session.id == ORCHESTRATOR


async def test_a_click_on_its_line_selects_it(make_app: MakeApp, engine: Engine) -> None:
    with_orchestrator(engine)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.click(PinnedLine)
        await pilot.pause(0.1)
        assert app.board.selected_id == ORCHESTRATOR


async def test_o_opens_the_send_dialog_to_the_orchestrator(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.board.focus_session("app-7")
        await pilot.press("o")
        await pilot.pause(0.2)
        assert isinstance(app.screen, SendScreen)
        assert app.screen.session.id == ORCHESTRATOR


async def test_o_without_an_orchestrator_says_so(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, SendScreen)
        said = [n.message for n in app._notifications]
        assert any("no orchestrator" in m for m in said), said


async def test_it_needing_the_operator_turns_the_line_and_is_news_once(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = app.board.strip.query(PinnedLine).first()
        # Idle is what an orchestrator mostly is: no news, no colour.
        engine.store.update_session(
            ORCHESTRATOR, activity=Activity(ActivityState.IDLE, SignalSource.HOOK, NOW, "")
        )
        await wait_until(pilot, lambda: "idle" in strip_text(app), timeout=5)
        await pilot.pause(0.5)
        assert app.toasts.text("needs-you") is None
        assert not line.has_class("-needs-you")
        engine.store.update_session(ORCHESTRATOR, activity=WAITING)
        await wait_until(pilot, lambda: line.has_class("-needs-you"), timeout=5)
        assert "app-orchestrator needs you 1m · permission: Bash git push origin main" in (
            strip_text(app)
        )
        await wait_until(pilot, lambda: app.toasts.text("needs-you") is not None, timeout=5)
        assert "app-orchestrator needs you" in str(app.toasts.text("needs-you"))


def test_status_pins_and_tags_the_orchestrator_and_reviewers() -> None:
    from dataclasses import replace

    workers = sample_sessions()
    reviewer = replace(
        workers[0],
        id="app-12",
        role=Role.REVIEWER,
        base_branch=workers[3].branch,  # started from app-4's branch
        title="Review this diff",
    )
    table = render_table([*workers, reviewer, orchestrator_session()], NOW).splitlines()
    assert table[1].startswith("app-orchestrator  -")
    assert "Orchestrate the" in table[1]
    assert any("[review of app-4" in row for row in table)
    alone = render_table([*workers, reviewer], NOW)
    assert "[review of app-4] Review t" in alone
    waiting = render_table([orchestrator_session(activity=WAITING)], NOW).splitlines()
    assert waiting[1].startswith("app-orchestrator  Needs you")
    assert "asks: Bash: git push origin main" in waiting[2]


def test_the_info_tab_says_it_is_in_no_zone() -> None:
    from ao_tui.screens.detail import zone_shown

    assert zone_shown(orchestrator_session()) == "none: the orchestrator, pinned above the zones"
    assert zone_shown(sample_sessions()[0]) == "Needs you"


async def test_wide_board_k_from_a_column_top_and_a_stopped_orchestrator_leaves(
    make_app: MakeApp, engine: Engine
) -> None:
    with_orchestrator(engine)
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("5")  # Working: app-8 on top
        assert app.board.selected_id == "app-8"
        await pilot.press("k")
        assert app.board.selected_id == ORCHESTRATOR
        assert not app.board.columns[4].table.show_cursor
        await pilot.press("j")
        assert app.board.selected_id == "app-8"
        await pilot.press("k")
        # Stopped on purpose (ao-tui stop): off the board; the selection goes to the cards.
        engine.store.update_session(ORCHESTRATOR, lifecycle=Lifecycle.KILLED)
        await wait_until(pilot, lambda: not app.board.strip.display, timeout=5)
        assert app.board.selected_id == "app-8"
        assert app.board.columns[4].table.show_cursor


async def test_with_no_card_the_orchestrator_is_selected(tmp_path: Path) -> None:
    engine = sample_engine(tmp_path / "empty")
    for session in engine.store.list_sessions():
        forget_row(engine, session.id)
    with_orchestrator(engine)
    app = CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.board.selected_id == ORCHESTRATOR
        await wait_until(pilot, lambda: app._last_capture == (ORCHESTRATOR, ORCHESTRATOR_SCREEN))
