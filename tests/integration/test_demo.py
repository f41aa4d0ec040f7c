"""The demo: its scripted agent looks and writes like Claude Code, and the sandbox works end
to end on real tmux (the test socket) and real git.

The first tests check the demo program's pieces against ao-tui's own readers (pane patterns,
hook log, transcript and status file readers), so the demo is detected exactly like the real
agent. The others build real sandboxes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import ao_tui.cli.cockpit as cli
from ao_tui.demo import DEMO_TASKS, DemoSandbox, build_demo, write_sample_project
from core.engine import Engine
from core.models import (
    ActivitySignal,
    ActivityState,
    DeliveryResult,
    Lifecycle,
    Session,
    WaitingFor,
    Zone,
)
from core.slots import AgentContext
from core.store import Store
from core.zones import zone_of
from plugins.agent.claude_code.hooks import read_hook_log
from plugins.agent.claude_code.paths import find_transcript
from plugins.agent.claude_code.screen import claude_pane_signal
from plugins.agent.claude_code.status import is_current, read_status_file
from plugins.agent.claude_code.transcript import read_transcript
from plugins.agent.demo import SOURCE_ROOT, DemoAgent
from plugins.agent.demo_program.changes import BREAK_TOTAL, FIX_TOTAL, GENERAL_CHANGES, review_note
from plugins.agent.demo_program.keys import Key, KeyDecoder
from plugins.agent.demo_program.scenario import (
    API_ERROR_TEXT,
    BANNER_TITLE,
    DERIVED_SCENARIOS,
    INTERRUPTED_SHOWN,
    derive_scenario,
)
from plugins.agent.demo_program.screen import (
    Entry,
    PermissionAsk,
    Screen,
    prompt_entry,
    render,
    result_entry,
)
from plugins.agent.demo_program.signals import SignalWriter, earlier_conversation, hook_commands
from plugins.agent.demo_program.tools import commit, run_tests
from tests.conftest import run_git
from tests.support.engine import wait_for

SPEED = 10.0
RM_BUILD = PermissionAsk("Bash command", "rm -rf build", "Remove stale build output", "rm")


# -- the screen ------------------------------------------------------------------------------


def _screen(mode: str) -> Screen:
    """A screen in ``mode`` with a long conversation, long lines and a long draft."""
    screen = Screen(about=["scripted", "session 1234abcd · scenario x", "/tmp/" + "deep/" * 30])
    screen.history += [
        prompt_entry("Fix the flaky checkout test " * 8),
        Entry("I'll start by reading the code. " * 6),
        Entry("Bash(git add shop/pricing.py tests/test_format_price.py && git commit -m x)"),
        result_entry("Ran 5 tests in 0.001s\nOK"),
    ] * 6
    screen.mode = mode
    screen.spinner = "✻ Thinking… (3s · ↓ 42 tokens)"
    if mode == "permission":
        screen.permission = PermissionAsk(
            "Bash command", "rm -rf " + "build/" * 30, "Remove stale build output", "rm"
        )
    return screen


@pytest.mark.parametrize("mode", ["idle", "working", "permission"])
@pytest.mark.parametrize(("width", "height"), [(200, 50), (80, 24), (60, 12), (80, 3)])
def test_screen_stays_within_80_columns_and_the_terminal_height(
    mode: str, width: int, height: int
) -> None:
    screen = _screen(mode)
    screen.draft = "a long message " * 20
    screen.queued = ["queued " * 30]
    lines = render(screen, width, height)
    assert 0 < len(lines) <= height
    assert all(len(line) <= min(width, 80) for line in lines)
    if height >= 24:
        assert BANNER_TITLE in lines[0]
        assert any("Ran 5 tests" in line for line in lines)


def _signal(screen: Screen) -> tuple[ActivityState, str, WaitingFor | None]:
    signal = claude_pane_signal("\n".join(render(screen, 200, 50)), 1.0)
    assert signal is not None
    return signal.state, signal.detail, signal.waiting_for


def test_each_screen_reads_as_the_same_state_as_claude_code_to_the_pane_detector() -> None:
    base = Screen(about=["scripted"], history=[prompt_entry("clean up"), Entry("Bash(ls)")])

    working = dataclasses.replace(base, mode="working", spinner="✻ Thinking… (3s · ↓ 4 tokens)")
    assert _signal(working)[0] is ActivityState.WORKING
    working.queued = ["also this"]
    assert _signal(working)[:2] == (ActivityState.WORKING, "message queued")

    asking = dataclasses.replace(base, mode="permission", permission=RM_BUILD)
    state, _, waiting = _signal(asking)
    assert state is ActivityState.WAITING_INPUT
    assert waiting == WaitingFor("permission", "Bash", "rm -rf build")

    idle = dataclasses.replace(base, history=[*base.history, Entry("Worked for 2s", "✻ ")])
    assert _signal(idle)[0] is ActivityState.IDLE
    idle.draft = "half typed"
    assert _signal(idle)[0] is ActivityState.IDLE

    failed = dataclasses.replace(base, history=[*base.history, Entry(API_ERROR_TEXT)])
    state, detail, _ = _signal(failed)
    assert state is ActivityState.ERROR
    assert detail.startswith("API Error: 500")

    stopped = dataclasses.replace(base, history=[*base.history, result_entry(INTERRUPTED_SHOWN)])
    assert _signal(stopped)[:2] == (ActivityState.IDLE, "interrupted by user")


# -- the keyboard ------------------------------------------------------------------------------


def test_key_decoder_takes_a_bracketed_paste_whole_however_it_is_split() -> None:
    decoder = KeyDecoder()
    keys = decoder.feed("hi\x1b[200~line one\nline")
    keys += decoder.feed(" two; ü \x1b[20")  # the end marker split across reads
    assert keys == [Key("text", "hi")]
    keys = decoder.feed("1~\r")
    assert keys == [Key("paste", "line one\nline two; ü "), Key("enter")]


def test_key_decoder_tells_escape_from_sequences_and_reads_control_keys() -> None:
    decoder = KeyDecoder()
    assert decoder.feed("\x1b") == []
    assert decoder.holds_escape()
    assert decoder.flush() == [Key("escape")]
    assert decoder.feed("\x1b[A1") == [Key("text", "1")]  # an arrow key does nothing
    assert decoder.feed("é\x7f\x03\x1bx") == [
        Key("text", "é"),
        Key("backspace"),
        Key("interrupt"),
        Key("escape"),
        Key("text", "x"),
    ]


def test_key_decoder_never_fails_on_odd_input() -> None:
    rng = random.Random(7)
    alphabet = "ab1\r\n\x03\x7f\x1b[~O0;2é\u276f\x00\t"
    decoder = KeyDecoder()
    for _ in range(2000):
        chunk = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for key in decoder.feed(chunk) + decoder.flush():
            assert key.kind in {"text", "paste", "enter", "escape", "backspace", "interrupt"}


# -- the signals ------------------------------------------------------------------------------


def _state(signal: ActivitySignal | None) -> ActivityState | None:
    return None if signal is None else signal.state


def _hooked_worktree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A worktree with ao-tui's real hooks installed; (worktree, hook log, config dir)."""
    worktree = tmp_path / "wt"
    worktree.mkdir()
    state = tmp_path / "state"
    ctx = AgentContext("demo-1", "u", worktree, state, "task")
    DemoAgent().prepare(ctx)
    return worktree, state / "hooks.jsonl", tmp_path / "claude"


