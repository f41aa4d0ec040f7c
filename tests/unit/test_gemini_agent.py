"""The Gemini CLI plugin without the binary: its hooks, transcript reader, paths, launch
and resume, and delivery proof, on files shaped as Gemini CLI 0.61.0 writes them (the golden
captures of the real binary are checked in tests/unit/test_gemini_captures.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.activity.hook_log import hook_command
from core.models import ActivitySignal, ActivityState, Delivery, SignalSource, WaitingFor
from core.slots import AgentContext, AgentSettings, SlotError
from plugins.agent.gemini import GeminiAgent
from plugins.agent.gemini.hooks import (
    SETTINGS_FILE,
    GeminiHookState,
    hooks_settings,
    install_hooks,
)
from plugins.agent.gemini.paths import (
    find_transcript,
    holds_conversation,
    latest_session,
    project_hash,
)
from plugins.agent.gemini.reader import read_transcript
from plugins.agent.gemini.screen import KEEP_TRYING
from plugins.agent.gemini.sources import agreed
from plugins.agent.gemini.turns import parse_turns

SESSION = "0b5f1c8e-7d2a-4c3b-9e1f-2a3b4c5d6e7f"


def _hook(event: str, at: float, **payload: Any) -> str:
    body = {"session_id": SESSION, "hook_event_name": event, **payload}
    return json.dumps({"ao_ts": f"{at:.9f}", "payload": body})


def _header(worktree: Path, session: str = SESSION) -> dict[str, Any]:
    return {
        "sessionId": session,
        "projectHash": project_hash(worktree),
        "startTime": "2026-12-03T02:27:51.631Z",
        "lastUpdated": "2026-12-03T02:27:51.631Z",
        "kind": "main",
    }


CONTEXT = {
    "id": "ctx",
    "timestamp": "2026-12-03T02:27:51.631Z",
    "type": "user",
    "content": [{"text": "<session_context>\nThis is the Gemini CLI.\n</session_context>"}],
}


def _message(ident: str, second: int, kind: str, content: Any, **more: Any) -> dict[str, Any]:
    stamp = f"2026-12-03T02:28:{second:02d}.000Z"
    return {"id": ident, "timestamp": stamp, "type": kind, "content": content, **more}


def _transcript(worktree: Path, *messages: dict[str, Any], session: str = SESSION) -> list[str]:
    lines = [_header(worktree, session), {"$set": {"messages": [CONTEXT]}}]
    for message in messages:
        lines += [message, {"$set": {"lastUpdated": message["timestamp"]}}]
    return [json.dumps(line) for line in lines]


def _write_transcript(home: Path, worktree: Path, lines: list[str], session: str = SESSION) -> Path:
    chats = home / ".gemini" / "tmp" / worktree.name / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    path = chats / f"session-2026-12-03T02-27-{session[:8]}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ctx(tmp_path: Path, **kw: Any) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    base: dict[str, Any] = {
        "session_id": "app-1",
        "agent_session_id": SESSION,
        "worktree": worktree,
        "state_dir": tmp_path / "state",
        "prompt": "fix the login bug",
        "env": {"HOME": str(tmp_path / "home")},
    }
    base.update(kw)
    return AgentContext(**base)


# -- hooks ---------------------------------------------------------------------------------


def test_hooks_are_installed_in_the_worktree_and_rewritten_not_duplicated(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    agent = GeminiAgent()
    assert agent.prepare(ctx) == [SETTINGS_FILE]
    settings = json.loads((ctx.worktree / SETTINGS_FILE).read_text())
    assert settings == hooks_settings(ctx.state_dir / "hooks.jsonl")
    assert settings["hooks"]["AfterAgent"][0]["hooks"][0]["command"] == hook_command(
        ctx.state_dir / "hooks.jsonl"
    )
    assert agent.prepare(ctx) == [SETTINGS_FILE]  # a restore prepares again
    assert json.loads((ctx.worktree / SETTINGS_FILE).read_text()) == settings


@pytest.mark.parametrize(
    "existing",
    [
        '{"model": {"name": "gemini-2.5-pro"}}',
        '{"hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "notify-me"}]}]}}',
        "not json {",
    ],
    ids=["project-settings", "project-hooks", "broken"],
)
def test_a_projects_own_settings_are_left_alone(tmp_path: Path, existing: str) -> None:
    ctx = _ctx(tmp_path)
    path = ctx.worktree / SETTINGS_FILE
    path.parent.mkdir()
    path.write_text(existing)
    assert GeminiAgent().prepare(ctx) == []  # nothing to exclude: nothing of ours
    assert path.read_text() == existing


def test_a_symlinked_settings_file_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    worktree = tmp_path / "wt"
    (worktree / ".gemini").mkdir(parents=True)
    (worktree / SETTINGS_FILE).symlink_to(target)
    assert not install_hooks(worktree, tmp_path / "log")
    assert target.read_text() == "{}"


def test_hook_events_make_a_turn() -> None:
    state = GeminiHookState()

    def after(line: str) -> tuple[ActivityState, str]:
        state.fold_lines([line])
        signal = state.signal()
        assert signal is not None and signal.source is SignalSource.HOOK
        return signal.state, signal.detail

    path = "/h/.gemini/tmp/wt/chats/session-x.jsonl"
    assert after(_hook("SessionStart", 1.0, source="startup", transcript_path=path)) == (
        ActivityState.WORKING,
        "starting on the task",
    )
    assert state.transcript_path == path
    assert after(_hook("BeforeAgent", 1.1, prompt="RUN_SHELL touch x"))[0] is ActivityState.WORKING
    assert state.prompts[-1].text == "RUN_SHELL touch x"
    tool_input = {"command": "touch   x", "description": "make it"}
    assert after(
        _hook("BeforeTool", 1.2, tool_name="run_shell_command", tool_input=tool_input)
    ) == (
        ActivityState.WORKING,
        "run_shell_command: touch x",
    )
    details = {"type": "exec", "title": "Confirm Shell Command", "command": "touch x"}
    notice = _hook(
        "Notification", 1.3, notification_type="ToolPermission", message="x", details=details
    )
    assert after(notice) == (ActivityState.WAITING_INPUT, "approval: run_shell_command: touch x")
    waiting = state.signal()
    assert waiting is not None and waiting.waiting_for is not None
    assert (waiting.waiting_for.tool, waiting.waiting_for.command) == (
        "run_shell_command",
        "touch x",
    )
    assert after(_hook("AfterTool", 1.4, tool_name="run_shell_command"))[0] is ActivityState.WORKING
    assert after(_hook("AfterAgent", 1.5, prompt_response="done\n  all good")) == (
        ActivityState.IDLE,
        "done all good",
    )
    assert after(_hook("SessionEnd", 1.6, reason="exit"))[0] is ActivityState.EXITED


def test_a_resumed_session_starts_idle() -> None:
    state = GeminiHookState()
    state.fold_lines([_hook("SessionStart", 5.0, source="resume")])
    signal = state.signal()
    assert signal is not None and signal.state is ActivityState.IDLE


# -- transcript ----------------------------------------------------------------------------


def test_transcript_prompts_answers_tools_and_usage(tmp_path: Path) -> None:
    call = {"id": "c1", "name": "run_shell_command", "args": {"command": "ls"}, "status": "success"}
    lines = _transcript(
        tmp_path,
        _message("u1", 1, "user", [{"text": "list the files"}]),
        _message(
            "g1",
            2,
            "gemini",
            "",
            toolCalls=[call],
            model="gemini-2.5-flash",
            tokens={"input": 100, "output": 7, "cached": 40},
        ),
    )
    state = read_transcript(lines)
    assert state.session_id == SESSION
    assert [p.text for p in state.prompts] == ["list the files"]  # not the context message
    signal = state.signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.WORKING, "calls run_shell_command")
    answer = _message(
        "g2",
        3,
        "gemini",
        "Two files.",
        model="gemini-2.5-flash",
        tokens={"input": 120, "output": 3, "cached": 0},
    )
    state.fold_lines([json.dumps(answer)])
    signal = state.signal()
    assert signal is not None
    assert (signal.state, signal.detail) == (ActivityState.IDLE, "Two files.")
    assert state.usage_facts() == {
        "tokens": {"input": 180, "output": 10, "cache_read": 40},
        "model": "gemini-2.5-flash",
    }


def test_a_rewritten_message_list_counts_each_message_once(tmp_path: Path) -> None:
    prompt = _message("u1", 1, "user", "hello")
    lines = _transcript(tmp_path, prompt)
    lines.append(json.dumps({"$set": {"messages": [CONTEXT, prompt]}}))  # on resume
    state = read_transcript(lines)
    assert [p.text for p in state.prompts] == ["hello"]
    assert [t.body for t in parse_turns(lines)] == ["hello"]


def test_an_error_message_reads_as_error(tmp_path: Path) -> None:
    lines = _transcript(
        tmp_path,
        _message("u1", 1, "user", "go"),
        _message("e1", 2, "error", "[API Error: quota exceeded]"),
    )
    signal = read_transcript(lines).signal()
    assert signal is not None and signal.state is ActivityState.ERROR
    assert "quota exceeded" in signal.detail


def test_hostile_transcript_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = [*_transcript(tmp_path), "{not json", "[1, 2]", '{"type": 5}', "[" * 5000]
    state = read_transcript(lines)
    assert state.malformed >= 3
    problems: list[str] = []
    parse_turns(lines, problems)
    assert problems and all(p.startswith("line ") for p in problems)


# -- paths, launch, resume -----------------------------------------------------------------


def test_launch_passes_the_session_id_the_task_and_the_mode(tmp_path: Path) -> None:
    settings = AgentSettings(permissions="acceptEdits", model="gemini-2.5-pro")
    plan = GeminiAgent().launch(_ctx(tmp_path, prompt="--help me", settings=settings))
    assert plan.argv == [
        "gemini",
        "--approval-mode",
        "auto_edit",
        "--model",
        "gemini-2.5-pro",
        "--session-id",
        SESSION,
        "--prompt-interactive=--help me",
    ]
    assert plan.env == {"GEMINI_CLI_TRUST_WORKSPACE": "true", "GEMINI_CLI_NO_RELAUNCH": "true"}
    assert plan.starts_on_task


def test_resume_takes_the_same_session_once_it_holds_a_conversation(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    home = tmp_path / "home"
    agent = GeminiAgent()
    assert "--resume" not in agent.resume(ctx).argv  # nothing written yet: start afresh
    path = _write_transcript(home, ctx.worktree, _transcript(ctx.worktree))
    assert not holds_conversation(path)
    plan = agent.resume(ctx)
    # Only Gemini's context message: not resumable, so it is set aside (kept) and the task
    # starts afresh under the same id.
    assert "--resume" not in plan.argv and "--session-id" in plan.argv
    assert not path.exists() and path.with_name(path.name + ".no-conversation").exists()
    lines = _transcript(ctx.worktree, _message("u1", 1, "user", "fix the login bug"))
    path = _write_transcript(home, ctx.worktree, lines)
    assert find_transcript(home / ".gemini" / "tmp", SESSION) == path
    plan = agent.resume(ctx)
    assert plan.argv[-2:] == ["--resume", SESSION] and not plan.starts_on_task
    assert latest_session(home / ".gemini" / "tmp", ctx.worktree) == SESSION
    assert agent.latest_conversation(ctx.worktree, ctx.env) == SESSION


def test_resume_says_what_to_do_when_the_empty_transcript_cannot_be_moved(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    path = _write_transcript(tmp_path / "home", ctx.worktree, _transcript(ctx.worktree))
    # A folder where the set-aside copy would go: the rename fails, even for root.
    blocker = path.with_name(path.name + ".no-conversation")
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    with pytest.raises(SlotError, match="cannot be set aside"):
        GeminiAgent().resume(ctx)
    assert path.exists()


def test_a_send_is_proven_by_the_before_agent_hook(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    agent = GeminiAgent(clock=lambda: 100.0)
    ctx.state_dir.mkdir(parents=True)
    log = ctx.state_dir / "hooks.jsonl"
    log.write_text(_hook("BeforeAgent", 90.0, prompt="earlier") + "\n")
    marker = agent.delivery_marker(ctx)
    assert agent.delivery(ctx, marker, "please   add tests", lambda: "") is Delivery.PENDING
    with log.open("a") as handle:
        handle.write(_hook("BeforeAgent", 100.5, prompt="please add tests") + "\n")
    assert agent.delivery(ctx, marker, "please   add tests", lambda: "") is Delivery.DELIVERED


def test_a_turn_end_is_told_in_the_transcripts_words() -> None:
    # AfterAgent garbles an answer streamed in pieces, and fires for interrupts and errors
    # too; the transcript, written a moment before or after, says what it was.
    hook = ActivitySignal(ActivityState.IDLE, SignalSource.HOOK, 10.0, "Hi.  from  the  x.")
    answer = ActivitySignal(ActivityState.IDLE, SignalSource.TRANSCRIPT, 9.9, "Hi from the x.")
    failed = ActivitySignal(ActivityState.ERROR, SignalSource.TRANSCRIPT, 10.2, "error: 400")
    assert agreed(hook, answer) == ActivitySignal(
        ActivityState.IDLE, SignalSource.HOOK, 10.0, "Hi from the x."
    )
    assert agreed(hook, failed) == ActivitySignal(
        ActivityState.ERROR, SignalSource.HOOK, 10.0, "error: 400"
    )
    earlier = ActivitySignal(ActivityState.ERROR, SignalSource.TRANSCRIPT, 5.0, "error: old")
    assert agreed(hook, earlier) == hook  # an earlier turn's error says nothing of this one
    assert agreed(None, answer) is None


def test_each_prompt_is_answered_its_own_way() -> None:
    agent = GeminiAgent()
    approval = WaitingFor("permission", "run_shell_command", "touch x")
    assert agent.answer_keys(True, approval) == ["Enter"]  # "1. Allow once", highlighted
    assert agent.answer_keys(False, approval) == ["Escape"]
    # Escape cancels the request but leaves this dialog up: its own options answer it.
    keep_trying = WaitingFor("confirm", "", KEEP_TRYING)
    assert agent.answer_keys(True, keep_trying) == ["1"]
    assert agent.answer_keys(False, keep_trying) == ["2"]
