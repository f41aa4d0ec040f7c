"""The engine driving the REAL Codex CLI against the scripted Responses stand-in.

Everything is real except the model: tmux (test socket), git worktrees, the Codex binary,
its rollout and its screen. The stand-in (tests/e2e/responses_standin.py) decides each
reply from the prompt text, so each test steers the agent into one state. The plugin is
registered by hand: its entry point is seen only once the package is reinstalled.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.engine import Engine
from core.models import ActivityState, DeliveryResult, Lifecycle, Zone
from core.prompts import PromptChangedError
from core.registry import Registry
from core.zones import zone_of
from plugins.agent.codex import CodexAgent
from plugins.agent.codex.reader import CodexState
from tests.e2e.codex_harness import codex_env, require_codex_binary, write_codex_home
from tests.e2e.responses_standin import ResponsesStandin
from tests.support.engine import make_engine, settle, state_is

pytestmark = [pytest.mark.codex, pytest.mark.tmux]


@pytest.fixture
def responses_standin() -> Iterator[ResponsesStandin]:
    """A running Responses API stand-in; its request log starts empty for each test."""
    with ResponsesStandin() as standin:
        yield standin


@pytest.fixture
def codex_engine(tmp_path: Path, git_repo: Path, responses_standin: ResponsesStandin) -> Engine:
    """An engine whose project runs the real Codex offline."""
    return _codex_engine(tmp_path, git_repo, responses_standin)


def _codex_engine(
    tmp_path: Path, git_repo: Path, responses_standin: ResponsesStandin, *flags: str
) -> Engine:
    binary = require_codex_binary()
    home = tmp_path / "home"
    codex_home = write_codex_home(tmp_path / "codex-home", responses_standin.base_url)
    config = {
        "projects": {
            "app": {
                "path": str(git_repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "codex",
                "agentConfig": {"command": shlex.join([str(binary), *flags])},
                "env": codex_env(home, codex_home),
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    registry = Registry()
    if "codex" not in registry.names("agent"):
        registry.register("agent", "codex", CodexAgent)
    return make_engine(path, registry)


def _prompts(engine: Engine, session_id: str) -> list[str]:
    """The user prompts the session's rollout records."""
    engine.reconcile()
    path = engine.get(session_id).extra.get("transcript_path")
    state = CodexState()
    if path:
        state.fold_lines(Path(str(path)).read_text().splitlines())
    return [p.text for p in state.prompts]


def test_approval_prompt_respond_and_send(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "RUN_SHELL touch e2e-proof.txt")
    first = settle(engine, session.id, lambda s: s.activity.source.value != "engine")
    assert first.activity.state in (ActivityState.WORKING, ActivityState.WAITING_INPUT)

    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert waiting.activity.source.value == "pane"
    assert zone_of(waiting) is Zone.NEEDS_YOU
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.tool == "shell"
    assert waiting.activity.waiting_for.command == "touch e2e-proof.txt"
    # The rollout names Codex's own thread, which a restore resumes.
    assert waiting.extra.get("codex_thread")

    with pytest.raises(PromptChangedError, match=r"touch e2e-proof\.txt"):
        engine.respond(session.id, yes=True, expect="shell: touch other.txt")
    engine.respond(session.id, yes=True, expect="shell: touch e2e-proof.txt")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert idle.activity.source.value == "transcript"
    assert (Path(session.worktree) / "e2e-proof.txt").exists()

    result, detail = engine.send(session.id, "also update the changelog; thanks")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert _prompts(engine, session.id).count("also update the changelog; thanks") == 1


def test_a_message_sent_right_after_spawn_waits_for_codex_and_arrives_once(
    codex_engine: Engine,
) -> None:
    # Typed while the TUI starts: it must still arrive, exactly once, beside the task.
    engine = codex_engine
    session = engine.spawn("app", "say hello")
    result, detail = engine.send(session.id, "EARLY MESSAGE right after spawn")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    prompts = _prompts(engine, session.id)
    assert prompts.count("say hello") == 1
    assert prompts.count("EARLY MESSAGE right after spawn") == 1


