"""The engine driving the REAL Claude Code CLI against the scripted API stand-in.

Everything is real except the model: tmux (test socket), git worktrees, the Claude binary,
its hooks, status file and transcript. The stand-in (tests/e2e/anthropic_standin.py)
decides each reply from the prompt text, so each test steers the agent into one state.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from core.engine import Engine
from core.models import ActivityState, DeliveryResult, Lifecycle, Session, Zone
from core.prompts import PromptChangedError
from core.zones import zone_of
from plugins.agent.claude_code.hooks import parse_hook_log
from plugins.agent.claude_code.transcript import TranscriptState
from tests.e2e.anthropic_standin import AnthropicStandin
from tests.e2e.claude_harness import TEST_API_KEY, write_claude_config
from tests.support.engine import make_engine, settle, state_is, wait_for

pytestmark = pytest.mark.claude


@pytest.fixture
def claude_engine(
    tmp_path: Path, git_repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> Engine:
    """An engine whose project runs the real Claude Code offline."""
    return _claude_engine(tmp_path, git_repo, anthropic_standin, claude_bin)


def _claude_engine(
    tmp_path: Path,
    git_repo: Path,
    anthropic_standin: AnthropicStandin,
    claude_bin: Path,
    *,
    retries: int = 0,
    allow: tuple[str, ...] = (),
) -> Engine:
    home = tmp_path / "claude-home"
    # Onboarding and the API key are answered here; trusting each new worktree is the
    # plugin's job (prepare), which these tests therefore exercise for real.
    write_claude_config(home, git_repo)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": anthropic_standin.base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        # Fail at the first API error instead of ~3 minutes of back-off.
        "CLAUDE_CODE_MAX_RETRIES": str(retries),
    }
    config = {
        "projects": {
            "app": {
                "path": str(git_repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "claude-code",
                "agentConfig": {"command": str(claude_bin), "allow": list(allow)},
                "env": env,
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return make_engine(path)


def test_permission_prompt_respond_and_send(claude_engine: Engine) -> None:
    engine = claude_engine
    session = engine.spawn("app", "RUN_BASH touch e2e-proof.txt")
    first = settle(engine, session.id, lambda s: s.activity.source.value != "engine")
    assert first.activity.state in (ActivityState.WORKING, ActivityState.WAITING_INPUT)

    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert zone_of(waiting) is Zone.NEEDS_YOU
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.tool == "Bash"
    assert "touch e2e-proof.txt" in waiting.activity.waiting_for.command
    assert "touch e2e-proof.txt" in waiting.activity.detail

    # An answer bound to another command than the one asked sends nothing.
    with pytest.raises(PromptChangedError, match=r"touch e2e-proof\.txt"):
        engine.respond(session.id, yes=True, expect="Bash: touch other.txt")
    command = waiting.activity.waiting_for.command
    engine.respond(session.id, yes=True, expect=f"Bash: {command}")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert (Path(session.worktree) / "e2e-proof.txt").exists()
    assert idle.lifecycle is Lifecycle.RUNNING

    result, detail = engine.send(session.id, "also update the changelog; thanks")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))


def test_a_message_sent_right_after_spawn_waits_for_claude_and_arrives_once(
    claude_engine: Engine,
) -> None:
    # Keys typed while Claude starts are lost: the send must wait for its REPL.
    engine = claude_engine
    session = engine.spawn("app", "say hello")
    result, detail = engine.send(session.id, "EARLY MESSAGE right after spawn")
    # Queued when the first turn is still running; either way Claude takes it as a prompt.
    assert result in (DeliveryResult.DELIVERED, DeliveryResult.QUEUED), detail
    wait_for(lambda: "EARLY MESSAGE right after spawn" in _prompts(engine, session.id), timeout=40)
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert _prompts(engine, session.id).count("EARLY MESSAGE right after spawn") == 1


def test_respond_no_declines_and_nothing_runs(claude_engine: Engine) -> None:
    engine = claude_engine
    session = engine.spawn("app", "RUN_BASH touch must-not-exist.txt")
    settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    engine.respond(session.id, yes=False)
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert not (Path(session.worktree) / "must-not-exist.txt").exists()


def test_interrupt_ends_idle(claude_engine: Engine) -> None:
    engine = claude_engine
    session = engine.spawn("app", "SLOW 30")
    working = settle(engine, session.id, state_is(ActivityState.WORKING))
    time.sleep(2.0)  # let the reply start streaming
    engine.runtime.send_keys(working.pane_id, "Escape")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    # The status file says idle first; the transcript's interrupt line then says why.
    settle(
        engine,
        session.id,
        lambda s: (
            s.activity.state is ActivityState.IDLE and "interrupt" in s.activity.detail.lower()
        ),
        timeout=15,
    )


def test_api_error_ends_in_error(claude_engine: Engine) -> None:
    engine = claude_engine
    session = engine.spawn("app", "FAIL500")
    failed = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert zone_of(failed) is Zone.NEEDS_YOU
    assert failed.activity.detail


def _written(session: Session, text: str) -> bool:
    """Whether the session's transcript is known and holds ``text``: Claude writes its
    messages a moment after the turn's hooks fire."""
    path = session.extra.get("transcript_path")
    return bool(path) and text in Path(str(path)).read_text()


