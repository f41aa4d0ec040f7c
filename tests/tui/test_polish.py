"""What a new user meets in the first minutes, at 80x24: help, footer, quitting, first run,
the new-session form and the detail tabs.

Pilot on the canned sample engine (no tmux: nothing here needs a live agent).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, Select, Static, TextArea

from ao_tui.app import CockpitApp
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.help import HelpScreen
from ao_tui.screens.new_session import NewSessionScreen
from core.config import Config, ProjectConfig
from core.engine import Engine
from core.locations import Locations
from core.models import ZONE_ORDER
from core.registry import Registry
from tests.support.canned import NOW, CannedRuntime, sample_engine
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.test_actions import record_notifications, select

MakeApp = Callable[..., CockpitApp]


def screen_text(app: CockpitApp) -> str:
    """What the terminal shows now, as plain lines."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


def rendered(widget: Static, width: int = 120) -> str:
    """The text a Static shows, laid out at ``width`` (its content is a Rich renderable)."""
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so event times read the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# help -------------------------------------------------------------------------------


async def test_help_scrolls_at_80x24_to_the_palette_the_quit_note_and_the_legend(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        body = help_screen.query_one("#help-scroll", VerticalScroll)
        await pilot.pause(0.1)
        assert body.max_scroll_y > 0  # longer than the screen: it must scroll
        assert "scroll" in screen_text(app) and "esc" in screen_text(app)  # the hint says how
        await pilot.press("j", "j")
        assert body.scroll_y == 2
        await pilot.press("k")
        assert body.scroll_y == 1
        await pilot.press("pagedown")
        assert body.scroll_y > 2
        await pilot.press("end")
        await pilot.pause(0.1)
        assert body.scroll_y == body.max_scroll_y
        shown = screen_text(app)
        assert "6 Done" in shown and "merged, closed or killed" in shown  # the legend's end
        await pilot.press("home")
        await pilot.pause(0.1)
        assert body.scroll_y == 0
        await pilot.press("down")
        assert body.scroll_y == 1
        seen = ""
        await pilot.press("home")
        for _ in range(10):  # page by page, as an operator reads it
            await pilot.pause(0.05)
            seen += screen_text(app)
            await pilot.press("pagedown")
        for wanted in ("^p", "command palette", "brings the board back", "● "):
            assert wanted in seen
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def test_the_legend_explains_every_glyph_and_badge_a_card_can_show() -> None:
    from ao_tui.legend import ACTIVITY_MEANINGS, LIFECYCLE_MEANINGS, PR_MEANINGS, ZONE_MEANINGS
    from ao_tui.widgets import card

    assert set(card._GLYPHS) <= set(ACTIVITY_MEANINGS)
    assert set(card._LIFECYCLE_GLYPHS) <= set(LIFECYCLE_MEANINGS)
    assert set(card._PR_BADGES) <= set(PR_MEANINGS)
    assert set(ZONE_ORDER) == set(ZONE_MEANINGS)


async def test_help_legend_shows_the_marks_as_the_board_draws_them(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        legend = rendered(app.screen.query_one("#help-legend", Static))
        for mark, meaning in (("●", "working"), ("?", "waiting for you"), ("✗", "error")):
            assert any(
                line.strip().startswith(mark) and meaning in line for line in legend.splitlines()
            ), (mark, legend)
        for badge in ("ci ✗", "ci ✓", "ci …", "conflict", "#12"):
            assert badge in legend


# footer -----------------------------------------------------------------------------


async def test_footer_keeps_help_and_quit_at_80_columns(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")  # a PR: CI, diff, merge, approve all apply
        await pilot.pause(0.3)
        footer = screen_text(app).splitlines()[-1]
        assert footer.rstrip().endswith("? help q quit"), footer
        assert "…" in footer  # says that keys were left out
        assert footer.startswith("⏎ attach s send")
        await pilot.resize_terminal(99, 24)  # still the one-list board, more room
        await pilot.pause(0.5)
        footer = screen_text(app).splitlines()[-1]
        assert "…" not in footer and "A approve" in footer and "? help q quit" in footer


# quitting ---------------------------------------------------------------------------


async def test_ctrl_c_on_the_board_quits_like_q(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        assert app.return_code == 0
        message = " ".join(str(r) for r in app._exit_renderables)
        assert "session(s) keep running" in message


async def test_ctrl_c_while_typing_a_filter_names_the_quit_key_of_the_cockpit(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(keymap={"app.quit": "Q"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("slash", "a", "p", "p")
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
        assert app.return_code is None  # still running: the key went to the text field
        assert toasts == ["quit?: Esc leaves the filter, then Q quits; sessions keep running"]
        assert not any("ctrl+q" in t.lower() for t in toasts)
        await pilot.press("escape", "ctrl+c")
        await pilot.pause(0.1)
        assert app.return_code == 0


async def test_a_quit_message_replaces_the_sessions_keep_running_line(engine: Engine) -> None:
    from ao_tui.demo import quit_message

    for keep in (False, True):
        app = CockpitApp(engine, reconcile=False, quit_message=quit_message(keep))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("q")
            assert app.return_code == 0
            message = " ".join(str(r) for r in app._exit_renderables)
        assert "reopens" not in message and "keep running;" not in message
        assert ("--keep leaves the sandbox" in message) is keep
        assert ("removing the demo sandbox and its sessions" in message) is not keep


# first run --------------------------------------------------------------------------


def empty_engine(home: Path) -> Engine:
    """The sample's config and canned runtime, with no session at all."""
    repo = home / "repo"
    repo.mkdir(parents=True)
    config = Config(
        projects={"app": ProjectConfig(path=repo, session_prefix="app", agent="claude-code")}
    )
    runtime = CannedRuntime()
    registry = Registry()
    registry.register("runtime", "tmux", lambda: runtime)
    return Engine(config, locations=Locations(home=home / "state"), registry=registry)


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
async def test_first_run_board_says_what_to_do_and_what_the_zones_mean(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    engine = empty_engine(tmp_path)
    app = CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=size) as pilot:
        await wait_until(
            pilot,
            lambda: (
                "No sessions yet" in screen_text(app)
                and "q quit" in screen_text(app).splitlines()[-1]
            ),
        )
        shown = screen_text(app)
        assert "No session selected" not in shown
        assert "ao-tui spawn -p" in shown and "starts a session" in shown
        for index, zone in enumerate(ZONE_ORDER, start=1):
            line = next(x for x in shown.splitlines() if f"{index} {zone.value}" in x)
            assert len(line.split(zone.value, 1)[1].strip()) > 10  # says what it holds
        assert shown.splitlines()[-1].rstrip().endswith("? help q quit")
        # N opens the form from here.
        await pilot.press("N")
        assert isinstance(app.screen, NewSessionScreen)
        await pilot.press("escape")
        # A session appears (spawned by another process): the board takes over.
        source = sample_engine(tmp_path / "sample")
        first = source.get("app-7")
        engine.store.insert_session(first, event=("spawned", {"branch": first.branch}))
        app.request_reload()
        await wait_until(pilot, lambda: "No sessions yet" not in screen_text(app))
        assert first.id in screen_text(app)


# new session ------------------------------------------------------------------------


async def test_new_session_fields_have_a_border_and_show_which_has_the_focus(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        form = app.screen
        assert isinstance(form, NewSessionScreen)
        await pilot.pause(0.1)
        issue = form.query_one("#new-issue", Input)
        title = form.query_one("#new-title", Input)
        task = form.query_one("#new-task", TextArea)
        for field in (issue, title, task):
            assert field.styles.border_top[0] != "", field.id  # drawn as a box
            assert field.border_title, field.id  # named in its border
        project = form.query_one("#new-project", Select)
        assert "project" in str(project.query_one("SelectCurrent").border_title)
        blurred_border = issue.styles.border_top[1]
        issue.focus()
        await pilot.pause(0.1)
        assert issue.has_focus
        assert issue.styles.border_top[1] != blurred_border  # the focused one stands out
        assert title.styles.border_top[1] == blurred_border
        # Everything fits at 80x24: the hint line under the fields is on screen.
        assert "Ctrl+S spawns" in screen_text(app)
        assert form.query_one("#new-dialog").region.bottom <= 24


# detail tabs ------------------------------------------------------------------------


async def test_info_tab_shows_the_pr_as_named_fields_not_json(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        from ao_tui.screens.detail import info_table

        table = info_table(screen.session, NOW)
        names = [str(c) for c in table.columns[0]._cells]
        values = [str(c) for c in table.columns[1]._cells]
        rows = dict(zip(names, values, strict=True))
        assert rows["pull request"] == "#43"
        assert rows["PR state"] == "ci_failed" and rows["CI"] == "failing"
        assert rows["mergeable"] == "no"
        assert rows["blockers"] == "• CI failing\n• not approved"
        assert not any("{" in value for value in values)
        for _ in range(4):
            await pilot.press("right")  # Terminal → … → Info
        await pilot.pause(0.2)
        assert "• CI failing" in screen_text(app)


async def test_events_tab_tells_each_event_in_words_with_its_time(
    make_app: MakeApp, utc: None
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        table = screen.query_one("#detail-events", DataTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [str(c.label) for c in table.columns.values()] == ["time", "event", "what happened"]
        assert [
            "23:49:00",
            "ci-failed",
            "pytest failed at 5f1c2e9a7b · log excerpt 612 chars (c shows it)",
        ] in rows
        assert [
            "23:47:00",
            "pr",
            "none → ci_running · CI running · review pending · blockers: CI running, not approved",
        ] in rows
        assert not any("{" in row[2] for row in rows)


def test_every_event_kind_reads_as_words_and_odd_data_never_breaks_it() -> None:
    from core.event_summary import known_kinds, summary

    for kind in known_kinds():
        assert "{" not in summary(kind, {})
        assert summary(kind, {"unexpected": [1, 2]})  # never empty, never raises
    odd = {"state": ["not", "a", "string"], "previous": {"x": 1}, "detail": 7}
    assert "{" not in summary("activity", odd)
    assert summary("from-a-newer-version", {"a": 1, "b": None, "c": ["x", "y"]}) == (
        "a: 1; b: -; c: x, y"
    )
    assert summary("ci-failed", {"head_sha": "abc", "checks": "garbage"}) == (
        "a check failed at abc"
    )
    assert json.dumps(summary("message", {"preview": "hi\x1b[2J"}))  # text, made inert later


async def test_hostile_event_text_stays_inert_in_the_events_tab(
    make_app: MakeApp, engine: Engine
) -> None:
    engine.store.append_event(
        "app-5", "ci-failed", {"head_sha": "\x1b[2J", "checks": [{"name": "x\x1b]52;c;AA\x07"}]}
    )
    engine.store.append_event("app-5", "odd\x1b[31m", {"k": "\u202e\x9b2J"})
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("i")
        screen: Any = app.screen
        table = screen.query_one("#detail-events", DataTable)
        await wait_until(pilot, lambda: table.row_count > 2)
        cells = [str(cell) for i in range(table.row_count) for cell in table.get_row_at(i)]
        assert not any(ch in cell for cell in cells for ch in ("\x1b", "\x07", "\x9b", "\u202e"))
        assert any("^[]52;c;AA^G" in cell for cell in cells)


async def test_a_capture_landing_before_the_detail_is_drawn_neither_crashes_nor_is_lost(
    make_app: MakeApp, engine: Engine
) -> None:
    """Found under load: `i` starts a capture at once, which can land before the screen
    has its terminal view; the app went down with NoMatches."""
    from ao_tui.messages import PaneCaptured

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        early = DetailScreen(engine, app.sessions["app-7"], NOW)
        app.detail = early  # the screen this capture is for, not drawn yet
        app.post_message(PaneCaptured("app-7", "EARLY SCREEN"))
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        assert app._last_capture is None  # not shown: the next capture must paint it
        app.detail = None
        await pilot.press("i")
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        await wait_until(pilot, lambda: "Do you want to proceed?" in screen_text(app))


async def test_a_popup_tmux_refuses_is_said_with_the_command_to_run(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's tmux cannot open the popup (here: a real tmux, no such server)."""
    argv = ["tmux", "-L", "ao-test-no-such-server", "display-popup", "-E", "--"]
    argv += ["tmux", "-S", "/tmp/agents.sock", "attach-session", "-t", "=ao-app-7"]
    monkeypatch.setattr(engine, "attach_argv", lambda session_id: argv)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("enter")
        await wait_until(pilot, lambda: toasts)
        [toast] = toasts
        assert toast.startswith("cannot show app-7: tmux could not open a popup (")
        assert "run tmux -S /tmp/agents.sock attach-session -t =ao-app-7 in another" in toast
        assert app.is_running
