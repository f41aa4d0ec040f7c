"""The board: zones, the narrow grouped list, movement keys, filter, and diff updates.

No tmux in these unit-level cockpit tests: the sample engine's runtime is canned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events

from ao_tui.app import CockpitApp, matches
from ao_tui.widgets.board import group
from ao_tui.widgets.card import CardPalette, LineLayout, card, line, pr_badge, tokens
from ao_tui.widgets.grouped_list import GroupedList, is_header
from ao_tui.widgets.keyed_table import KeyedTable
from ao_tui.widgets.preview import update_in_place
from ao_tui.widgets.zone_column import ZoneTable
from core.engine import Engine
from core.humanize import age
from core.models import Activity, ActivityState, SessionPR, SignalSource, Zone
from tests.support.canned import NOW, sample_sessions
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle

MakeApp = Callable[..., CockpitApp]


def test_zones_group_sessions_needs_you_longest_waiting_first() -> None:
    groups = dict(group(sample_sessions()))
    assert [s.id for s in groups[Zone.NEEDS_YOU]] == ["app-7", "app-11", "app-9"]
    assert [s.id for s in groups[Zone.READY_TO_MERGE]] == ["app-4"]
    assert [s.id for s in groups[Zone.FIXING]] == ["app-5"]
    assert [s.id for s in groups[Zone.IN_REVIEW]] == ["app-6"]
    assert [s.id for s in groups[Zone.WORKING]] == ["app-8", "app-10"]
    assert {s.id for s in groups[Zone.DONE]} == {"app-2", "app-3"}


def test_card_shows_every_fact_that_is_known() -> None:
    by_id = {s.id: s for s in sample_sessions()}
    palette = CardPalette()
    text = card(by_id["app-5"], NOW, 48, palette).plain.split("\n")
    assert text[0].startswith("● app-5 working 6m") and text[0].endswith("#43 ci ✗")
    assert text[1] == "Upgrade httpx to 0.28"
    assert text[2] == "claude-code · ao/app-5-upgrade-httpx-to-0.28"
    assert tokens(by_id["app-8"].extra) == "48.2k tok $0.61"
    assert tokens({}) == ""
    assert pr_badge(None, palette).plain == ""
    # GitHub could not be asked: the last state with a mark, or "?" when nothing is known.
    stale = SessionPR("ci_failed", number=43, problem="GitHub rate limit reached")
    assert pr_badge(stale, palette).plain == "#43 ci ✗ !"
    assert pr_badge(SessionPR("unknown", problem="no GitHub token"), palette).plain == "PR ? !"
    assert age(59) == "<1m" and age(60) == "1m" and age(3600 + 300) == "1h05m"
    assert age(3 * 86400) == "3d"
    narrow = card(by_id["app-7"], NOW, 12, palette).plain.split("\n")
    assert all(len(row) <= 12 for row in narrow)


def test_grouped_line_fits_80_columns() -> None:
    session = sample_sessions()[0]
    layout = LineLayout.fit(76, 6)
    rendered = line(session, NOW, layout, CardPalette())
    assert rendered.cell_len <= 76
    assert "app-7" in rendered.plain and "41m" in rendered.plain


def test_filter_matches_id_title_or_branch() -> None:
    session = sample_sessions()[0]
    assert matches(session, "APP-7") and matches(session, "legacy") and matches(session, "drop-th")
    assert not matches(session, "httpx")


async def test_narrow_board_is_one_grouped_list(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.board.wide
        grouped = app.board.query_one(GroupedList)
        keys = grouped.row_keys()
        # Every non-empty zone has a header; Done is folded to its header.
        assert keys[0] == "zone:0" and keys[1:4] == ["app-7", "app-11", "app-9"]
        assert "zone:5" in keys and "app-2" not in keys
        assert app.board.selected_id == "app-7"
        header = app.counts.render()
        assert "Needs you 3" in str(header)


async def test_wide_board_has_a_table_per_zone(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.board.wide
        tables = {t.zone: t.row_keys() for t in app.board.query(ZoneTable)}
        assert tables[Zone.NEEDS_YOU] == ["app-7", "app-11", "app-9"]
        assert tables[Zone.WORKING] == ["app-8", "app-10"]
        assert tables[Zone.DONE] == []  # folded
        assert app.focused is app.board.query_one("#zone-0")


async def test_j_k_move_and_headers_are_skipped(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j")
        assert app.board.selected_id == "app-11"
        await pilot.press("j", "j")  # past the "Ready to merge" header
        assert app.board.selected_id == "app-4"
        await pilot.press("k")
        assert app.board.selected_id == "app-9"
        await pilot.press("up", "up", "up")  # the first header is out of reach
        assert app.board.selected_id == "app-7"


async def test_number_keys_jump_to_zones_and_h_l_step_across(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        assert app.board.selected_id == "app-8"
        await pilot.press("3")
        assert app.board.selected_id == "app-5"
        await pilot.press("l")
        assert app.board.selected_id == "app-6"
        await pilot.press("h", "h")
        assert app.board.selected_id == "app-4"
        await pilot.press("tab")
        assert app.board.selected_id == "app-5"
        await pilot.press("6")  # Done is folded: jumping there unfolds it
        assert app.board.selected_id in {"app-2", "app-3"}
        assert Zone.DONE not in app.board.folded
        await pilot.press("1")
        assert app.board.selected_id == "app-7"


async def test_number_keys_in_the_narrow_list(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, expected in (("4", "app-6"), ("2", "app-4"), ("5", "app-8"), ("1", "app-7")):
            await pilot.press(key)
            assert app.board.selected_id == expected, key
        await pilot.press("l")
        assert app.board.selected_id == "app-4"
        await pilot.press("z")
        assert "app-2" in app.board.query_one(GroupedList).row_keys()


async def test_filter_narrows_the_rows_and_escape_clears_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"httpx")
        await pilot.pause()
        session_rows = [k for k in app.board.query_one(GroupedList).row_keys() if not is_header(k)]
        assert session_rows == ["app-5"]
        assert "/httpx 1/10" in str(app.counts.content)
        await pilot.press("enter")
        assert app.board.selected_id == "app-5"
        assert isinstance(app.focused, KeyedTable)
        await pilot.press("escape")
        session_rows = [k for k in app.board.query_one(GroupedList).row_keys() if not is_header(k)]
        assert len(session_rows) == 8  # Done stays folded


class CountingList(GroupedList):
    """Counts the DataTable calls a sync makes."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = {"add": 0, "remove": 0, "update": 0, "clear": 0}

    def add_row(self, *args: Any, **kwargs: Any) -> Any:
        self.counts["add"] += 1
        return super().add_row(*args, **kwargs)

    def remove_row(self, *args: Any, **kwargs: Any) -> None:
        self.counts["remove"] += 1
        super().remove_row(*args, **kwargs)

    def update_cell(self, *args: Any, **kwargs: Any) -> None:
        self.counts["update"] += 1
        super().update_cell(*args, **kwargs)

    def clear(self, columns: bool = False) -> Any:
        self.counts["clear"] += 1
        return super().clear(columns)


