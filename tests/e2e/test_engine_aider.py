"""The engine driving the REAL Aider CLI against the scripted OpenAI-compatible stand-in.

Everything is real except the model: tmux (test socket), git worktrees, the Aider binary
(pinned, installed by tests/run), its chat history and its screen. The stand-in
(tests/e2e/openai_chat_standin.py) decides each reply from the prompt text, so each test
steers Aider into one state. The plugin is registered explicitly, so these tests run
whether or not the installed package already lists the ``agent:aider`` entry point.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.engine import Engine
from core.git import run_git
from core.models import ActivityState, DeliveryResult, Lifecycle, Session, Zone
from core.registry import Registry
from core.zones import zone_of
from plugins.agent.aider import AiderAgent
from plugins.agent.aider.plugin import HISTORY_FILE
from plugins.agent.aider.reader import read_history
from tests.e2e.aider_harness import aider_env, require_aider_binary
from tests.e2e.claude_harness import require_tmux
from tests.e2e.openai_chat_standin import OpenAIChatStandin
from tests.support.engine import make_engine, settle, state_is

pytestmark = pytest.mark.aider


@pytest.fixture
def standin() -> Iterator[OpenAIChatStandin]:
    """A running stand-in for this test."""
    with OpenAIChatStandin() as server:
        yield server


@pytest.fixture
def aider_engine(tmp_path: Path, git_repo: Path, standin: OpenAIChatStandin) -> Engine:
    """An engine whose project runs the real Aider offline."""
    binary = require_aider_binary()
    require_tmux()
    # Aider commits its edits itself: the repository needs an identity.
    run_git(["config", "user.name", "ao-tui tests"], cwd=git_repo)
    run_git(["config", "user.email", "tests@example.invalid"], cwd=git_repo)
    config = {
        "projects": {
            "app": {
                "path": str(git_repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "aider",
                "agentConfig": {"command": str(binary)},
                "env": aider_env(tmp_path / "aider-home", standin.base_url),
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    registry = Registry()
    registry.register("agent", "aider", AiderAgent)
    return make_engine(path, registry)


def _inputs(session: Session) -> list[str]:
    """The inputs Aider's chat history records."""
    path = Path(session.worktree) / HISTORY_FILE
    return [p.text for p in read_history(path.read_text().splitlines()).prompts]


def test_task_question_answer_and_send(aider_engine: Engine, standin: OpenAIChatStandin) -> None:
    engine = aider_engine
    session = engine.spawn("app", "WRITE_FILE hello.txt hi from aider")
    first = settle(engine, session.id, lambda s: s.activity.source.value != "engine")
    assert first.activity.state in (ActivityState.WORKING, ActivityState.WAITING_INPUT)

    # The reply creates a file: Aider asks first (no --yes-always by default).
    waiting = settle(engine, session.id, state_is(ActivityState.WAITING_INPUT))
    assert zone_of(waiting) is Zone.NEEDS_YOU
    assert waiting.activity.waiting_for is not None
    assert waiting.activity.waiting_for.tool == "create-file"
    assert waiting.activity.waiting_for.command == "hello.txt"
    assert "Create new file?" in waiting.activity.detail
    # The task was typed once, by the relay, and the history has it.
    assert _inputs(waiting) == ["WRITE_FILE hello.txt hi from aider"]

    engine.respond(session.id, yes=True)
    idle = settle(engine, session.id, state_is(ActivityState.IDLE))
    assert (Path(session.worktree) / "hello.txt").read_text().strip() == "hi from aider"
    assert idle.lifecycle is Lifecycle.RUNNING
    assert idle.activity.source.value in ("transcript", "pane")
    # Aider's own files stay out of git status (the exclude prepare returned).
    status = run_git(["status", "--porcelain"], cwd=Path(session.worktree)).stdout
    assert ".aider" not in status

    result, detail = engine.send(session.id, "also say goodbye")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    assert _inputs(engine.get(session.id))[-1] == "also say goodbye"
    assert [r.body["messages"][-1] for r in standin.chat_requests()][-1]


def test_generating_interrupt_error_exit_and_resume(
    aider_engine: Engine, standin: OpenAIChatStandin
) -> None:
    engine = aider_engine
    session = engine.spawn("app", "SLOW 20")
    working = settle(engine, session.id, state_is(ActivityState.WORKING))
    # Wait until the reply streams, then interrupt it as an operator would (^C once).
    deadline = time.monotonic() + 30
    while standin.chunks_sent < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    engine.runtime.send_keys(working.pane_id, "C-c")
    interrupted = settle(
        engine,
        session.id,
        lambda s: s.activity.state is ActivityState.IDLE and "interrupt" in s.activity.detail,
    )
    assert interrupted.activity.source.value == "transcript"

    # A request the API refuses: Aider gives up at once and says so.
    result, detail = engine.send(session.id, "FAIL400 please")
    assert result is DeliveryResult.DELIVERED, detail
    failed = settle(engine, session.id, state_is(ActivityState.ERROR))
    assert "BadRequestError" in failed.activity.detail
    assert zone_of(failed) is Zone.NEEDS_YOU

    # The process dies: exited, then restore brings the conversation back.
    pane = engine.runtime.list_panes()[session.tmux]
    os.kill(pane.pane_pid, signal.SIGKILL)
    crashed = settle(engine, session.id, lambda s: s.lifecycle is Lifecycle.EXITED)
    assert crashed.activity.state is ActivityState.EXITED
    restored = engine.restore(session.id)
    assert restored.attempt == 2
    settle(engine, session.id, state_is(ActivityState.IDLE), timeout=60)
    result, detail = engine.send(session.id, "what did I ask first?")
    assert result is DeliveryResult.DELIVERED, detail
    settle(engine, session.id, state_is(ActivityState.IDLE))
    # --restore-chat-history: the resumed Aider sent the earlier turns along.
    last = standin.chat_requests()[-1].body["messages"]
    assert any("SLOW 20" in str(m.get("content")) for m in last)