def _crashed_after_one_turn(engine: Engine) -> tuple[Session, Path]:
    """A session whose Claude took one turn, wrote it, and was then SIGKILLed."""
    session = engine.spawn("app", "remember the word pineapple")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    written = settle(engine, session.id, lambda s: _written(s, "pineapple"))
    pane = engine.runtime.list_panes()[session.tmux]
    os.kill(pane.pane_pid, signal.SIGKILL)  # the agent process crashes
    crashed = settle(engine, session.id, lambda s: s.lifecycle is Lifecycle.EXITED)
    assert crashed.activity.state is ActivityState.EXITED
    assert zone_of(crashed) is Zone.NEEDS_YOU
    return crashed, Path(str(written.extra["transcript_path"]))


def test_crash_is_noticed_and_restore_resumes_the_same_conversation(
    claude_engine: Engine,
) -> None:
    engine = claude_engine
    session, transcript = _crashed_after_one_turn(engine)
    lines_before = len(transcript.read_text().splitlines())
    restored = engine.restore(session.id)
    assert restored.agent_session_id == session.agent_session_id
    assert restored.attempt == 2
    # Wait for the resumed REPL itself (its SessionStart hook says idle): right after the
    # restart the screen is not drawn yet, and text pasted then is lost.
    settle(engine, session.id, state_is(ActivityState.IDLE))
    result, detail = engine.send(session.id, "what was the word?")
    assert result is DeliveryResult.DELIVERED, detail
    # --resume continues the same conversation file (written just after the hook fires)
    wait_for(lambda: len(transcript.read_text().splitlines()) > lines_before, timeout=15)
    assert "what was the word?" in transcript.read_text()
    assert "remember the word pineapple" in transcript.read_text()


def test_a_claude_killed_before_its_messages_reached_the_file_restarts_its_task(
    claude_engine: Engine,
) -> None:
    """SIGKILLed just after its first turn, Claude 2.1.197 had written only its metadata
    lines (seen in CI, about 1 run in 10 on a loaded machine): ``--resume`` then exits 1
    with "No conversation found". The file is put in that state here, after the kill."""
    engine = claude_engine
    session, transcript = _crashed_after_one_turn(engine)
    lines = transcript.read_text().splitlines()
    meta = [line for line in lines if json.loads(line).get("type") not in ("user", "assistant")]
    transcript.write_text("".join(line + "\n" for line in meta))
    engine.restore(session.id)
    back = settle(
        engine,
        session.id,
        lambda s: s.activity.state is ActivityState.IDLE or s.lifecycle is Lifecycle.EXITED,
    )
    assert back.lifecycle is not Lifecycle.EXITED, back.activity
    # The task ran again under the same uuid; the metadata kept beside it.
    settle(engine, session.id, lambda s: _written(s, "remember the word pineapple"))
    aside = transcript.with_name(transcript.name + ".no-conversation")
    assert aside.read_text().splitlines() == meta


def test_message_to_a_busy_agent_is_queued_then_read(claude_engine: Engine) -> None:
    engine = claude_engine
    session = engine.spawn("app", "SLOW 12")
    settle(engine, session.id, state_is(ActivityState.WORKING))
    time.sleep(1.0)
    result, detail = engine.send(session.id, "queued hello")
    assert result is DeliveryResult.QUEUED, detail
    # once the slow turn ends, Claude takes the queued message as its next prompt
    wait_for(lambda: "queued hello" in _prompts(engine, session.id), timeout=40)


def _prompts(engine: Engine, session_id: str) -> list[str]:
    """The user prompts the session's transcript records (not queue entries)."""
    engine.reconcile()
    path = engine.get(session_id).extra.get("transcript_path")
    state = TranscriptState()
    if path:
        state.fold_lines(Path(str(path)).read_text().splitlines())
    return [p.text for p in state.prompts]


