"""The shell agent: argv from the config, and an honest pane-only reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.models import ActivityState, Delivery, SignalSource
from core.slots import Agent, AgentContext, AgentSettings, PaneInfo, SlotError
from plugins.agent.shell import ShellAgent

ALIVE = PaneInfo(session_name="ao-app-1", pane_id="%1", pane_pid=4242, dead=False)


def _ctx(tmp_path: Path, command: str | None) -> AgentContext:
    return AgentContext(
        session_id="app-1",
        agent_session_id="",
        worktree=tmp_path,
        state_dir=tmp_path / "state",
        prompt="task",
        settings=AgentSettings(command=command),
    )


def test_protocol_and_flags() -> None:
    agent = ShellAgent()
    assert isinstance(agent, Agent)
    assert (agent.name, agent.confirms_delivery) == ("shell", False)
    assert agent.answer_keys(True) == ["y", "Enter"]
    assert agent.answer_keys(False) == ["n", "Enter"]
    assert agent.paste_delay("x") < 0.5
    assert agent.paste_delay("x" * 1_000_000) == 1.0


def test_argv_is_split_like_a_shell_without_running_one(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, """aider --model 'gpt 5' --message "a b" """)
    argv = ["aider", "--model", "gpt 5", "--message", "a b"]
    agent = ShellAgent()
    assert agent.launch(ctx).argv == argv
    assert agent.resume(ctx).argv == argv
    assert agent.prepare(ctx) == [] and ctx.state_dir.is_dir()


@pytest.mark.parametrize("command", [None, "", "   "])
def test_missing_command_says_what_to_set(tmp_path: Path, command: str | None) -> None:
    with pytest.raises(SlotError, match=r"projects\.<id>\.agentConfig\.command"):
        ShellAgent().launch(_ctx(tmp_path, command))


def test_observe(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "bash")
    agent = ShellAgent(clock=lambda: 5.0)
    dead = PaneInfo("ao-app-1", "%1", 1, dead=True, dead_status=2)
    (exited,) = agent.observe(ctx, dead, lambda: "").signals
    assert (exited.state, exited.source, exited.detail) == (
        ActivityState.EXITED,
        SignalSource.RUNTIME,
        "command exited (2)",
    )
    (idle,) = agent.observe(ctx, ALIVE, lambda: "make: done\nuser@box:~/repo$ \n").signals
    assert (idle.state, idle.source) == (ActivityState.IDLE, SignalSource.PANE)
    (working,) = agent.observe(ctx, ALIVE, lambda: "compiling 1/3\n").signals
    assert working.state is ActivityState.WORKING
    assert agent.observe(ctx, ALIVE, lambda: "compiling 1/3\n").signals == []  # unchanged
    (question,) = agent.observe(ctx, ALIVE, lambda: "Overwrite? (Y)es/(N)o [Yes]: ").signals
    assert question.state is ActivityState.WAITING_INPUT


def test_no_delivery_proof(tmp_path: Path) -> None:
    agent = ShellAgent()
    ctx = _ctx(tmp_path, "bash")
    marker = agent.delivery_marker(ctx)
    assert agent.delivery(ctx, marker, "anything", lambda: "$ ") is Delivery.PENDING