def test_signals_parse_like_claude_codes_through_a_permission_prompt_and_a_turn_end(
    tmp_path: Path,
) -> None:
    worktree, log, config = _hooked_worktree(tmp_path)
    writer = SignalWriter("11111111-2222-3333-4444-555555555555", worktree, config, resume=False)
    writer.hook("SessionStart", source="startup", model="m")
    writer.user_prompt("clean build/")
    writer.hook("UserPromptSubmit", prompt="clean build/")
    tool_input = {"command": "rm -rf build", "description": "Remove stale build output"}
    tool_id = writer.tool_use("Bash", tool_input)
    writer.hook("PreToolUse", tool_name="Bash", tool_input=tool_input, tool_use_id=tool_id)
    writer.hook("PermissionRequest", tool_name="Bash", tool_input=tool_input)
    writer.status("waiting", "permission prompt")

    hooks = read_hook_log(log.read_text().splitlines())
    assert hooks.malformed == 0
    assert hooks.transcript_path == str(writer.transcript)
    assert [p.text for p in hooks.prompts] == ["clean build/"]
    signal = hooks.signal()
    assert _state(signal) is ActivityState.WAITING_INPUT
    assert signal is not None and signal.waiting_for == WaitingFor(
        "permission", "Bash", "rm -rf build"
    )
    assert find_transcript(config, writer.session_id, worktree) == writer.transcript
    transcript = read_transcript(writer.transcript.read_text().splitlines())
    assert transcript.malformed == 0 and transcript.unknown_count == 0
    assert [call.command for call in transcript.pending_tools.values()] == ["rm -rf build"]
    status = read_status_file(writer.status_path)
    assert status is not None and is_current(status)
    assert (status.status, status.waiting_for, status.version) == (
        "waiting",
        "permission prompt",
        "demo",
    )
    assert status.session_id == writer.session_id and status.cwd == str(worktree)

    writer.tool_result(tool_id, "(no output)", is_error=False, result={})
    writer.hook("PostToolUse", tool_name="Bash", tool_input=tool_input, tool_response={})
    writer.assistant_text("Done.", final=True)
    writer.hook("Stop", last_assistant_message="Done.")
    writer.status("idle")
    writer.turn_end(1200, after_stop_hook=True)
    hooks = read_hook_log(log.read_text().splitlines())
    transcript = read_transcript(writer.transcript.read_text().splitlines())
    assert _state(hooks.signal()) is ActivityState.IDLE
    assert _state(transcript.signal()) is ActivityState.IDLE
    assert transcript.output_tokens > 0 and transcript.last_assistant_text == "Done."

    writer.remove_status()
    assert not writer.status_path.exists()


