"""Third-party text in the cockpit: an escape shows as ``^[``, never reaches the terminal.

Rich and Textual pass ESC, C1 controls and bidi overrides through to the terminal as they
are (Rich only drops BEL, BS, VT, FF and CR), so a session title holding ``ESC [ 2 J``
would clear the operator's screen and ``ESC ] 52`` would write their clipboard. These
tests put the hostile titles of tests/fixtures/hostile/titles/ (stored raw, as an older
version or an issue would have left them) and hostile CI logs, hook details, transcripts
and issue titles in front of the cockpit, and read what it would write to the terminal.
No tmux: the sample engine's runtime is canned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.markup import escape
from textual.widgets import Collapsible, DataTable, Input, Static, TextArea

from ao_tui.app import CockpitApp
from ao_tui.screens.ci import CiScreen, LogScreen
from ao_tui.screens.confirm_kill import ConfirmKillScreen
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.diff import LineView
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from core.config import TrackerConfig
from core.engine import Engine
from core.inert import inert
from core.models import Activity, ActivityState, SignalSource, WaitingFor
from tests.support.canned import NOW, CannedRuntime, sample_ci
from tests.support.hostile_inputs import hostile
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.conftest import Recorder
from tests.tui.test_actions import record_notifications, select

MakeApp = Callable[..., CockpitApp]
TITLES = hostile("titles")
# Every sample session; app-8 (working) gets the screen-clearing title, the dialogs' test.
ON_BOARD = ["app-7", "app-9", "app-8", "app-11", "app-4", "app-5", "app-6", "app-10", "app-2"]


def terminal_text(app: App[Any]) -> str:
    """Every character the active screen would write to the terminal, line by line.

    Read from the screen's compositor (Textual's own private API: nothing public hands
    out the final segments), which is exactly what the driver writes.
    """
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def showing(app: CockpitApp, screen_type: type[Any] | None) -> bool:
    """Whether the app shows a ``screen_type`` screen (None: the board)."""
    if screen_type is None:
        return not isinstance(app.screen, (SendScreen, ConfirmKillScreen, DetailScreen))
    return isinstance(app.screen, screen_type)


def assert_inert(text: str) -> None:
    """Nothing in ``text`` that a terminal acts on or that hides text: inert leaves it be."""
    assert inert(text) == text, [ch for ch in text if inert(ch) != ch]


async def test_textual_itself_passes_a_raw_escape_to_the_terminal() -> None:
    """Why the cockpit must make text inert itself: Rich and Textual do not."""
    from rich.text import Text
    from textual.app import ComposeResult

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(Text("a\x1b[2Jb \u009b201~ \u202e"))

    app = Bare()
    async with app.run_test(size=(40, 3)):
        text = terminal_text(app)
    assert "a\x1b[2Jb \x9b201~ \u202e" in text


@pytest.fixture
def hostile_titles(engine: Engine) -> dict[str, str]:
    """Raw hostile titles on the sessions of the board (as an old database holds them)."""
    titles = {}
    for session_id, (_, title) in zip(ON_BOARD, TITLES, strict=False):
        engine.store.update_session(session_id, title=title)
        titles[session_id] = title
    return titles


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
async def test_board_preview_and_dialogs_show_hostile_titles_inert(
    make_app: MakeApp,
    engine: Engine,
    hostile_titles: dict[str, str],
    size: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "ci", Recorder(result=sample_ci(engine.locations.home / "ci")))
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert_inert(terminal_text(app))
        if size == (160, 45):
            assert "^[[2J^[[3J^[[HFix login" in terminal_text(app)  # shown, not obeyed
        await pilot.press("z")  # unfold Done
        for session_id, title in hostile_titles.items():
            await select(pilot, app, session_id)
            await pilot.pause()
            assert_inert(terminal_text(app))
            heading = app.preview.heading.render()
            assert inert(title, one_line=True)[:12] in str(heading)
        assert hostile_titles["app-8"].startswith("\x1b[2J")
        await select(pilot, app, "app-8")
        for key, screen_type in (("s", SendScreen), ("x", ConfirmKillScreen), ("i", DetailScreen)):
            await pilot.press(key)
            await wait_until(pilot, partial(showing, app, screen_type))
            await pilot.pause(0.2)
            assert_inert(terminal_text(app))
            assert "^[[2J" in terminal_text(app)
            await pilot.press("escape")
            await wait_until(pilot, partial(showing, app, None))
        await select(pilot, app, "app-5")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CiScreen))
        await pilot.pause(0.2)
        assert_inert(terminal_text(app))


async def test_a_toast_shows_a_hostile_command_inert_and_not_as_markup(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        command = "echo \x1b]52;c;cm0gLXJmIH4K\x07 [/x] \u009b2J"
        waiting = WaitingFor("permission", "Bash", command)
        engine.store.update_session(
            "app-8",
            title="\x1b[2Jdeploy",
            activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", waiting),
        )
        await wait_until(pilot, lambda: toasts)
        shown = "echo ^[]52;c;cm0gLXJmIH4K^G [/x] <U+009B>2J"
        assert toasts == [f"app-8 needs you: permission: Bash {shown}"]
        await pilot.pause(0.3)
        assert app.is_running
        assert_inert(terminal_text(app))
        await select(pilot, app, "app-8")
        await pilot.pause(0.2)
        # The preview's "waiting for" panel: the command as written, escapes visible.
        assert f"█ {shown} " in terminal_text(app)
        assert_inert(terminal_text(app))


async def test_ci_excerpt_and_full_log_show_escapes_instead_of_hiding_them(
    make_app: MakeApp, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = sample_ci(tmp_path / "ci")
    log = tmp_path / "ci" / "hostile.log"
    log.write_bytes(
        b"collecting\n\x1b[31mFAILED\x1b[0m test_login\x1b[201~\rtouch PWNED\n"
        b"\x1b]52;c;cm0gLXJmIH4K\x07 \xc2\x9b2J done\n"
    )
    failing, *passing = answer.checks
    failing = replace(
        failing,
        name="pytest\x1b[2J",
        excerpt="\x1b[31mFAILED\x1b[0m test_login\x1b[201~\rtouch PWNED",
        log_path=str(log),
    )
    answer = replace(answer, checks=(failing, *passing))
    monkeypatch.setattr(engine, "ci", Recorder(result=answer))
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CiScreen)
        await wait_until(pilot, lambda: screen.query_one(DataTable).row_count > 0)
        await pilot.pause(0.1)
        excerpt = str(screen.query_one("#ci-excerpt", Static).render())
        # The colour goes; the paste terminator and the CR show, as the agent will get them.
        assert "FAILED test_login^[[201~^Mtouch PWNED" in excerpt
        assert_inert(terminal_text(app))
        assert "pytest^[[2J" in terminal_text(app)
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, LogScreen))
        view = app.screen.query_one(LineView)
        await wait_until(pilot, lambda: view.lines)
        assert view.lines == [
            "collecting",
            "FAILED test_login^[[201~^Mtouch PWNED",
            "^[]52;c;cm0gLXJmIH4K^G <U+009B>2J done",
        ]
        assert_inert(terminal_text(app))


async def test_transcript_events_and_info_are_inert_and_markup_cannot_crash_them(
    make_app: MakeApp, engine: Engine, tmp_path: Path
) -> None:
    transcript = tmp_path / "hostile.jsonl"
    prompt = "fix [/b] the \x1b[2Jlogin\u202e test"
    lines = [
        {"type": "user", "message": {"role": "user", "content": prompt}},
        {
            "type": "assistant",
            "message": {"role": "assistant", "content": [{"type": "text", "text": "ok [/x]\x07"}]},
        },
    ]
    transcript.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    engine.store.update_session("app-7", extra={"transcript_path": str(transcript)})
    engine.store.append_event("app-7", "message", {"preview": "hi \u009b2J \x7f \u202e"})
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-7")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.query(Collapsible))
        titles = [str(c.title) for c in screen.query(Collapsible)]
        assert titles[0] == escape(inert("you: " + prompt, one_line=True))
        await pilot.press("right")  # Terminal → Transcript
        await pilot.pause(0.2)
        assert app.is_running
        assert "fix [/b] the ^[[2Jlogin<U+202E> test" in terminal_text(app)
        events = screen.query_one("#detail-events", DataTable)
        data = [str(events.get_row_at(i)[2]) for i in range(events.row_count)]
        assert any("hi <U+009B>2J ^? <U+202E>" in d for d in data)
        for _ in range(3):  # every other tab, each drawn
            await pilot.press("right")
            await pilot.pause(0.1)
            assert_inert(terminal_text(app))


async def test_send_dialog_refuses_control_characters_in_one_line_and_cleans_on_ctrl_l(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    send = Recorder(through=engine.send)
    monkeypatch.setattr(engine, "send", send)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        await pilot.press("s")
        assert isinstance(app.screen, SendScreen)
        # As a terminal's paste would put it there (keys cannot type an ESC into it).
        app.screen.query_one(TextArea).text = "fix it\x1b[201~\rthen [/x]\r\n"
        await pilot.press("ctrl+s")
        status = app.screen.query_one("#send-status", Static)
        await wait_until(pilot, lambda: "not sent" in str(status.render()))
        assert str(status.render()) == (
            "not sent: message has 3 control characters; the first, 0x1b (ESC), is at line 1, "
            "column 7 (byte offset 6); remove them or press Ctrl+L to clean it"
        )
        assert send.calls == []
        await pilot.press("ctrl+l")
        assert app.screen.query_one(TextArea).text == "fix it\nthen [/x]\n"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, SendScreen))
        assert send.calls[0][0] == ("app-10", "fix it\nthen [/x]\n")
        assert ("paste", "%10", "fix it\nthen [/x]\n") in runtime.calls


async def test_new_session_shows_a_hostile_issue_title_inert_and_refuses_a_nul_task(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = engine.project("app")
    (project.path / "TASKS.md").write_bytes(b"## 12. Fix [/x] \x1b[2Jlogin\x1b]0;owned\x07\nbody\n")
    tracked = project.model_copy(update={"tracker": TrackerConfig(plugin="local")})
    engine.config = engine.config.model_copy(update={"projects": {"app": tracked}})
    spawn = Recorder(result=engine.get("app-10"))
    monkeypatch.setattr(engine, "spawn", spawn)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        assert isinstance(app.screen, NewSessionScreen)
        app.screen.query_one("#new-issue", Input).focus()
        status = app.screen.query_one("#new-status", Static)
        await pilot.press(*"[/x]")  # typed, it is no markup either
        await wait_until(pilot, lambda: "is not an issue id" in str(status.render()))
        assert app.is_running
        await pilot.press(*["backspace"] * 4, "1", "2")
        await wait_until(pilot, lambda: "#12 Fix" in str(status.render()))
        assert "#12 Fix [/x] ^[[2Jlogin^[]0;owned^G" in str(status.render())
        assert app.is_running
        assert_inert(terminal_text(app))
        app.screen.query_one("#new-task", TextArea).text = "note with a NUL\x00"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: "not spawned" in str(status.render()))
        assert str(status.render()) == (
            "not spawned: task has control character 0x00 (NUL) at line 1, column 16 "
            "(byte offset 15); remove it"
        )
        assert spawn.calls == []


def test_needs_you_reason_and_cards_take_sessions_from_the_inert_door(engine: Engine) -> None:
    from ao_tui.app import _shown_rows
    from core.feed import Batch

    engine.store.update_session("app-8", title="\x1b[2Jx", lifecycle_reason="\u009b")
    changed = _shown_rows(Batch(engine.feed.read(0), order=0))
    shown = changed["app-8"]
    assert shown is not None
    assert (shown.title, shown.lifecycle_reason) == ("^[[2Jx", "<U+009B>")
