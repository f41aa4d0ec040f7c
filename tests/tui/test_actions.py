"""Every operator action, driven by keys through Pilot, checked on state and engine calls.

No tmux in these unit-level cockpit tests: the runtime is canned. Engine methods that need
a live agent (respond, restore, spawn) are replaced by recorders, since nothing real can
answer them here; kill and send run for real against the canned runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Collapsible, DataTable, Input, Static, TabbedContent, TextArea

from ao_tui.app import CockpitApp, same_tmux_server
from ao_tui.commands import CockpitCommands
from ao_tui.keymap import KeymapError, resolve_keymap
from ao_tui.screens.confirm_kill import ConfirmKillScreen
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.help import HelpScreen, help_rows
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from ao_tui.widgets.pane_view import PaneView
from core.config import TrackerConfig
from core.engine import Engine
from core.errors import EngineError
from core.models import Activity, ActivityState, DeliveryResult, Lifecycle, SignalSource, WaitingFor
from core.notify.terminal import osc9
from tests.support.canned import NOW, CannedRuntime
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.conftest import Recorder

MakeApp = Callable[..., CockpitApp]


def record_notifications(app: CockpitApp, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Capture every toast as ``title: message``."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *, title: str = "", **kwargs: Any) -> None:
        seen.append(f"{title}: {message}")
        original(message, title=title, **kwargs)

    monkeypatch.setattr(app, "notify", notify)
    return seen


async def select(pilot: Any, app: CockpitApp, session_id: str) -> None:
    """Put the board cursor on ``session_id``."""
    assert app.board.focus_session(session_id)
    await pilot.pause()
    assert app.board.selected_id == session_id


async def test_y_and_n_answer_the_pending_prompt(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = {s.id: s for s in engine.list()}
    respond = Recorder(result=sessions["app-7"])
    monkeypatch.setattr(engine, "respond", respond)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        assert app.board.selected_id == "app-7"
        await pilot.press("y")
        await wait_until(pilot, lambda: respond.calls)
        assert respond.calls[0][0] == ("app-7", True)
        await pilot.press("n")
        await wait_until(pilot, lambda: len(respond.calls) == 2)
        assert respond.calls[1][0] == ("app-7", False)
        await wait_until(pilot, lambda: any("answered no" in t for t in toasts))


def footer_keys(app: CockpitApp) -> set[str]:
    """The keys the footer lists now (hidden twins, like y with no prompt, left out)."""
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show}


async def test_keys_that_do_not_apply_are_hidden(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = footer_keys(app)
        assert {"y", "n", "enter", "s", "x"} <= keys and "r" not in keys
        await select(pilot, app, "app-9")  # idle: no prompt to answer
        keys = footer_keys(app)
        assert "y" not in keys and "n" not in keys and "s" in keys
        await select(pilot, app, "app-11")  # exited: restore, no send
        keys = footer_keys(app)
        assert "r" in keys and "s" not in keys and "y" not in keys
        assert app.check_action("answer", (True,)) is False
        assert app.check_action("restore", ()) is True


async def test_kill_confirms_then_saves_work(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    kill = Recorder(through=engine.kill)
    monkeypatch.setattr(engine, "kill", kill)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-9")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmKillScreen)
        text = " ".join(str(app.screen.query_one("#kill-text", Static).content).split())
        branch = "ao/app-9-fix-flaky-login-test"
        assert f"Uncommitted work will be saved as a WIP commit on {branch}" in text
        await pilot.press("enter")  # the focused default: kill, saving work
        await wait_until(pilot, lambda: kill.calls)
        assert kill.calls[0] == (("app-9",), {"discard": False})
        await wait_until(pilot, lambda: any("app-9: kill" in t for t in toasts))
        assert ("kill", "ao-app-9") in runtime.calls
        assert engine.get("app-9").lifecycle is Lifecycle.KILLED


async def test_kill_can_discard_or_be_cancelled(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    kill = Recorder(through=engine.kill)
    monkeypatch.setattr(engine, "kill", kill)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-8")
        await pilot.press("x", "escape")
        await pilot.pause(0.2)
        assert kill.calls == [] and not isinstance(app.screen, ConfirmKillScreen)
        await pilot.press("x", "d")
        await wait_until(pilot, lambda: kill.calls)
        assert kill.calls[0] == (("app-8",), {"discard": True})


async def test_restore_runs_only_for_stopped_sessions(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    restored = engine.get("app-11")
    restore = Recorder(result=restored)
    monkeypatch.setattr(engine, "restore", restore)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r")  # app-7 is running: nothing happens
        await pilot.pause(0.2)
        assert restore.calls == []
        await select(pilot, app, "app-11")
        await pilot.press("r")
        await wait_until(pilot, lambda: restore.calls)
        assert restore.calls[0][0] == ("app-11",)


async def test_send_dialog_sends_the_exact_multiline_text(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    send = Recorder(through=engine.send)
    monkeypatch.setattr(engine, "send", send)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-10")  # a shell agent: the paste is the whole send
        await pilot.press("s")
        assert isinstance(app.screen, SendScreen)
        await pilot.press("ctrl+s")
        assert "Nothing to send" in str(app.screen.query_one("#send-status", Static).content)
        await pilot.press(*"fix it", "enter", *"then run: make test;")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(app.screen, SendScreen))
        expected = "fix it\nthen run: make test;"
        assert send.calls[0][0] == ("app-10", expected)
        assert ("paste", "%10", expected) in runtime.calls
        assert ("send_keys", "%10", "Enter") in runtime.calls
        assert any("message sent" in t for t in toasts)


async def test_a_refused_send_keeps_the_dialog_and_the_text(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(session_id: str, text: str) -> tuple[DeliveryResult, str]:
        raise EngineError("the message is empty")

    monkeypatch.setattr(engine, "send", refuse)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s", *"hello", "ctrl+s")
        await wait_until(
            pilot, lambda: "not sent" in str(app.screen.query_one("#send-status", Static).content)
        )
        assert isinstance(app.screen, SendScreen)
        assert app.screen.query_one(TextArea).text == "hello"


async def test_new_session_shows_its_branch_and_spawns(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = engine.get("app-10")
    spawn = Recorder(result=new)
    monkeypatch.setattr(engine, "spawn", spawn)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("N")
        assert isinstance(app.screen, NewSessionScreen)
        await pilot.press(*"Add a json flag to status")
        branch = str(app.screen.query_one("#new-branch", Static).content)
        # the id the store's counter hands out next (ids freed in the sample state included)
        next_id = engine.store.peek_id("app")
        assert branch == f"will create branch ao/{next_id}-add-a-json-flag-to-status"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: spawn.calls)
        assert spawn.calls[0] == (
            ("app", "Add a json flag to status"),
            {"title": None, "agent_name": "claude-code", "force": False, "issue": ""},
        )
        await wait_until(pilot, lambda: not isinstance(app.screen, NewSessionScreen))
        assert any("spawned app-10" in t for t in toasts)


async def test_new_session_on_an_issue_looks_it_up_and_spawns_on_it(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real task file read by the real local tracker; only the spawn is recorded.
    project = engine.project("app")
    (project.path / "TASKS.md").write_text("## 12. Fix the flaky login test\nbody\n")
    tracked = project.model_copy(update={"tracker": TrackerConfig(plugin="local")})
    engine.config = engine.config.model_copy(update={"projects": {"app": tracked}})
    spawn = Recorder(result=engine.get("app-10"))
    monkeypatch.setattr(engine, "spawn", spawn)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        assert isinstance(app.screen, NewSessionScreen)
        app.screen.query_one("#new-issue", Input).focus()
        await pilot.press("9")
        status = app.screen.query_one("#new-status", Static)
        await wait_until(pilot, lambda: "has no task '9'" in str(status.content))
        await pilot.press("backspace", "1", "2")
        await wait_until(pilot, lambda: "#12 Fix the flaky login test" in str(status.content))
        branch = str(app.screen.query_one("#new-branch", Static).content)
        assert branch.endswith("-12-fix-the-flaky-login-test")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: spawn.calls)
        assert spawn.calls[0] == (
            ("app", ""),
            {"title": None, "agent_name": "claude-code", "force": False, "issue": "12"},
        )


async def test_a_failed_spawn_stays_in_the_dialog(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("N", *"Anything")
        await pilot.press("ctrl+s")  # the sample repo is no git repo: the engine refuses
        await wait_until(
            pilot,
            lambda: "not spawned" in str(app.screen.query_one("#new-status", Static).content),
            timeout=10,
        )
        assert isinstance(app.screen, NewSessionScreen)


async def test_help_lists_every_key_as_mapped(make_app: MakeApp) -> None:
    app = make_app(keymap={"session.kill": "K"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {text: keys for keys, text in help_rows(app.keymap_overrides, {})}
        assert rows["kill — uncommitted work is saved first"] == "K"
        assert rows["approve / deny the pending prompt"] == "y / n"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_keymap_overrides_rebind_keys(make_app: MakeApp) -> None:
    with pytest.raises(KeymapError, match="unknown key binding id"):
        resolve_keymap({"session.explode": "e"})
    app = make_app(keymap={"session.kill": "K"})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        assert not isinstance(app.screen, ConfirmKillScreen)
        await pilot.press("K")
        assert isinstance(app.screen, ConfirmKillScreen)


async def test_palette_lists_namespaced_commands_and_runs_them(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = CockpitCommands(app.screen)
        titles = [hit.text async for hit in provider.discover()]
        assert "session: attach" in titles and "app: quit" in titles
        assert "view: filter by id, title or branch" in titles
        assert "board: jump to Needs you" in titles and "board: next prompt" in titles
        assert "session: restore" not in titles  # app-7 is running
        assert all(":" in (t or "") for t in titles)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"session: kill")
        await wait_until(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmKillScreen))


async def test_quit_leaves_every_session_alone(
    make_app: MakeApp, engine: Engine, runtime: CannedRuntime
) -> None:
    before = {s.id: (s.lifecycle, s.activity) for s in engine.list()}
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.return_code is None
        await pilot.press("q")
        assert app.return_code == 0  # set by App.exit: q quit the app
        message = " ".join(str(r) for r in app._exit_renderables)
        assert "8 session(s) keep running" in message
    assert not any(call[0] in ("kill", "paste", "send_keys") for call in runtime.calls)
    assert {s.id: (s.lifecycle, s.activity) for s in engine.list()} == before


async def test_attach_outside_tmux_hands_the_terminal_over(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = Recorder(through=engine.attach_argv)
    monkeypatch.setattr(engine, "attach_argv", argv)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await pilot.press("enter")
        await wait_until(pilot, lambda: toasts)
        assert argv.calls[0][0] == ("app-7",)
        # A headless test app cannot suspend; it says what to run instead.
        assert toasts[0] == "cannot hand over this terminal; run: true ao-app-7"


def test_switch_client_only_on_the_same_tmux_server() -> None:
    class Runtime:
        socket_name = "ao"

    assert same_tmux_server(Runtime(), "/tmp/tmux-1000/ao,123,0")
    assert not same_tmux_server(Runtime(), "/tmp/tmux-1000/default,123,0")
    assert not same_tmux_server(Runtime(), None)


async def test_detail_review_tab_shows_threads_and_forwards_them(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The send is recorded (no agent runs in the sample state); the threads are app-6's PR.
    send = Recorder(result=(DeliveryResult.DELIVERED, "confirmed by the transcript"))
    monkeypatch.setattr(engine, "send", send)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-6")
        await pilot.press("i")
        assert isinstance(app.screen, DetailScreen)
        screen = app.screen
        await pilot.press("right", "right")  # Terminal → Transcript → Review
        review = screen.query_one("#detail-review", Static)
        assert screen.query_one(TabbedContent).active == "tab-review"
        assert review.region.height > 0
        await pilot.press("f")
        await wait_until(pilot, lambda: send.calls)
        (session_id, text), _ = send.calls[0]
        assert session_id == "app-6"
        assert text.startswith("Review comments on PR #39 are unresolved.")
        assert "1. docs/plugins.md:42 (mira):\nSay which slot names are reserved" in text
        assert "2. core/registry.py:17 (jon):" in text
        status = screen.query_one("#review-status", Static)
        await wait_until(pilot, lambda: "delivered" in str(status.content))


async def test_detail_has_terminal_transcript_events_and_info(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        assert isinstance(app.screen, DetailScreen)
        screen = app.screen
        await wait_until(
            pilot, lambda: "Do you want to proceed?" in screen.query_one(PaneView).capture
        )
        await wait_until(pilot, lambda: screen.query(Collapsible))
        titles = [str(c.title) for c in screen.query(Collapsible)]
        assert titles[0] == "you: Drop the legacy build dir"
        assert "tool: Grep: Makefile" in titles
        assert "tool: Bash: rm -rf build/legacy && git rm -q Makefile.legacy" in titles
        assert all(c.collapsed for c in screen.query(Collapsible))
        grep = next(c for c in screen.query(Collapsible) if str(c.title).startswith("tool: Grep"))
        body = str(grep.query_one(".turn-body", Static).content)
        assert '"pattern": "legacy"' in body and "Makefile:12:legacy: build/legacy" in body
        events = screen.query_one("#detail-events", DataTable)
        assert events.row_count == 1 and events.get_row_at(0)[1] == "spawned"
        info = str(screen.query_one("#detail-info", Static).content)
        assert info  # a Rich table: check its source rows instead
        from ao_tui.screens.detail import info_table

        table = info_table(screen.session, NOW)
        cells = [str(c) for c in table.columns[1]._cells]
        assert "hook: Bash: rm -rf build/legacy" in cells
        assert any("rm -rf build/legacy" in c and "permission" in c for c in cells)
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_new_needs_you_session_raises_toast_bell_and_osc9(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(notify_bell=True, refresh_interval=0.2)
    written: list[str] = []
    bells: list[bool] = []
    monkeypatch.setattr(app, "write_raw", written.append)
    monkeypatch.setattr(app, "bell", lambda: bells.append(True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        assert written == []  # sessions already waiting at start are not news
        waiting = WaitingFor("permission", "Bash", "make deploy")
        engine.store.update_session(
            "app-8",
            activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, NOW, "Bash", waiting),
        )
        await wait_until(pilot, lambda: written)
        assert toasts == ["app-8 needs you: permission: Bash make deploy"]
        assert bells == [True]
        assert written == [
            osc9("ao-tui: app-8 needs you: permission: Bash make deploy", inside_tmux=False)
        ]


def test_osc9_cannot_be_broken_by_a_title_and_passes_through_tmux() -> None:
    assert osc9("a\x07b\x1b]c", inside_tmux=False) == "\x1b]9;ab]c\x07"
    wrapped = osc9("hi", inside_tmux=True)
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"


async def test_p_hides_the_preview_and_stops_capturing(
    make_app: MakeApp, runtime: CannedRuntime
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        assert not app.preview.display
        await pilot.pause(0.1)
        count = sum(1 for call in runtime.calls if call[0] == "capture")
        await pilot.pause(0.6)
        assert sum(1 for call in runtime.calls if call[0] == "capture") == count
