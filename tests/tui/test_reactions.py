"""Reactions in the cockpit (issue 11): the mark on a card and a row, the preview and Info
lines, the header when reactions do not run, the pause keys, and suggest mode's keys.

The store and the reaction ledger are real (a throwaway SQLite); the runtime is canned, so
a send is a recorded paste into the canned pane (no agent runs in these cockpit tests).
Tests that need reactions to count as on carry the ``reactions`` mark (the cockpit here
does not reconcile, so no reactor runs either way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import DataTable, Static, TextArea

from ao_tui.app import CockpitApp
from ao_tui.screens.detail import DetailScreen, info_table
from ao_tui.screens.send import SendScreen
from ao_tui.widgets.card import CardPalette, LineLayout, card, line
from ao_tui.widgets.reaction_mark import ReactionsView, mark_text
from ao_tui.widgets.zone_counts import right_texts
from core.attention import needs_you_reason
from core.engine import Engine
from core.models import Lifecycle, ReactionMark, Zone
from core.reactions.ledger import ALL, Ledger
from core.zones import zone_of
from tests.support.canned import NOW, CannedRuntime
from tests.support.pilot_waits import wait_until
from tests.support.reaction_marks import (
    SUGGESTED_TEXT,
    acting,
    escalated,
    seed_mark,
    seed_suggestion,
)
from tests.support.screenshots import settle
from tests.tui.test_actions import select

MakeApp = Callable[..., CockpitApp]
PALETTE = CardPalette()


def _plain(session_id: str, engine: Engine, width: int = 40) -> tuple[str, str]:
    session = engine.get(session_id)
    layout = LineLayout.fit(80, 6)
    return card(session, NOW, width, PALETTE).plain, line(session, NOW, layout, PALETTE).plain


@pytest.mark.parametrize(
    ("mark", "shown"),
    [
        (acting(), "↻ ci 1/2"),
        (acting("changes-requested", 1, None), "↻ review 1"),
        (acting("merge-conflicts", 0, None), "↻ conflict"),
        (escalated(), "⚠ ci"),
        (ReactionMark("bugbot-comments", "suggested", 1, 2, 3, "ready", NOW), "✉ bot"),
    ],
)
def test_a_mark_reads_in_a_few_cells(mark: ReactionMark, shown: str, engine: Engine) -> None:
    assert mark_text(mark, PALETTE.style).plain == shown
    seed_mark(engine, "app-9", mark)
    wide, row = _plain("app-9", engine)
    # The card's third line starts with it; the row puts it before the title, so a narrow
    # row cuts the title and never the mark.
    assert wide.splitlines()[2].startswith(f"{shown} · ")
    assert f"{shown} Fix flaky" in row


def test_an_ended_session_shows_no_mark(engine: Engine) -> None:
    # Auto-merge's mark stays on the row after the merge; the card in Done drops it.
    seed_mark(engine, "app-9", acting("approved-and-green", 1, None))
    engine.store.update_session("app-9", lifecycle=Lifecycle.MERGED)
    wide, row = _plain("app-9", engine)
    assert "↻" not in wide and "↻" not in row


def test_no_mark_no_change(engine: Engine) -> None:
    wide, row = _plain("app-9", engine)
    assert "↻" not in wide and "·  Fix" not in row
    assert wide.splitlines()[2].startswith("claude-code")


async def test_the_row_at_80x24_shows_the_mark(make_app: MakeApp, engine: Engine) -> None:
    seed_mark(engine, "app-9", acting())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        row = app.board.grouped.get_row("app-9")
        assert "↻ ci 1/2 Fix flaky" in "".join(str(cell) for cell in row)


def test_info_rows_say_which_reaction_and_why(engine: Engine) -> None:
    seed_mark(engine, "app-9", acting())
    text = _render(info_table(engine.get("app-9"), NOW, "paused for this session"))
    assert "ci-failed: acting, attempt 1 of 2, for 2m" in text
    assert "1: the agent" in text
    assert "CI failed: test_login_timeout" in text
    assert "paused for this session" in text
    assert "reactions" in _render(info_table(engine.get("app-8"), NOW))


def _render(table: Any) -> str:
    from rich.console import Console

    console = Console(width=140, record=True)
    console.print(table)
    return console.export_text()


async def test_preview_and_info_tab_name_the_reaction(make_app: MakeApp, engine: Engine) -> None:
    seed_mark(engine, "app-9", escalated())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-9")
        waiting = str(app.preview.waiting.content)
        assert "⚠ ci  ci-failed: escalated, attempt 2 of 2" in waiting
        assert "CI still failing after 2 fixes" in waiting
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        info = _render(app.screen.query_one("#detail-info", Static).content)
        assert "ci-failed: escalated, attempt 2 of 2, for 5m" in info
        assert "3: you" in info and "CI still failing after 2 fixes" in info


@pytest.mark.reactions
async def test_p_pauses_and_resumes_the_selected_session(make_app: MakeApp, engine: Engine) -> None:
    ledger = Ledger(engine.store)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-9")
        await pilot.press("P")
        await wait_until(pilot, lambda: "app-9" in ledger.paused())
        assert ALL not in ledger.paused()
        await wait_until(pilot, lambda: "app-9" in app.reactions.paused)
        await pilot.pause(0.2)
        assert "reactions paused for this session" in str(app.preview.waiting.content)
        # Paused for one session only: the header stays calm.
        assert "reactions" not in str(app.counts.content)
        await pilot.press("P")
        await wait_until(pilot, lambda: "app-9" not in ledger.paused())

        def said() -> list[object]:
            events = engine.store.events_after(0, limit=500)
            return [e.data.get("outcome") for e in events if e.kind == "reaction"]

        await wait_until(pilot, lambda: said() == ["paused", "resumed"])


@pytest.mark.reactions
async def test_p_takes_back_an_escalation_made_by_hand(make_app: MakeApp, engine: Engine) -> None:
    engine.store.actor = "app-orchestrator"  # as its `ao-tui escalate` would log it
    engine.escalate("app-9", "two agents fix the same bug")
    engine.store.actor = ""
    assert zone_of(engine.get("app-9")) is Zone.NEEDS_YOU
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-9")
        await pilot.press("P")
        await wait_until(pilot, lambda: engine.get("app-9").reaction is None)
        assert "app-9" not in Ledger(engine.store).paused()  # taken back, not paused


@pytest.mark.reactions
async def test_header_says_paused_then_nothing_once_resumed(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "react" not in str(app.counts.content)  # on: nothing said
        await pilot.press("ctrl+r")  # the palette's "reactions: pause … every session"
        await wait_until(pilot, lambda: ALL in Ledger(engine.store).paused())
        await wait_until(pilot, lambda: "paused" in str(app.counts.content))
        assert "Needs you" in str(app.counts.content)  # the counts still fit at 80
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: "paused" not in str(app.counts.content))


async def test_header_says_off_and_why(make_app: MakeApp) -> None:
    # No `reactions` mark: the test environment switches them off with AO_TUI_REACTIONS.
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "reactions off (AO_TUI_REACTIONS=off)" in str(app.counts.content)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = str(app.counts.content)
        assert "react" in header and "off" in header and "Needs you" in header


def test_header_texts_give_way_to_the_reactions_last() -> None:
    view = ReactionsView("off (AO_TUI_REACTIONS=off)")
    both, alone = right_texts(view.header(), ["watching: this cockpit", "watch: this"])
    assert both[0] == "reactions off (AO_TUI_REACTIONS=off) · watching: this cockpit"
    assert both[-1] == "react off · watch: this"
    assert alone == ["react off"]
    assert right_texts(ReactionsView().header(), ["watch: this"]) == [["watch: this"]]


async def test_s_sends_the_suggested_message_as_it_is(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime
) -> None:
    seed_suggestion(engine, "app-10")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        assert "✉ ci" in str(app.preview.waiting.content)
        await pilot.press("S")
        await wait_until(pilot, lambda: ("paste", "%10", SUGGESTED_TEXT) in runtime.calls)
        # The send is recorded once it is over: the ledger row, then the reaction event.
        await wait_until(pilot, lambda: _operator_sends(engine))
    (event,) = _operator_sends(engine)
    assert event.data["text"] == SUGGESTED_TEXT and event.data["outcome"] != "failed"
    send = Ledger(engine.store).sends("app-10")[-1]
    assert send.state == "sent" and send.text == SUGGESTED_TEXT


def _operator_sends(engine: Engine) -> list[Any]:
    events = engine.store.events_after(0, limit=500)
    return [e for e in events if e.kind == "reaction" and e.data.get("by") == "operator"]


async def test_e_opens_the_send_dialog_prefilled_and_sends_the_edit(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime
) -> None:
    seed_suggestion(engine, "app-10")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, SendScreen))
        area = app.screen.query_one(TextArea)
        assert area.text == SUGGESTED_TEXT
        await pilot.press(*" Run make test first.")
        await pilot.press("ctrl+s")
        edited = SUGGESTED_TEXT + " Run make test first."
        await wait_until(pilot, lambda: ("paste", "%10", edited) in runtime.calls)
        await wait_until(pilot, lambda: not isinstance(app.screen, SendScreen))
        await wait_until(pilot, lambda: _operator_sends(engine))
    send = Ledger(engine.store).sends("app-10")[-1]
    assert send.state != "suggested" and "(edited)" in send.detail


async def test_d_drops_the_suggestion_and_leaves_the_session_to_the_operator(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime
) -> None:
    seed_suggestion(engine, "app-10")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        await pilot.press("D")
        await wait_until(pilot, lambda: Ledger(engine.store).suggestion("app-10") is None)
        await wait_until(pilot, lambda: "⚠" in str(app.preview.waiting.content))
    assert not any(call[0] == "paste" for call in runtime.calls)
    mark = engine.get("app-10").reaction
    assert mark is not None and mark.status == "escalated"
    assert mark.reason == "you dropped the suggested ci-failed message"


async def test_suggest_keys_are_offered_only_for_a_suggestion(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        assert not app.applies("send_suggestion") and not app.applies("edit_suggestion")
        assert not app.applies("drop_suggestion")
        await pilot.press("S", "e", "D")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, SendScreen)
        assert not any(call[0] == "paste" for call in runtime.calls)


def test_needs_you_reason_names_the_keys(engine: Engine) -> None:
    seed_suggestion(engine, "app-10")
    assert needs_you_reason(engine.get("app-10")).endswith("send, edit or drop it (S, e, D)")


async def test_events_tab_lists_reaction_events(make_app: MakeApp, engine: Engine) -> None:
    # The sentence for the `reaction` kind is core/event_summary.py's (its fields until
    # that module has one); the tab shows it like any other event, made inert.
    data = {"key": "ci-failed", "outcome": "delivered", "attempt": 1, "budget": 2}
    engine.store.append_event("app-9", "reaction", data)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-9")
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen))
        table = app.screen.query_one("#detail-events", DataTable)
        await wait_until(pilot, lambda: table.row_count > 0)
        rows = [" ".join(map(str, table.get_row_at(i))) for i in range(table.row_count)]
        assert any("reaction" in row and "ci-failed" in row for row in rows), rows