async def test_updates_are_diffs_and_keep_the_cursor_on_its_session(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grouped = app.board.query_one(GroupedList)
        spy = CountingList()
        await app.board.mount(spy)
        await pilot.pause()
        sessions = list(app.sessions.values())
        groups = group(sessions)
        spy.show(groups, NOW, CardPalette(), folded={Zone.DONE})
        first = dict(spy.counts)
        assert first["add"] == len(spy.row_keys()) and first["clear"] == 0
        spy.select_key("app-9")
        # One session changes state (app-8 starts waiting) and one disappears.
        changed = [
            replace(s, activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW))
            if s.id == "app-8"
            else s
            for s in sessions
            if s.id != "app-10"
        ]
        spy.show(group(changed), NOW, CardPalette(), folded={Zone.DONE})
        delta = {k: spy.counts[k] - first[k] for k in first}
        assert delta["clear"] == 0
        assert delta["remove"] == 2  # app-10, and the Working header now that it is empty
        assert delta["add"] == 0  # app-8 moved, not re-added
        assert 1 <= delta["update"] <= 4  # app-8's line and the two zone headers' counts
        assert spy.selected_key == "app-9"
        keys = spy.row_keys()
        # app-8 now waits on a prompt: Needs you, above the exited and the idle session.
        assert keys.index("app-8") < keys.index("app-11") < keys.index("app-9")
        assert keys.index("app-9") < keys.index("zone:1")
        assert grouped.row_count > 0