def test_api_error_interrupt_and_resume_are_written_like_claude_code(tmp_path: Path) -> None:
    worktree, log, config = _hooked_worktree(tmp_path)
    session = "22222222-2222-3333-4444-555555555555"
    writer = SignalWriter(session, worktree, config, resume=False)
    writer.user_prompt("upgrade")
    writer.api_error(API_ERROR_TEXT)
    writer.hook("StopFailure", error="server_error", last_assistant_message=API_ERROR_TEXT)
    writer.turn_end(900, after_stop_hook=False)
    assert _state(read_hook_log(log.read_text().splitlines()).signal()) is ActivityState.ERROR
    transcript = read_transcript(writer.transcript.read_text().splitlines())
    assert _state(transcript.signal()) is ActivityState.ERROR

    writer.user_prompt("try again")
    writer.tool_use("Read", {"file_path": "x"})
    writer.interrupt(for_tool=True)
    signal = read_transcript(writer.transcript.read_text().splitlines()).signal()
    assert signal is not None and (signal.state, signal.detail) == (
        ActivityState.IDLE,
        "interrupted by user",
    )

    last = json.loads(writer.transcript.read_text().splitlines()[-1])["uuid"]
    resumed = SignalWriter(session, worktree, config, resume=True)
    resumed.user_prompt("go on")
    entry = json.loads(writer.transcript.read_text().splitlines()[-1])
    assert entry["parentUuid"] == last
    assert read_transcript(writer.transcript.read_text().splitlines()).prompts[-1].text == "go on"
    shown = earlier_conversation(writer.transcript)
    assert [entry.text for entry in shown if entry.first == prompt_entry("").first] == [
        "upgrade",
        "try again",
        "go on",
    ]


