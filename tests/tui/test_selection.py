"""One selection, by session id: it follows the session acted on, in both layouts, always.

Every session action is pressed in the narrow (80x24) and the wide (160x45) layout; after
it, and after a resize through the ~100-column breakpoint and back, the selected session,
the visible cursor and the preview must all be on the session the operator acted on —
wherever its card moved (an answered prompt goes to Working, a kill to Done). Before, the
wide board left its cursor on the row, so the next ``y`` approved the card that slid under
it, a prompt the operator never saw.

No tmux here: the runtime is canned. Engine calls that need a live agent or a git
repository (respond, restore, merge, approve, spawn) are replaced by stand-ins that write
the store as the engine would; kill and send run for real against the canned runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot

from ao_tui.app import CockpitApp
from ao_tui.screens.ci import CiScreen
from ao_tui.screens.confirm_kill import ConfirmKillScreen
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.diff import DiffScreen
from ao_tui.screens.merge import MergeScreen
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from ao_tui.widgets.board import WIDE_AT
from core.engine import Engine
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    Session,
    SessionPR,
    SignalSource,
    WaitingFor,
    Zone,
)
from core.zones import zone_of
from tests.support.canned import NOW, with_canned_review
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.test_actions import record_notifications

MakeApp = Callable[..., CockpitApp]
NARROW, WIDE = (80, 24), (160, 45)


def activity(state: ActivityState, detail: str = "") -> Activity:
    return Activity(state, SignalSource.HOOK, NOW, detail)


def shown_on_board(app: CockpitApp) -> str | None:
    """The session under the visible cursor, read from the table the operator sees."""
    table = app.board.active_table()
    key = table.selected_key
    return None if key is None or key.startswith("zone:") else key


async def assert_selected(pilot: Pilot[Any], app: CockpitApp, session_id: str) -> None:
    """Selection, visible cursor, active column and preview all on ``session_id``."""
    await pilot.pause(0.1)
    assert app.board.selected_id == session_id
    assert shown_on_board(app) == session_id
    assert app.preview.session_id == session_id
    if app.board.wide:
        zone = zone_of(app.sessions[session_id])
        active = app.board.columns[app.board._zone_index]
        assert active.zone is zone and active.has_class("-active")


async def through_the_breakpoint(pilot: Pilot[Any], app: CockpitApp, session_id: str) -> None:
    """Resize to the other layout and back; the selection stays on ``session_id``."""
    here = (app.size.width, app.size.height)
    other = WIDE if here[0] < WIDE_AT else NARROW
    for size in (other, here):
        await pilot.resize_terminal(*size)
        await pilot.pause(0.3)
        assert app.board.wide is (size[0] >= WIDE_AT)
        await assert_selected(pilot, app, session_id)


def writes(engine: Engine, session_id: str, result: Any = None, **fields: Any) -> Any:
    """A stand-in engine call that changes the session's row as the real call would."""

    def call(*_args: Any, **_kwargs: Any) -> Any:
        updated = engine.store.update_session(session_id, event=("stand-in", {}), **fields)
        return updated if result is None else result

    return call


async def until_zone(pilot: Pilot[Any], app: CockpitApp, session_id: str, zone: Zone) -> None:
    await wait_until(pilot, lambda: zone_of(app.sessions[session_id]) is zone)


Scenario = Callable[[Pilot[Any], CockpitApp, Engine, pytest.MonkeyPatch], Awaitable[str]]
"""Selects a session, acts on it, waits for the effect; returns the id acted on."""


async def on(pilot: Pilot[Any], app: CockpitApp, session_id: str) -> None:
    assert app.board.focus_session(session_id)
    await assert_selected(pilot, app, session_id)