def test_kill_then_restore_applies_nothing_the_killed_claude_wrote(
    claude_engine: Engine,
) -> None:
    # `tmux kill-session` makes Claude fire SessionEnd (reason "other") as it dies. Applied
    # after the restore, it put every restored session in Needs you: "session ended (other)".
    engine = claude_engine
    session = engine.spawn("app", "remember the word pineapple")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    # What kill does first; waiting for the hook here makes sure it is in the log (the kill
    # goes on to remove the worktree, and a hook Claude starts after that never runs).
    engine.runtime.kill(session.tmux)
    log = engine.locations.session_dir(session.id) / "hooks.jsonl"
    wait_for(lambda: '"SessionEnd"' in log.read_text(), timeout=15)
    engine.kill(session.id)

    restored = engine.restore(session.id)
    mark = engine.store.last_event_seq()
    # The resumed REPL's own SessionStart (or, had it found no conversation to resume, the
    # end of the task started afresh) is the first hook applied after the restore.
    settle(
        engine,
        session.id,
        lambda s: s.activity.source.value == "hook" and s.activity.state is ActivityState.IDLE,
    )
    for _ in range(10):  # and nothing stale turns up in the ticks that follow
        engine.reconcile()
        time.sleep(0.2)
    after = [e.to_json() for e in engine.store.events_after(mark)]
    assert [
        e
        for e in after
        if e["data"].get("state") == "exited"
        or e["data"].get("lifecycle") == "exited"
        or "session ended" in str(e["data"].get("detail", ""))
    ] == [], after
    assert engine.get(session.id).attempt == restored.attempt


def test_api_retries_show_as_retrying_and_the_final_error_stays(
    tmp_path: Path, git_repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> None:
    # Five retries back off for ~17 s; the status file says "busy" all along and no hook
    # fires, so only the screen says "API error · Retrying in 9s · attempt 5/5".
    engine = _claude_engine(tmp_path, git_repo, anthropic_standin, claude_bin, retries=5)
    session = engine.spawn("app", "FAIL500 and keep failing")
    retrying = settle(engine, session.id, state_is(ActivityState.RETRYING), timeout=40)
    assert re.fullmatch(r"retrying after API error [1-5]/5( \(.+\))?", retrying.activity.detail)
    assert zone_of(retrying) is Zone.NEEDS_YOU
    failed = settle(engine, session.id, state_is(ActivityState.ERROR), timeout=60)
    assert failed.activity.detail.startswith("API Error: 500")
    kinds = [
        (e.data.get("state"), str(e.data.get("detail", "")))
        for e in engine.store.events_after(0)
        if e.session_id == session.id and e.kind == "activity"
    ]
    states = [state for state, _ in kinds]
    # The history keeps both: the retries, then the error that ended them.
    assert states.index("retrying") < len(states) - 1 - states[::-1].index("error")
    assert kinds[-1][0] == "error" and kinds[-1][1].startswith("API Error: 500")


def _hook_events(engine: Engine, session_id: str) -> list[tuple[str, str]]:
    """Each hook record's event and, for a tool's, its Bash command (in log order)."""
    log = engine.locations.session_dir(session_id) / "hooks.jsonl"
    found = []
    for record in parse_hook_log(log.read_text().splitlines()):
        tool_input = record.payload.get("tool_input")
        command = tool_input.get("command", "") if isinstance(tool_input, dict) else ""
        found.append((record.event, str(command)))
    return found


def test_the_permission_policy_lets_allowed_commands_run_and_asks_for_the_rest(
    tmp_path: Path, git_repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> None:
    # `touch` asks in Claude's default mode (test_permission_prompt_respond_and_send); the
    # project's policy writes these rules into Claude's own permissions.allow, and nothing
    # presses a key: Claude itself runs what they cover without asking.
    engine = _claude_engine(
        tmp_path, git_repo, anthropic_standin, claude_bin, allow=("Bash(touch:*)", "Bash(pytest:*)")
    )
    session = engine.spawn("app", "RUN_BASH touch allowed-proof.txt")
    worktree = Path(session.worktree)
    proof = worktree / "allowed-proof.txt"
    first = settle(
        engine,
        session.id,
        lambda s: proof.exists() or s.activity.state is ActivityState.WAITING_INPUT,
    )
    assert first.activity.state is not ActivityState.WAITING_INPUT, first.activity
    settle(engine, session.id, state_is(ActivityState.IDLE))
    result, detail = engine.send(session.id, "RUN_BASH pytest --version")
    assert result is DeliveryResult.DELIVERED, detail
    # PreToolUse comes before Claude decides whether to ask; idle after it, with no
    # PermissionRequest, means it ran unasked (pytest may or may not be on the agent's PATH).
    wait_for(
        lambda: ("PreToolUse", "pytest --version") in _hook_events(engine, session.id),
        timeout=60,
    )
    settle(engine, session.id, state_is(ActivityState.IDLE))
    events = _hook_events(engine, session.id)
    assert ("PostToolUse", "touch allowed-proof.txt") in events
    assert [e for e in events if e[0] == "PermissionRequest"] == [], events
    states = [
        e.data.get("state")
        for e in engine.store.events_after(0)
        if e.session_id == session.id and e.kind == "activity"
    ]
    assert "waiting_input" not in states, states

    # A command no rule covers still comes to the operator.
    result, detail = engine.send(session.id, "RUN_BASH rm -f allowed-proof.txt")
    assert result is DeliveryResult.DELIVERED, detail
    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert zone_of(waiting) is Zone.NEEDS_YOU
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.tool == "Bash"
    assert "rm -f allowed-proof.txt" in waiting.activity.waiting_for.command
    engine.respond(session.id, yes=False)
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert proof.exists()
