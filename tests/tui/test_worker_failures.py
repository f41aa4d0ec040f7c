"""The cockpit never dies: each action, with the plugin under it failing, shows the error.

The plugins fail on cue (tests/support/failing.py): a runtime, SCM, workspace or tracker
that raises stands in for a failing tmux or git, because making real tmux or git fail at
one exact call of an action is not reliable. For every cockpit action the test makes the
plugin under it fail, then checks that the error is shown (a toast or the dialog's own
line) and that the app is still running and still answers keys.

The last test reads every worker in ao_tui/ from the source, so a new worker that could
take the app down (``exit_on_error`` left on, or a dialog not routed to the one handler)
fails here.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static, TextArea

import ao_tui
from ao_tui.app import CockpitApp
from ao_tui.screens.ci import CiScreen
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.diff import DiffScreen
from ao_tui.screens.help import HelpScreen
from ao_tui.screens.merge import MergeScreen
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from core.config import Config, ProjectConfig, TrackerConfig
from core.engine import Engine
from core.slots import SlotError
from tests.support.canned import sample_ci, sample_engine
from tests.support.failing import FailingPlugin, FailingRuntime
from tests.support.pilot_waits import wait_until
from tests.support.screenshots import settle
from tests.tui.conftest import Recorder
from tests.tui.test_actions import record_notifications, select

MakeApp = Callable[..., CockpitApp]

TMUX_FAILED = subprocess.CalledProcessError(
    1, ["tmux", "-L", "ao", "paste-buffer"], stderr=b"no server running on /tmp/tmux-0/ao\n"
)
GIT_FAILED = OSError(5, "Input/output error", "/repo/.git/objects/pack")


@pytest.fixture
def runtime() -> FailingRuntime:
    """The canned runtime, failing where a test says."""
    return FailingRuntime()


@pytest.fixture
def engine(tmp_path: Path, runtime: FailingRuntime) -> Engine:
    """The sample state (ten sessions) on the failing runtime."""
    return sample_engine(tmp_path / "sample", runtime)


def text_of(widget: Static) -> str:
    """A Static's text, whitespace folded."""
    return " ".join(str(widget.render()).split())


async def still_running(pilot: Any, app: CockpitApp) -> None:
    """The app survived: it runs, has no exit code, and a key still opens the help."""
    await pilot.pause(0.2)
    assert app.is_running and app.return_code is None
    while app.screen is not app.screen_stack[0]:
        app.pop_screen()
        await pilot.pause(0.05)
    await pilot.press("question_mark")
    await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
    assert app.return_code is None


def scm_fails(engine: Engine, error: BaseException) -> FailingPlugin:
    """Every SCM call raises ``error`` (the sample repository has no git behind it)."""
    scm = FailingPlugin("local", error)
    engine.registry.register("scm", "local", lambda: scm)
    engine.registry.register("scm", "github", lambda: scm)
    return scm


# board actions ------------------------------------------------------------------------


async def test_send_with_tmux_failing_shows_the_failure_and_keeps_the_dialog(
    make_app: MakeApp, runtime: FailingRuntime
) -> None:
    runtime.failures["paste"] = TMUX_FAILED
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-10")
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SendScreen)
        screen.query_one(TextArea).insert("run the tests")
        await pilot.press("ctrl+s")
        status = screen.query_one("#send-status", Static)
        await wait_until(pilot, lambda: "typing it failed" in text_of(status))
        assert "no server running" in text_of(status)
        assert screen.text == "run the tests"  # kept for another try
        assert app.screen is screen
        await still_running(pilot, app)