async def test_sessions_changed_in_the_store_reach_the_board(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        engine.store.update_session(
            "app-10", activity=Activity(ActivityState.ERROR, SignalSource.HOOK, NOW, "boom")
        )

        def moved_under_needs_you() -> bool:
            keys = app.board.query_one(GroupedList).row_keys()
            return keys.index("app-10") < keys.index("zone:1")

        await wait_until(pilot, moved_under_needs_you, timeout=2.0)
        assert "Needs you 4" in str(app.counts.content)


def test_needs_you_reason_is_one_short_line() -> None:
    from dataclasses import replace

    from ao_tui.news import REASON_MAX, needs_you_reason

    base = sample_sessions()[0]
    long = "Committed the change.\n\nBut the tests now fail: " + "x" * 200
    session = replace(
        base,
        activity=Activity(ActivityState.IDLE, SignalSource.HOOK, 0.0, long),
        lifecycle=base.lifecycle,
    )
    reason = needs_you_reason(session)
    assert reason == "Committed the change."
    session = replace(
        session, activity=Activity(ActivityState.IDLE, SignalSource.HOOK, 0.0, "y" * 300)
    )
    reason = needs_you_reason(session)
    assert len(reason) == REASON_MAX and reason.endswith("…")


# -- cost of a key press: what a cursor move may and may not touch ---------------------------


async def test_j_moves_selection_and_preview_before_the_next_screen_update(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.board.selected_id == "app-7"
        # Called as the key binding calls it, with no message processed in between: the
        # update that paints the moved cursor must already show the new selection.
        app.board.action_cursor_down()
        assert app.board.selected_id == "app-11"
        assert app.preview.session_id == "app-11"


async def test_cursor_moves_rebuild_the_footer_only_when_its_keys_change(
    make_app: MakeApp, monkeypatch: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        calls: list[str | None] = []
        original = app.refresh_bindings

        def counting() -> None:
            calls.append(app.board.selected_id)
            original()

        monkeypatch.setattr(app, "refresh_bindings", counting)
        actions = ("answer", "attach", "ci", "diff", "kill", "merge", "restore", "send")

        def keys_shown() -> tuple[bool, ...]:
            return tuple(app.applies(a) for a in actions)

        expected, shown = 0, keys_shown()
        for _ in range(8):
            await pilot.press("j")
            if keys_shown() != shown:
                expected, shown = expected + 1, keys_shown()
        assert len(calls) == expected
        assert expected < 8, "the sample has neighbours whose keys are alike"


async def test_a_resize_that_keeps_the_width_redraws_no_table(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        table = app.board.query_one("#zone-0", ZoneTable)
        replays: list[int] = []
        table.remember(lambda: replays.append(1))
        applied: list[int] = []
        original = table.apply_widths

        def counted(width: int) -> None:
            applied.append(width)
            original(width)

        table.apply_widths = counted  # type: ignore[method-assign]
        size = table.size
        # Textual sends a scrolling widget a Resize on every layout of the screen.
        table.on_resize(events.Resize(size, size, size))
        assert applied == [] and replays == []
        await pilot.resize_terminal(140, 45)
        await pilot.pause(0.2)
        assert applied and replays, "a new width re-fits the rows"


async def test_waiting_panel_relayouts_only_when_its_height_changes(
    make_app: MakeApp, monkeypatch: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        waiting = app.preview.waiting
        assert waiting.display  # app-7 waits on a permission prompt
        await pilot.pause()
        layouts: list[bool] = []
        original = waiting.refresh

        def refresh(*regions: Any, layout: bool = False, **kwargs: Any) -> Any:
            layouts.append(layout)
            return original(*regions, layout=layout, **kwargs)

        monkeypatch.setattr(waiting, "refresh", refresh)
        height = waiting.region.height
        update_in_place(waiting, Text("\n".join(f"line {i}" for i in range(height))))
        assert True not in layouts, "same height: a repaint only"
        update_in_place(waiting, Text("\n".join(f"line {i}" for i in range(height + 1))))
        assert True in layouts