async def approve(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    # The answered agent goes back to work: its card leaves Needs you for Working.
    mp.setattr(engine, "respond", writes(engine, "app-7", activity=activity(ActivityState.WORKING)))
    await on(pilot, app, "app-7")
    await pilot.press("y")
    await until_zone(pilot, app, "app-7", Zone.WORKING)
    return "app-7"


async def deny(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    # Denied, the agent is idle: still Needs you, but below the exited session now.
    idle = activity(ActivityState.IDLE, "interrupted by user")
    mp.setattr(engine, "respond", writes(engine, "app-7", activity=idle))
    await on(pilot, app, "app-7")
    await pilot.press("n")
    await wait_until(pilot, lambda: app.sessions["app-7"].activity.state is ActivityState.IDLE)
    return "app-7"


async def send(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    await on(pilot, app, "app-10")
    await pilot.press("s")
    assert isinstance(app.screen, SendScreen)
    await pilot.press(*"run the tests", "ctrl+s")
    await wait_until(pilot, lambda: not isinstance(app.screen, SendScreen))
    return "app-10"


async def kill(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    await on(pilot, app, "app-9")
    await pilot.press("x")
    assert isinstance(app.screen, ConfirmKillScreen)
    await pilot.press("enter")
    await until_zone(pilot, app, "app-9", Zone.DONE)  # Done was folded: it unfolds
    return "app-9"


async def restore(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    back = {"lifecycle": Lifecycle.RUNNING, "activity": activity(ActivityState.WORKING)}
    mp.setattr(engine, "restore", writes(engine, "app-11", **back))
    await on(pilot, app, "app-11")
    await pilot.press("r")
    await until_zone(pilot, app, "app-11", Zone.WORKING)
    return "app-11"


async def merge(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    merged = {"lifecycle": Lifecycle.MERGED, "pr": SessionPR("merged", number=41)}
    call = writes(engine, "app-4", **merged)
    mp.setattr(engine, "merge", lambda *a, **k: (call(), "0a1b2c3d4e5f"))
    await on(pilot, app, "app-4")
    await pilot.press("m")
    assert isinstance(app.screen, MergeScreen)
    await pilot.press("enter")
    await until_zone(pilot, app, "app-4", Zone.DONE)
    return "app-4"


async def approve_pr(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    mp.setattr(engine, "approve", writes(engine, "app-6", pr=SessionPR("mergeable", number=39)))
    await on(pilot, app, "app-6")
    await pilot.press("A")
    await until_zone(pilot, app, "app-6", Zone.READY_TO_MERGE)
    return "app-6"


def opens(key: str, session_id: str, screen: type) -> Scenario:
    """A key that opens a view of the session; Escape comes back."""

    async def run(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
        await on(pilot, app, session_id)
        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(app.screen, screen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0])
        return session_id

    return run


async def attach(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    toasts = record_notifications(app, mp)
    await on(pilot, app, "app-8")
    await pilot.press("enter")  # a headless test app cannot hand its terminal over
    await wait_until(pilot, lambda: any("cannot hand over" in t for t in toasts))
    return "app-8"


async def new(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    # The new session is the one acted on: the selection goes to it.
    template = engine.get("app-8")
    spawned = replace(template, id="app-12", tmux="ao-app-12", pane_id="%12", branch="ao/app-12")

    def spawn(*_args: Any, **_kwargs: Any) -> Session:
        engine.store.insert_session(spawned, event=("spawned", {}))
        return spawned

    mp.setattr(engine, "spawn", spawn)
    await on(pilot, app, "app-7")
    await pilot.press("N")
    assert isinstance(app.screen, NewSessionScreen)
    await pilot.press(*"Add a json flag", "ctrl+s")
    await wait_until(pilot, lambda: app.board.selected_id == "app-12")
    return "app-12"


async def filter_keeps(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    await on(pilot, app, "app-8")
    await pilot.press("slash", *"webhook")  # app-8's title matches: it stays selected
    await wait_until(pilot, lambda: app.filter_text == "webhook")
    await assert_selected(pilot, app, "app-8")
    await pilot.press("enter", "escape")  # back to the board, filter cleared
    await wait_until(pilot, lambda: app.filter_text == "")
    return "app-8"


async def next_prompt(pilot: Pilot[Any], app: CockpitApp, engine: Engine, mp: Any) -> str:
    waiting = Activity(
        ActivityState.WAITING_INPUT,
        SignalSource.HOOK,
        NOW,
        "Bash: make deploy",
        WaitingFor("permission", "Bash", "make deploy"),
    )
    engine.store.update_session("app-5", event=("stand-in", {}), activity=waiting)
    await wait_until(pilot, lambda: app.sessions["app-5"].activity is not None)
    await wait_until(pilot, lambda: zone_of(app.sessions["app-5"]) is Zone.NEEDS_YOU)
    await on(pilot, app, "app-9")
    await pilot.press("w")  # from an idle session: the oldest prompt first
    await assert_selected(pilot, app, "app-7")
    await pilot.press("w")
    await assert_selected(pilot, app, "app-5")
    await pilot.press("w")  # cycling
    await assert_selected(pilot, app, "app-7")
    return "app-7"


SCENARIOS: dict[str, Scenario] = {
    "y": approve,
    "n": deny,
    "s": send,
    "x": kill,
    "r": restore,
    "m": merge,
    "A": approve_pr,
    "c": opens("c", "app-5", CiScreen),
    "d": opens("d", "app-5", DiffScreen),
    "i": opens("i", "app-11", DetailScreen),
    "enter": attach,
    "N": new,
    "filter": filter_keeps,
    "w": next_prompt,
}


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["narrow", "wide"])
@pytest.mark.parametrize("action", list(SCENARIOS))
async def test_the_selection_follows_the_session_acted_on(
    make_app: MakeApp,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    size: tuple[int, int],
) -> None:
    with_canned_review(engine, engine.locations.home / "ci")
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        acted_on = await SCENARIOS[action](pilot, app, engine, monkeypatch)
        await pilot.pause(0.3)  # the reload after the action has landed
        await assert_selected(pilot, app, acted_on)
        await through_the_breakpoint(pilot, app, acted_on)


async def test_a_second_y_never_reaches_the_card_that_slid_under_the_cursor(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report: y, then y again, approved a prompt the operator never saw."""
    prompt = WaitingFor("permission", "Bash", "make deploy")
    waiting = Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", prompt)
    engine.store.update_session("app-9", event=("stand-in", {}), activity=waiting)
    answered: list[str] = []

    def respond(session_id: str, yes: bool, **_: Any) -> Session:
        answered.append(session_id)
        return engine.store.update_session(
            session_id, event=("stand-in", {}), activity=activity(ActivityState.WORKING)
        )

    monkeypatch.setattr(engine, "respond", respond)
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await on(pilot, app, "app-7")
        await pilot.press("y")
        await until_zone(pilot, app, "app-7", Zone.WORKING)
        await pilot.pause(0.3)
        await pilot.press("y")  # app-9's prompt is next in Needs you, never looked at
        await wait_until(pilot, lambda: any("not waiting on a prompt" in t for t in toasts))
        assert answered == ["app-7"]
        await pilot.press("s")  # the message goes to the session acted on
        assert isinstance(app.screen, SendScreen) and app.screen.session.id == "app-7"


async def test_a_filter_that_hides_the_selected_session_moves_to_one_it_shows(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await on(pilot, app, "app-8")
        await pilot.press("slash", *"httpx")  # only app-5 matches
        await wait_until(pilot, lambda: app.board.selected_id == "app-5")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.filter_text == "")
        await assert_selected(pilot, app, "app-5")


async def test_folding_done_moves_the_selection_out_of_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("6")  # unfolds Done, on its first card
        done = app.board.selected_id
        assert done is not None and zone_of(app.sessions[done]) is Zone.DONE
        await pilot.press("z")
        await pilot.pause(0.1)
        assert app.board.selected_id == "app-10"  # the last card before Done
        await assert_selected(pilot, app, "app-10")


async def test_w_with_no_prompt_says_so(
    make_app: MakeApp, engine: Engine, monkeypatch: Any
) -> None:
    engine.store.update_session(
        "app-7", event=("stand-in", {}), activity=activity(ActivityState.WORKING)
    )
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        before = app.board.selected_id
        await pilot.press("w")
        await wait_until(pilot, lambda: bool(toasts))
        assert toasts == [": No session is waiting on a prompt"]
        assert app.board.selected_id == before


async def test_a_second_y_while_the_first_is_on_its_way_sends_nothing(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stand-in respond blocks until released, as the engine does while the agent moves.
    release = threading.Event()
    calls: list[tuple[str, bool, str | None]] = []

    def respond(session_id: str, yes: bool, *, expect: str | None = None, **_: Any) -> Session:
        calls.append((session_id, yes, expect))
        release.wait(10)
        return engine.store.update_session(
            session_id, event=("stand-in", {}), activity=activity(ActivityState.WORKING)
        )

    monkeypatch.setattr(engine, "respond", respond)
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await on(pilot, app, "app-7")
        await pilot.press("y")
        await wait_until(pilot, lambda: bool(calls))
        await pilot.press("y")
        await wait_until(pilot, lambda: any("an answer is on its way" in t for t in toasts))
        release.set()
        await wait_until(pilot, lambda: any("answered yes" in t for t in toasts))
        # Bound to what the preview showed: tool and command.
        assert calls == [("app-7", True, "Bash: rm -rf build/legacy && git rm -q Makefile.legacy")]


async def test_y_and_n_typed_into_the_filter_are_text_not_answers(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[Any] = []
    monkeypatch.setattr(engine, "respond", lambda *a, **k: answered.append(a))
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("slash", "y", "n")
        await wait_until(pilot, lambda: app.filter_text == "yn")
        await pilot.pause(0.2)
        assert answered == [] and toasts == []


async def test_resizes_back_and_forth_without_a_pause_keep_the_selection(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await on(pilot, app, "app-10")  # second in Working, far from every default
        for size in (WIDE, NARROW, WIDE, (99, 30), (100, 30), NARROW, WIDE):
            await pilot.resize_terminal(*size)  # no pause: layouts pile up
        await pilot.pause(0.5)
        await assert_selected(pilot, app, "app-10")
        await pilot.press("k")  # and the keys move from there
        await assert_selected(pilot, app, "app-8")


async def test_a_remapped_answer_key_says_so_on_its_new_key_only(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(keymap={"session.approve": "Y"})
    async with app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await on(pilot, app, "app-8")  # working: no prompt
        await pilot.press("y")  # no longer an answer key
        await pilot.pause(0.2)
        assert toasts == []
        await pilot.press("Y")
        await wait_until(pilot, lambda: any("not waiting on a prompt" in t for t in toasts))