def test_a_long_multiline_message_arrives_byte_for_byte(codex_engine: Engine) -> None:
    # One bracketed paste: newlines, a tab and shell syntax are text, never keys or commands.
    engine = codex_engine
    session = engine.spawn("app", "say hello")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    text = "line one\n\tline two\n" + "long body " * 300 + "\nthe end; $(echo hi) `x`"
    result, detail = engine.send(session.id, text)
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert _prompts(engine, session.id)[-1] == text


def test_respond_no_declines_and_nothing_runs(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "RUN_SHELL touch must-not-exist.txt")
    settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    engine.respond(session.id, yes=False)
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert not (Path(session.worktree) / "must-not-exist.txt").exists()


def test_interrupt_ends_idle_and_a_message_mid_turn_is_delivered(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "SLOW 30")
    # Working by the rollout: the turn has started.
    working = settle(
        engine,
        session.id,
        lambda s: s.activity.state is ActivityState.WORKING and "transcript_path" in s.extra,
    )
    # Codex takes a message typed mid-turn into the running turn: delivered, not queued.
    result, detail = engine.send(session.id, "a note while you work")
    assert result is DeliveryResult.DELIVERED, detail
    engine.send(session.id, "SLOW 30")  # a slow reply again, to interrupt
    time.sleep(1.5)
    engine.runtime.send_keys(working.pane_id, "Escape")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert "interrupted" in idle.activity.detail


def test_api_error_ends_in_error(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "FAIL500")
    failed = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert failed.activity.source.value == "transcript"
    assert zone_of(failed) is Zone.NEEDS_YOU
    assert failed.activity.detail.startswith("error: ")


def test_api_retries_show_as_retrying_and_the_final_error_stays(
    tmp_path: Path, git_repo: Path, responses_standin: ResponsesStandin
) -> None:
    # Codex retries an HTTP error with back-off and writes nothing of it to the rollout,
    # which says "turn running" all along: only the screen says "Reconnecting... 1/3".
    retries = "model_providers.standin.stream_max_retries=3"
    engine = _codex_engine(tmp_path, git_repo, responses_standin, "-c", retries)
    session = engine.spawn("app", "FAIL500")
    retrying = settle(engine, session.id, state_is(ActivityState.RETRYING))
    assert re.fullmatch(r"retrying after API error [1-3]/3 \(.+\)", retrying.activity.detail)
    assert zone_of(retrying) is Zone.NEEDS_YOU
    failed = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert failed.activity.source.value == "transcript"
    states = [
        e.data.get("state")
        for e in engine.store.events_after(0)
        if e.session_id == session.id and e.kind == "activity"
    ]
    assert states.index("retrying") < states.index("error"), states


def test_crash_is_noticed_and_restore_resumes_the_same_thread(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "remember the word pineapple")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    thread = idle.extra["codex_thread"]
    rollout = Path(str(idle.extra["transcript_path"]))
    pane = engine.runtime.list_panes()[session.tmux]
    os.kill(pane.pane_pid, signal.SIGKILL)
    crashed = settle(engine, session.id, lambda s: s.lifecycle is Lifecycle.EXITED)
    assert crashed.activity.state is ActivityState.EXITED
    assert zone_of(crashed) is Zone.NEEDS_YOU

    restored = engine.restore(session.id)
    assert restored.attempt == 2
    back = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert back.lifecycle is Lifecycle.RUNNING
    result, detail = engine.send(session.id, "what was the word?")
    assert result is DeliveryResult.DELIVERED, detail
    # `codex resume <thread>` appends to the same rollout.
    assert engine.get(session.id).extra["codex_thread"] == thread
    assert "what was the word?" in rollout.read_text()
    settle(engine, session.id, state_is(ActivityState.IDLE))


def test_quit_is_exited(codex_engine: Engine) -> None:
    engine = codex_engine
    session = engine.spawn("app", "say hello")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    engine.runtime.paste(session.pane_id, "/quit")
    time.sleep(0.5)
    engine.runtime.send_keys(session.pane_id, "Enter")
    exited = settle(engine, session.id, state_is(ActivityState.EXITED))
    assert exited.activity.source.value == "runtime"