async def test_send_with_an_unexpected_plugin_bug_reaches_the_one_handler(
    make_app: MakeApp, runtime: FailingRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.failures["paste"] = RuntimeError("plugin bug: tmux buffer name is None")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-10")
        await pilot.press("s")
        screen = app.screen
        assert isinstance(screen, SendScreen)
        screen.query_one(TextArea).insert("run the tests")
        await pilot.press("ctrl+s")
        status = screen.query_one("#send-status", Static)
        await wait_until(pilot, lambda: "not sent: RuntimeError: plugin bug" in text_of(status))
        assert any(t.startswith("send failed: RuntimeError: plugin bug") for t in toasts)
        assert not screen.sending  # another try is possible
        await still_running(pilot, app)


@pytest.mark.parametrize(
    ("key", "session_id", "failures", "toast"),
    [
        ("y", "app-7", {"send_keys": TMUX_FAILED}, "answer yes app-7 failed: respond app-7"),
        ("n", "app-7", {"send_keys": TMUX_FAILED}, "answer no app-7 failed: respond app-7"),
        ("r", "app-11", {"list_panes": TMUX_FAILED}, "restore app-11 failed: restore app-11"),
        ("enter", "app-9", {"attach_argv": TMUX_FAILED}, "attach failed: attach argv app-9"),
    ],
    ids=["answer-yes", "answer-no", "restore", "attach"],
)
async def test_board_actions_with_tmux_failing_toast_and_carry_on(
    make_app: MakeApp,
    runtime: FailingRuntime,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    session_id: str,
    failures: dict[str, BaseException],
    toast: str,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, session_id)
        runtime.failures.update(failures)
        await pilot.press(key)
        await wait_until(pilot, lambda: any(t.startswith(toast) for t in toasts))
        await still_running(pilot, app)


async def test_kill_with_tmux_failing_toasts_and_keeps_the_session(
    make_app: MakeApp, engine: Engine, runtime: FailingRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.failures["kill"] = TMUX_FAILED
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-9")
        await pilot.press("x")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(t.startswith("kill app-9 failed") for t in toasts))
        assert engine.get("app-9").lifecycle.value == "running"  # nothing half-done
        await still_running(pilot, app)


async def test_preview_capture_failing_says_so_in_the_preview(
    make_app: MakeApp, runtime: FailingRuntime
) -> None:
    runtime.failures["capture"] = OSError(24, "Too many open files")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await select(pilot, app, "app-8")
        await wait_until(pilot, lambda: "Too many open files" in app.preview.pane._placeholder)
        assert "capture failed" in app.preview.pane._placeholder
        await still_running(pilot, app)


async def test_reconcile_failing_every_tick_toasts_once_and_keeps_the_board(
    make_app: MakeApp, runtime: FailingRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.failures["list_panes"] = SlotError("tmux server exited")
    app = make_app(reconcile=True, refresh_interval=0.05)
    toasts = record_notifications(app, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: any("reconcile failed" in t for t in toasts))
        await pilot.pause(0.5)  # ten more failed ticks
        assert sum("reconcile failed" in t for t in toasts) == 1
        assert "tmux server exited" in next(t for t in toasts if "reconcile failed" in t)
        assert app.sessions
        runtime.failures.clear()  # tmux is back: the loop is still there to see it
        ticks = runtime.calls.count(("list_panes",))
        await wait_until(pilot, lambda: runtime.calls.count(("list_panes",)) > ticks + 3)
        await still_running(pilot, app)


# dialogs ------------------------------------------------------------------------------


async def test_ci_view_with_git_failing_says_why_and_rerun_too(
    make_app: MakeApp, engine: Engine
) -> None:
    scm_fails(engine, GIT_FAILED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CiScreen)
        status = screen.query_one("#ci-status", Static)
        await wait_until(pilot, lambda: "Input/output error" in text_of(status))
        assert "cannot read CI" in text_of(status)
        await pilot.press("r")
        await wait_until(pilot, lambda: not screen.loading and "cannot read" in text_of(status))
        await still_running(pilot, app)


async def test_ci_excerpt_send_and_log_with_failures_stay_in_the_view(
    make_app: MakeApp,
    engine: Engine,
    runtime: FailingRuntime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = sample_ci(tmp_path / "ci")
    (tmp_path / "ci" / "ci-pytest.log").unlink()  # the log went away meanwhile
    (tmp_path / "ci" / "ci-pytest.log").mkdir()  # ... and a directory took its name
    # CI itself answers (its reading is covered above); the agent's tmux fails.
    monkeypatch.setattr(engine, "ci", Recorder(result=answer))
    runtime.failures["paste"] = TMUX_FAILED
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CiScreen)
        await wait_until(pilot, lambda: screen.query_one(DataTable).row_count > 0)
        await pilot.press("s")
        status = screen.query_one("#ci-status", Static)
        await wait_until(pilot, lambda: "typing it failed" in text_of(status))
        await pilot.press("l")
        await wait_until(pilot, lambda: app.screen is not screen)
        note = app.screen.query_one("#log-note", Static)
        await wait_until(pilot, lambda: "cannot read the log" in text_of(note))
        await still_running(pilot, app)


async def test_diff_with_git_failing_says_why(make_app: MakeApp, engine: Engine) -> None:
    scm_fails(engine, GIT_FAILED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-5")
        await pilot.press("d")
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        stat = screen.query_one("#diff-stat", Static)
        await wait_until(pilot, lambda: "cannot read the diff" in text_of(stat))
        assert "diff app-5 failed" in text_of(stat)
        await still_running(pilot, app)


async def test_diff_with_an_unexpected_plugin_bug_reaches_the_one_handler(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scm_fails(engine, KeyError("head_sha"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-5")
        await pilot.press("d")
        stat = app.screen.query_one("#diff-stat", Static)
        await wait_until(pilot, lambda: "KeyError" in text_of(stat))
        assert any(t.startswith("diff failed: KeyError") for t in toasts)
        await still_running(pilot, app)


async def test_merge_with_git_failing_stays_in_the_dialog(
    make_app: MakeApp, engine: Engine
) -> None:
    scm_fails(engine, GIT_FAILED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-4")
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, MergeScreen)
        await pilot.press("enter")
        status = screen.query_one("#merge-status", Static)
        await wait_until(pilot, lambda: "Input/output error" in text_of(status))
        assert "Not merged" in text_of(status) and not screen.merging
        assert app.screen is screen
        await still_running(pilot, app)


async def test_approve_with_git_failing_toasts(
    make_app: MakeApp, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    scm_fails(engine, GIT_FAILED)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        toasts = record_notifications(app, monkeypatch)
        await select(pilot, app, "app-4")
        await pilot.press("A")
        await wait_until(pilot, lambda: any(t.startswith("approve app-4 failed") for t in toasts))
        await still_running(pilot, app)


async def test_new_session_with_git_failing_keeps_the_form(
    make_app: MakeApp, engine: Engine
) -> None:
    failing = FailingPlugin("worktree", GIT_FAILED)
    engine.registry.register("workspace", "worktree", lambda: failing)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        screen = app.screen
        assert isinstance(screen, NewSessionScreen)
        screen.query_one("#new-task", TextArea).insert("write the 2.0 changelog")
        await pilot.press("ctrl+s")
        status = screen.query_one("#new-status", Static)
        await wait_until(pilot, lambda: "not spawned" in text_of(status))
        assert "Input/output error" in text_of(status) and not screen.spawning
        await still_running(pilot, app)


async def test_new_session_issue_lookup_with_the_tracker_failing(
    make_app: MakeApp, engine: Engine
) -> None:
    project = engine.config.projects["app"]
    engine.config = Config(
        projects={"app": ProjectConfig(**{**dict(project), "tracker": TrackerConfig()})}
    )
    tracker = FailingPlugin("local", PermissionError(13, "Permission denied", "TASKS.md"))
    engine.registry.register("tracker", "local", lambda: tracker)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("N")
        screen = app.screen
        assert isinstance(screen, NewSessionScreen)
        screen.query_one("#new-issue", Input).value = "12"
        status = screen.query_one("#new-status", Static)
        await wait_until(pilot, lambda: "Permission denied" in text_of(status), timeout=5)
        await still_running(pilot, app)


HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "transcripts"


async def test_detail_of_a_session_with_a_hostile_transcript_loads(
    tmp_path: Path, runtime: FailingRuntime
) -> None:
    engine = sample_engine(tmp_path / "sample", runtime)
    transcript = Path(str(engine.get("app-7").extra["transcript_path"]))
    nested = (HOSTILE / "deeply-nested-message.jsonl").read_text(encoding="utf-8")
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write(nested)
    runtime.failures["capture"] = TMUX_FAILED
    app = CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-7")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        await wait_until(pilot, lambda: screen.query("TranscriptView"))
        await still_running(pilot, app)


async def test_detail_whose_transcript_cannot_be_read_says_why(
    tmp_path: Path, runtime: FailingRuntime
) -> None:
    engine = sample_engine(tmp_path / "sample", runtime)
    transcript = Path(str(engine.get("app-7").extra["transcript_path"]))
    transcript.unlink()
    transcript.mkdir()  # a directory where the transcript was
    app = CockpitApp(engine, reconcile=False, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-7")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        status = screen.query_one("#transcript-status", Static)
        await wait_until(pilot, lambda: "cannot read" in text_of(status))
        await still_running(pilot, app)


async def test_review_forward_with_tmux_failing_says_not_forwarded(
    make_app: MakeApp, runtime: FailingRuntime
) -> None:
    runtime.failures["paste"] = TMUX_FAILED
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await select(pilot, app, "app-6")
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        screen.query_one("#detail-tabs").active = "tab-review"  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        await pilot.press("f")
        status = screen.query_one("#review-status", Static)
        await wait_until(pilot, lambda: "typing it failed" in text_of(status))
        assert not screen.forwarding
        await still_running(pilot, app)


# every worker -------------------------------------------------------------------------


def _workers(tree: ast.AST) -> list[tuple[str, ast.Call, ast.ClassDef | None]]:
    """Each ``@work(...)`` decorator and ``run_worker(...)`` call, with its class."""
    found: list[tuple[str, ast.Call, ast.ClassDef | None]] = []
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        for node in ast.walk(cls):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "work":
                        found.append((node.name, deco, cls))
                    elif getattr(deco, "id", "") == "work":
                        raise AssertionError(f"bare @work on {node.name}: give its arguments")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "run_worker":
                found.append(("run_worker", node, cls))
    return found


def _base_names(cls: ast.ClassDef) -> set[str]:
    names = set()
    for base in cls.bases:
        node = base.value if isinstance(base, ast.Subscript) else base
        if isinstance(node, ast.Name):
            names.add(node.id)
    return names


def test_every_worker_reports_to_the_one_handler_instead_of_exiting() -> None:
    root = Path(ao_tui.__file__).parent
    seen = 0
    problems = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call, cls in _workers(tree):
            seen += 1
            where = f"{path.relative_to(root)}:{call.lineno} {name}"
            keywords = {k.arg: k.value for k in call.keywords}
            flag = keywords.get("exit_on_error")
            if not (isinstance(flag, ast.Constant) and flag.value is False):
                problems.append(f"{where}: exit_on_error=False is missing")
            bases = _base_names(cls) if cls is not None else set()
            if cls is not None and "App" not in bases and "WorkerScreen" not in bases:
                problems.append(f"{where}: {cls.name} is neither the app nor a WorkerScreen")
    assert seen >= 15, seen  # the walk found the workers (app and every dialog)
    assert problems == []
