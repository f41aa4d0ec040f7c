"""Codex, Aider and Gemini driven from the cockpit, end to end: the REAL binaries, offline.

The operator's keys only: `N` opens the new-session dialog (the project's agent is chosen
in it), the task is typed and Ctrl+S spawns; the cockpit (which holds the engine lease and
reconciles) shows the agent's approval question; `y` answers it; `s` sends a message, which
the agent's own record confirms. Real tmux (test socket), git, the cockpit under Pilot, the
agent binary against its scripted stand-in on 127.0.0.1 (Codex: the Responses API; Aider:
an OpenAI-compatible chat API; Gemini: the Gemini API).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select

from ao_tui.app import CockpitApp
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from core.engine import Engine
from core.git import run_git
from core.models import ActivityState, Session
from core.registry import Registry
from plugins.agent.aider import AiderAgent
from plugins.agent.codex import CodexAgent
from plugins.agent.gemini import GeminiAgent
from tests.e2e.aider_harness import aider_env, require_aider_binary
from tests.e2e.codex_harness import codex_env, require_codex_binary, write_codex_home
from tests.e2e.gemini_harness import gemini_env, require_gemini_binary, write_gemini_home
from tests.e2e.gemini_standin import GeminiStandin
from tests.e2e.openai_chat_standin import OpenAIChatStandin
from tests.e2e.responses_standin import ResponsesStandin
from tests.support.engine import make_engine
from tests.support.pilot_waits import wait_until

pytestmark = pytest.mark.tmux

SLOW = 90.0
"""Seconds an agent binary gets for each step (start, ask, answer, confirm a send)."""


def _engine(
    tmp_path: Path, git_repo: Path, agent: str, command: str, env: dict[str, str]
) -> Engine:
    project = {
        "path": str(git_repo),
        "defaultBranch": "main",
        "sessionPrefix": "app",
        "agent": agent,
        "agentConfig": {"command": command},
        "env": env,
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps({"projects": {"app": project}}))  # JSON is YAML
    registry = Registry()
    plugin = {"codex": CodexAgent, "aider": AiderAgent, "gemini": GeminiAgent}[agent]
    if agent not in registry.names("agent"):
        registry.register("agent", agent, plugin)
    return make_engine(path, registry)


def _only_session(engine: Engine) -> Session | None:
    sessions = engine.store.list_sessions()
    return sessions[0] if sessions else None


def _state_is(engine: Engine, state: ActivityState) -> Callable[[], bool]:
    def check() -> bool:
        session = _only_session(engine)
        return session is not None and session.activity.state is state

    return check


def _delivered(engine: Engine) -> bool:
    return any(
        e.kind == "message" and e.data.get("result") == "delivered"
        for e in engine.store.events_after(0)
    )


async def _drive(engine: Engine, agent: str, task: str) -> Session:
    """Spawn ``task`` from the dialog, answer the question with `y`, send with `s`."""
    app = CockpitApp(engine, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await wait_until(pilot, lambda: isinstance(app.screen, NewSessionScreen))
        assert app.screen.query_one("#new-agent", Select).value == agent
        await pilot.press(*task)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _only_session(engine) is not None, timeout=SLOW)
        await wait_until(pilot, lambda: not isinstance(app.screen, NewSessionScreen))
        session = _only_session(engine)
        assert session is not None and session.agent == agent
        # The cockpit reconciles: the agent's question reaches the board and the preview.
        await wait_until(pilot, _state_is(engine, ActivityState.WAITING_INPUT), timeout=SLOW)
        assert app.board.focus_session(session.id)
        await wait_until(pilot, lambda: app.board.selected_id == session.id)
        await pilot.pause(0.5)  # the preview shows the question the key answers
        await pilot.press("y")
        await wait_until(pilot, _state_is(engine, ActivityState.IDLE), timeout=SLOW)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SendScreen))
        await pilot.press(*"also say goodbye")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _delivered(engine), timeout=SLOW)
    return engine.get(session.id)


@pytest.mark.codex
async def test_codex_from_the_cockpit(tmp_path: Path, git_repo: Path) -> None:
    binary = require_codex_binary()
    with ResponsesStandin() as standin:
        codex_home = write_codex_home(tmp_path / "codex-home", standin.base_url)
        env = codex_env(tmp_path / "home", codex_home)
        engine = _engine(tmp_path, git_repo, "codex", shlex.join([str(binary)]), env)
        session = await _drive(engine, "codex", "RUN_SHELL touch cockpit-proof.txt")
    assert (Path(session.worktree) / "cockpit-proof.txt").exists()


@pytest.mark.aider
async def test_aider_from_the_cockpit(tmp_path: Path, git_repo: Path) -> None:
    binary = require_aider_binary()
    # Aider commits its edits itself: the repository needs an identity.
    run_git(["config", "user.name", "ao-tui tests"], cwd=git_repo)
    run_git(["config", "user.email", "tests@example.invalid"], cwd=git_repo)
    with OpenAIChatStandin() as standin:
        env: dict[str, Any] = aider_env(tmp_path / "aider-home", standin.base_url)
        engine = _engine(tmp_path, git_repo, "aider", str(binary), env)
        session = await _drive(engine, "aider", "WRITE_FILE hello.txt hi from the cockpit")
    assert (Path(session.worktree) / "hello.txt").read_text().strip() == "hi from the cockpit"


@pytest.mark.gemini
async def test_gemini_from_the_cockpit(tmp_path: Path, git_repo: Path) -> None:
    binary = require_gemini_binary()
    with GeminiStandin() as standin:
        home = write_gemini_home(tmp_path / "gemini-home", standin.base_url)
        env = gemini_env(standin.base_url, home)
        engine = _engine(tmp_path, git_repo, "gemini", shlex.join([str(binary)]), env)
        session = await _drive(engine, "gemini", "RUN_SHELL touch cockpit-proof.txt")
    assert (Path(session.worktree) / "cockpit-proof.txt").exists()
