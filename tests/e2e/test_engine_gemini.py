"""The engine driving the REAL Gemini CLI against the scripted Gemini API stand-in.

Everything is real except the model: tmux (test socket), git worktrees, the Gemini CLI,
its hooks, its transcript and its screen. The stand-in (tests/e2e/gemini_standin.py)
decides each reply from the prompt text, so each test steers the agent into one state. The
plugin is registered by hand: its entry point is seen only once the package is reinstalled.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine
from core.models import ActivityState, DeliveryResult, Lifecycle, Zone
from core.prompts import PromptChangedError
from core.registry import Registry
from core.zones import zone_of
from plugins.agent.gemini import GeminiAgent
from plugins.agent.gemini.reader import GeminiState
from tests.conftest import run_git
from tests.e2e.gemini_harness import gemini_env, require_gemini_binary, write_gemini_home
from tests.e2e.gemini_standin import GeminiStandin
from tests.support.engine import make_engine, settle, state_is, wait_for

pytestmark = [pytest.mark.gemini, pytest.mark.tmux]


@pytest.fixture
def gemini_standin() -> Iterator[GeminiStandin]:
    """A running Gemini API stand-in; its request log starts empty for each test."""
    with GeminiStandin() as standin:
        yield standin


@pytest.fixture
def gemini_engine(tmp_path: Path, git_repo: Path, gemini_standin: GeminiStandin) -> Engine:
    """An engine whose project runs the real Gemini CLI offline."""
    return _gemini_engine(tmp_path, git_repo, gemini_standin)


def _gemini_engine(
    tmp_path: Path,
    git_repo: Path,
    standin: GeminiStandin,
    settings: dict[str, Any] | None = None,
) -> Engine:
    binary = require_gemini_binary()
    home = write_gemini_home(tmp_path / "gemini-home", standin.base_url, extra=settings)
    config = {
        "projects": {
            "app": {
                "path": str(git_repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "gemini",
                "agentConfig": {"command": shlex.join([str(binary)])},
                "env": gemini_env(standin.base_url, home),
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    registry = Registry()
    if "gemini" not in registry.names("agent"):
        registry.register("agent", "gemini", GeminiAgent)
    return make_engine(path, registry)


def _prompts(engine: Engine, session_id: str, last: str) -> list[str]:
    """The prompts the session's transcript records, once it records ``last`` (the
    BeforeAgent hook proves a send a moment before the transcript is written)."""

    def recorded() -> list[str]:
        engine.reconcile()
        path = engine.get(session_id).extra.get("transcript_path")
        state = GeminiState()
        if path:
            state.fold_lines(Path(str(path)).read_text().splitlines())
        prompts = [p.text for p in state.prompts]
        return prompts if any(p.split() == last.split() for p in prompts) else []

    return wait_for(recorded, timeout=30)


def test_approval_prompt_respond_and_send(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "RUN_SHELL touch e2e-proof.txt")
    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    # The Notification hook says it first; the box on screen agrees.
    assert waiting.activity.source.value in ("hook", "pane")
    assert zone_of(waiting) is Zone.NEEDS_YOU
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.tool == "run_shell_command"
    assert waiting.activity.waiting_for.command == "touch e2e-proof.txt"
    assert waiting.extra.get("transcript_path")

    with pytest.raises(PromptChangedError, match=r"touch e2e-proof\.txt"):
        engine.respond(session.id, yes=True, expect="run_shell_command: touch other.txt")
    engine.respond(session.id, yes=True, expect="run_shell_command: touch e2e-proof.txt")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert idle.activity.source.value in ("hook", "transcript")
    assert (Path(session.worktree) / "e2e-proof.txt").exists()

    result, detail = engine.send(session.id, "also update the changelog; thanks")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    note = "also update the changelog; thanks"
    assert _prompts(engine, session.id, note).count(note) == 1
    # ao-tui's hooks live in the worktree's project settings, which git does not see.
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=session.worktree,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".gemini" not in status.stdout


def test_respond_no_declines_and_nothing_runs(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "RUN_SHELL touch must-not-exist.txt")
    settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    engine.respond(session.id, yes=False)
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert zone_of(idle) is not Zone.NEEDS_YOU or idle.activity.state is ActivityState.IDLE
    assert not (Path(session.worktree) / "must-not-exist.txt").exists()


def test_a_message_sent_right_after_spawn_arrives_once(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "say hello")
    result, detail = engine.send(session.id, "EARLY MESSAGE right after spawn")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    prompts = _prompts(engine, session.id, "EARLY MESSAGE right after spawn")
    assert prompts.count("say hello") == 1
    assert prompts.count("EARLY MESSAGE right after spawn") == 1


def test_a_long_multiline_message_arrives_byte_for_byte(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "say hello")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    text = "line one\n\tline two\n" + "long body " * 300 + "\nthe end; $(echo hi) `x`"
    result, detail = engine.send(session.id, text)
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert _prompts(engine, session.id, text)[-1].split() == text.split()


def test_interrupt_ends_idle(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "SLOW 30")
    working = settle(
        engine,
        session.id,
        lambda s: s.activity.state is ActivityState.WORKING and "transcript_path" in s.extra,
    )
    time.sleep(1.5)
    engine.runtime.send_keys(working.pane_id, "Escape")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert "interrupted" in idle.activity.detail


def test_api_error_ends_in_error(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "FAIL400")
    failed = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert zone_of(failed) is Zone.NEEDS_YOU
    assert "API Error" in failed.activity.detail


def test_crash_is_noticed_and_restore_resumes_the_same_session(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "remember the word pineapple")
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    transcript = Path(str(idle.extra["transcript_path"]))
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
    # The BeforeAgent hook proves the send; the transcript records it a moment later, in
    # the same file: `--resume <id>` goes on in the same session's transcript.
    wait_for(lambda: "what was the word?" in transcript.read_text(), timeout=30)
    settle(engine, session.id, state_is(ActivityState.IDLE))


def test_quit_is_exited(gemini_engine: Engine) -> None:
    engine = gemini_engine
    session = engine.spawn("app", "say hello")
    settle(engine, session.id, state_is(ActivityState.IDLE))
    engine.runtime.paste(session.pane_id, "/quit")
    time.sleep(0.5)
    engine.runtime.send_keys(session.pane_id, "Enter")
    exited = settle(engine, session.id, state_is(ActivityState.EXITED))
    assert exited.activity.source.value in ("runtime", "hook")


def test_a_project_with_its_own_gemini_settings_runs_without_hooks(
    tmp_path: Path, git_repo: Path, gemini_standin: GeminiStandin
) -> None:
    # The project commits a .gemini/settings.json of its own: ao-tui leaves it as it is (the
    # agent's commits must not carry ao-tui's hooks) and reads the transcript and pane.
    own = '{"ui": {"hideBanner": true}}\n'
    (git_repo / ".gemini").mkdir()
    (git_repo / ".gemini" / "settings.json").write_text(own)
    run_git(git_repo, "add", ".gemini/settings.json")
    run_git(git_repo, "commit", "-q", "-m", "gemini settings")
    engine = _gemini_engine(tmp_path, git_repo, gemini_standin)
    session = engine.spawn("app", "RUN_SHELL touch no-hooks.txt")
    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert waiting.activity.source.value == "pane"
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.command == "touch no-hooks.txt"
    engine.respond(session.id, yes=True)
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert idle.activity.source.value == "transcript"
    assert (Path(session.worktree) / "no-hooks.txt").exists()
    result, detail = engine.send(session.id, "and one more thing")
    assert result is DeliveryResult.DELIVERED, detail
    assert (Path(session.worktree) / ".gemini" / "settings.json").read_text() == own
    assert not (engine.locations.session_dir(session.id) / "hooks.jsonl").exists()


def test_a_model_that_keeps_failing_asks_the_operator_and_no_stops_it(
    tmp_path: Path, git_repo: Path, gemini_standin: GeminiStandin
) -> None:
    # With one try allowed, Gemini gives up on a 500 at once and asks "keep trying or
    # stop?" (with its default settings it retries on, and that reads as working).
    settings = {"general": {"maxAttempts": 1}, "ui": {"errorVerbosity": "full"}}
    engine = _gemini_engine(tmp_path, git_repo, gemini_standin, settings)
    session = engine.spawn("app", "FAIL500")
    asks = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert asks.activity.source.value == "pane"
    assert zone_of(asks) is Zone.NEEDS_YOU
    assert "keep trying" in asks.activity.detail
    engine.respond(session.id, yes=False)
    # "2. Stop": the turn ends on the error, and the dialog is gone.
    stopped = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert "API Error" in stopped.activity.detail
    assert "Keep trying" not in engine.runtime.capture(session.pane_id)