def test_hook_matchers_select_commands_as_claude_does() -> None:
    settings = {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "bash-only"}]},
                {"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "edits"}]},
                {"hooks": [{"type": "command", "command": "all"}, {"type": "prompt"}]},
            ]
        }
    }
    assert hook_commands(settings, "PreToolUse", "Bash") == ["bash-only", "all"]
    assert hook_commands(settings, "PreToolUse", "Write") == ["edits", "all"]
    assert hook_commands(settings, "Stop", "") == []
    assert hook_commands({"hooks": "odd"}, "Stop", "") == []


# -- the scripted work and the plugin -----------------------------------------------------------


def test_scripted_changes_keep_the_sample_project_tested_except_the_breaking_one(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "shop"
    write_sample_project(repo)
    assert not run_tests(repo).is_error
    for change in GENERAL_CHANGES:
        planned = change.plan(repo)
        assert planned is not None, change.message
        for edit in planned:
            (repo / edit.path).write_text(edit.new, encoding="utf-8")
        outcome = run_tests(repo)
        assert not outcome.is_error, (change.message, outcome.content)
        assert "OK" in outcome.shown
        assert not commit(repo, [e.path for e in planned], change.message).is_error
        assert change.plan(repo) is None  # never applied twice
    for change, breaks in ((BREAK_TOTAL, True), (FIX_TOTAL, False)):
        planned = change.plan(repo)
        assert planned is not None
        for edit in planned:
            (repo / edit.path).write_text(edit.new, encoding="utf-8")
        outcome = run_tests(repo)
        assert outcome.is_error is breaks
    assert "FAIL: test_total_counts_quantities" not in outcome.shown
    assert review_note(1).plan(repo) is not None
    log = run_git(repo, "log", "--format=%s").splitlines()
    assert log[: len(GENERAL_CHANGES)] == [c.message for c in reversed(GENERAL_CHANGES)]
    assert not list(repo.rglob("__pycache__"))


def test_demo_agent_launches_the_program_with_the_scenario_of_the_task(tmp_path: Path) -> None:
    agent = DemoAgent()
    ctx = AgentContext(
        "demo-1",
        "33333333-2222-3333-4444-555555555555",
        tmp_path,
        tmp_path / "state",
        "- clean up\n\ndemo-scenario: permission",
        env={"AO_TUI_DEMO_SPEED": "4"},
    )
    plan = agent.launch(ctx)
    assert plan.argv[:3] == [sys.executable, "-m", "plugins.agent.demo_program"]
    assert plan.argv[3:] == [
        "--scenario",
        "permission",
        "--speed",
        "4.0",
        "--session-id",
        ctx.agent_session_id,
        "--",
        ctx.prompt,
    ]
    assert plan.env["PYTHONPATH"].split(os.pathsep)[0] == str(SOURCE_ROOT)
    chosen = dataclasses.replace(ctx, extra={"demo_scenario": "error"})
    resumed = agent.resume(chosen).argv
    assert resumed[3:5] == ["--scenario", "error"] and resumed[-2:] == [
        "--resume",
        ctx.agent_session_id,
    ]
    assert agent.name == "demo" and agent.answer_keys(True) == ["1"]


def test_untagged_sessions_get_a_stable_scenario_that_never_quits() -> None:
    picks = {derive_scenario(f"{n:08d}-uuid", "do it") for n in range(60)}
    assert picks == set(DERIVED_SCENARIOS)
    assert derive_scenario("abc", "x") == derive_scenario("abc", "x")
    assert derive_scenario("abc", "x\ndemo-scenario: exit") == "exit"


# -- the sandbox on real tmux and git -----------------------------------------------------------


def _refresh(sandbox: DemoSandbox) -> list[Session]:
    if sandbox.watcher is None:  # nothing watches: tick here
        sandbox.engine.reconcile()
    return sandbox.engine.list()


def _by_scenario(sandbox: DemoSandbox, scenario: str) -> Session:
    title = next(task.title for task in DEMO_TASKS if task.scenario == scenario)
    return next(s for s in sandbox.engine.list() if s.title == title)


def _tmux_sessions(socket: str, tmpdir: str | None = None) -> set[str]:
    env = dict(os.environ)
    if tmpdir is not None:
        env["TMUX_TMPDIR"] = tmpdir
    proc = subprocess.run(
        ["tmux", "-L", socket, "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def _zones(sandbox: DemoSandbox) -> set[Zone]:
    return {zone_of(session) for session in _refresh(sandbox)}


def _state_of(sandbox: DemoSandbox, session_id: str) -> ActivityState:
    return sandbox.engine.reconcile_one(session_id).activity.state


def _reactions(engine: Engine, session_id: str) -> list[tuple[str, str]]:
    """(key, outcome) of each reaction event of one session, oldest first."""
    return [
        (e.data["key"], e.data["outcome"])
        for e in engine.store.events_after(0)
        if e.session_id == session_id and e.kind == "reaction"
    ]


def _commits(repo: Path, branch: str) -> list[str]:
    return run_git(repo, "log", "--format=%s", f"main..{branch}").splitlines()


@pytest.mark.tmux
@pytest.mark.reactions
def test_the_demo_sandbox_runs_every_zone_answers_and_cleans_up(
    tmp_path: Path, isolated_env: Path
) -> None:
    root = tmp_path / "demo"
    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    sandbox = build_demo(root, sessions=6, speed=SPEED)
    try:
        # What the cockpit runs: the engine loop with the reactions, holding the lease.
        watcher = sandbox.watch()
        engine = sandbox.engine
        assert os.environ["AO_TUI_HOME"] == str(sandbox.home)
        assert all(s.agent == "demo" and s.title.startswith("[demo]") for s in engine.list())
        # Within ten seconds the board spreads over at least four zones, and over time it
        # passes through all six: the scripted operator merges the quick session (Done) and
        # approves a green one (Ready to merge); the ci-failed reaction sends the failing CI
        # to the agent that broke the tests, which fixes it on its own (Fixing).
        seen: set[Zone] = set()

        def spread() -> bool:
            now = _zones(sandbox)
            seen.update(now)
            return len(now) >= 4

        wait_for(spread, timeout=10, interval=0.2)

        def all_six() -> bool:
            spread()
            return seen == set(Zone)

        wait_for(all_six, timeout=30, interval=0.2)
        quick = engine.get(_by_scenario(sandbox, "exit").id)
        assert quick.lifecycle is Lifecycle.MERGED
        assert quick.pr is not None and quick.pr.merged_sha
        assert sandbox.operator is not None and sandbox.operator.errors == []

        asking = _by_scenario(sandbox, "permission").id
        wait_for(lambda: _state_of(sandbox, asking) is ActivityState.WAITING_INPUT)
        waiting_for = engine.get(asking).activity.waiting_for
        assert waiting_for is not None and waiting_for.command == "rm -rf build"
        assert zone_of(engine.get(asking)) is Zone.NEEDS_YOU
        answered = engine.respond(asking, True)
        assert answered.activity.state is not ActivityState.WAITING_INPUT

        idle = _by_scenario(sandbox, "commit-and-idle").id
        wait_for(lambda: _state_of(sandbox, idle) is ActivityState.IDLE)
        result, _ = engine.send(idle, "please also mention it in the changelog")
        assert result is DeliveryResult.DELIVERED

        failing = _by_scenario(sandbox, "failing-test")
        wait_for(lambda: _state_of(sandbox, failing.id) is ActivityState.IDLE)
        wait_for(
            lambda: _state_of(sandbox, _by_scenario(sandbox, "error").id) is ActivityState.ERROR
        )
        assert _by_scenario(sandbox, "long-work").activity.state is ActivityState.WORKING

        repo = root / "shop"
        fixed = ["Count quantities in Cart.total_cents() again", "Speed up Cart.total_cents()"]
        wait_for(lambda: _commits(repo, failing.branch) == fixed)
        # Nobody but the reactions typed into it: one ci-failed send, with the excerpt.
        events = [e for e in engine.store.events_after(0) if e.session_id == failing.id]
        sent = [e.data for e in events if e.kind == "reaction" and e.data["key"] == "ci-failed"]
        assert [(r["outcome"], r["attempt"]) for r in sent[:1]] == [("delivered", 1)]
        assert sent[0]["text"].startswith("CI failed on ")
        assert "FAIL: test_total_counts_quantities" in sent[0]["text"]
        assert [e.data["result"] for e in events if e.kind == "message"] == ["delivered"]
        wait_for(lambda: _reactions(engine, failing.id)[-1:] == [("ci-failed", "cleared")])
        # The quick agent exits on purpose: the demo's config has that told, not restored.
        assert ("agent-exited", "notified") in _reactions(engine, quick.id)
        assert not any(outcome == "restored" for _, outcome in _reactions(engine, quick.id))
        assert len(_commits(repo, engine.get(idle).branch)) >= 2
        # After the answer the command ran and the script went on to commit some more.
        wait_for(lambda: len(_commits(repo, engine.get(asking).branch)) >= 2)

        engine.kill(failing.id)
        restored = engine.restore(failing.id)
        assert restored.lifecycle is Lifecycle.RUNNING
        wait_for(
            lambda: engine.reconcile_one(failing.id).activity.detail == "session resume",
            timeout=10,
        )
        result, _ = engine.send(failing.id, "fix the test you broke")
        assert result is DeliveryResult.DELIVERED
        assert watcher.watching.is_set() and watcher.errors == []
    finally:
        message = sandbox.close()
    assert "removed" in message
    assert not root.exists()
    assert not {name for name in _tmux_sessions(socket) if name.startswith("ao-demo-")}
    assert os.environ["AO_TUI_HOME"] == str(isolated_env)
    assert os.environ["AO_TUI_TMUX_SOCKET"] == socket


@pytest.mark.tmux
def test_close_keep_leaves_the_sandbox_running_and_says_how_to_reach_it(tmp_path: Path) -> None:
    root = tmp_path / "kept"
    sandbox = build_demo(root, sessions=2, speed=SPEED)
    names = {s.tmux for s in sandbox.engine.list()}
    message = sandbox.close(keep=True)
    assert root.is_dir() and (root / "ao.config.yaml").is_file()
    assert f"AO_TUI_HOME={sandbox.home}" in message
    assert f"AO_TUI_TMUX_SOCKET={sandbox.tmux_socket}" in message
    assert f"--config {sandbox.config_path} status" in message
    assert names == {"ao-demo-1", "ao-demo-2"}
    assert "ao-demo-2" in _tmux_sessions(sandbox.tmux_socket)
    assert os.environ["AO_TUI_HOME"] != str(sandbox.home)


@pytest.mark.tmux
def test_without_a_chosen_socket_the_sandbox_runs_and_kills_its_own_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AO_TUI_TMUX_SOCKET")
    monkeypatch.delenv("TMUX_TMPDIR")
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")  # short socket paths
    sandbox = build_demo(sessions=2, speed=SPEED)
    try:
        assert sandbox.owns_tmux_server
        assert os.environ["AO_TUI_TMUX_SOCKET"] == sandbox.tmux_socket
        assert sandbox.tmux_tmpdir == str(sandbox.root / "tmux")
        assert _tmux_sessions(sandbox.tmux_socket, sandbox.tmux_tmpdir) >= {"ao-demo-2"}
    finally:
        sandbox.close()
    assert _tmux_sessions(sandbox.tmux_socket, sandbox.tmux_tmpdir) == set()
    assert not sandbox.root.exists()
    assert "AO_TUI_TMUX_SOCKET" not in os.environ


@pytest.mark.tmux
def test_cli_demo_headless_prints_the_board_then_removes_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the CLI's one-second pause is faked, so the 20 boards take no 20 s; the sandbox,
    # tmux, git and the demo agents are real.
    fast = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(0.05), strftime=time.strftime, time=time.time
    )
    monkeypatch.setattr(cli, "time", fast)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(
        cli.main, ["demo", "--headless", "--sessions", "3", "--speed", str(SPEED)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("ID      ZONE") == 20
    # The title column is what the 80-column table cuts, by as much as the PR and CI
    # columns need at that moment: only its start is sure to show.
    assert "[demo] Clamp discounts" in result.output
    assert "demo sandbox removed" in result.output
    assert not list(tmp_path.glob("ao-tui-demo-*"))


@pytest.mark.tmux
@pytest.mark.reactions
def test_the_headless_demo_reacts_to_the_failing_ci_as_the_cockpit_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No cockpit runs: the headless demo must watch the sandbox itself, or the failing CI
    # would sit there. Its boards are paced at 0.5 s (10 s in all) and the sandbox is kept,
    # so its event log can be read after.
    fast = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(0.5), strftime=time.strftime, time=time.time
    )
    monkeypatch.setattr(cli, "time", fast)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    argv = ["demo", "--headless", "--keep", "--sessions", "5", "--speed", str(SPEED)]
    result = CliRunner().invoke(cli.main, argv)
    assert result.exit_code == 0, result.output
    (root,) = tmp_path.glob("ao-tui-demo-*")
    store = Store(root / "home" / "state.db")
    try:
        reactions = [
            (e.session_id, e.data["key"], e.data["outcome"])
            for e in store.events_after(0)
            if e.kind == "reaction"
        ]
    finally:
        store.close()
    assert ("demo-5", "ci-failed", "delivered") in reactions


@pytest.mark.tmux
@pytest.mark.parametrize("ending", ["terminal closed", "SIGTERM"])
def test_the_cockpit_demo_cleans_up_when_its_terminal_closes_or_it_is_killed(
    tmp_path: Path, ending: str
) -> None:
    # The real `ao-tui demo` cockpit in a real tmux pane (the test socket) stands in for
    # the operator's terminal; killing that tmux session hangs the cockpit's terminal up.
    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    argv = [sys.executable, "-m", "ao_tui", "demo", "--sessions", "2", "--speed", str(SPEED)]
    subprocess.run(
        [
            *("tmux", "-L", socket, "new-session", "-d", "-s", "operator", "-x", "80", "-y", "24"),
            *("-e", f"TMPDIR={tmp_path}", "--", *argv),
        ],
        env=env,
        check=True,
    )

    def demo_sessions() -> set[str]:
        return {name for name in _tmux_sessions(socket) if name.startswith("ao-demo-")}

    deadline = time.monotonic() + 60
    while len(demo_sessions()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    roots = list(tmp_path.glob("ao-tui-demo-*"))
    assert len(roots) == 1 and demo_sessions() == {"ao-demo-1", "ao-demo-2"}
    if ending == "SIGTERM":
        pid = subprocess.run(
            ["tmux", "-L", socket, "display-message", "-p", "-t", "=operator:", "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        os.kill(int(pid), 15)
    else:
        subprocess.run(["tmux", "-L", socket, "kill-session", "-t", "=operator"], check=True)
    deadline = time.monotonic() + 30
    while (roots[0].exists() or demo_sessions()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not roots[0].exists()
    assert demo_sessions() == set()
