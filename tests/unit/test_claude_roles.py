"""Claude Code with a role: the orchestrator's permission rules and instructions, and a
worker left exactly as it was.

Real files in a temp worktree and state dir; the launch plans are the plugin's own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.models import Role
from core.permission_policy import prepare_agent
from core.slots import AgentContext, AgentSettings, RoleSupport, SlotError
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.claude_code.roles import ROLE_MODE
from plugins.agent.claude_code.settings import DENY_RECORD, SETTINGS_FILE
from plugins.agent.demo import DemoAgent
from plugins.agent.shell import ShellAgent

UUID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
INSTRUCTIONS = "# You are the orchestrator\n\nRun `ao-tui status --json` first.\n"


def _ctx(tmp_path: Path, session_id: str, role: str, **settings: Any) -> AgentContext:
    worktree = tmp_path / session_id
    worktree.mkdir(exist_ok=True)
    return AgentContext(
        session_id=session_id,
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=tmp_path / "state" / session_id,
        prompt="start the fleet",
        settings=AgentSettings(**settings),
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
        role=role,
    )


def _permissions(ctx: AgentContext) -> dict[str, Any]:
    loaded = json.loads((ctx.worktree / SETTINGS_FILE).read_text())
    assert isinstance(loaded, dict)
    permissions = loaded.get("permissions", {})
    assert isinstance(permissions, dict)
    return permissions


def test_claude_code_and_the_demo_can_run_the_orchestrator_and_the_shell_cannot() -> None:
    for agent in (ClaudeCodeAgent(), DemoAgent()):
        assert isinstance(agent, RoleSupport)
        assert "orchestrator" in agent.roles
    assert not isinstance(ShellAgent(), RoleSupport)


def test_the_orchestrator_gets_the_guardrails_and_not_the_workers_rules(tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    ctx = _ctx(tmp_path, "app-orchestrator", "orchestrator", allow=("Bash(pytest:*)", "Edit"))
    excludes = prepare_agent(agent, ctx, "app", role=Role.ORCHESTRATOR)
    assert excludes == [SETTINGS_FILE]
    permissions = _permissions(ctx)
    assert "Bash(ao-tui:*)" in permissions["allow"]
    for read_only in ("Read", "Grep", "Glob", "Bash(git status:*)", "Bash(git diff:*)"):
        assert read_only in permissions["allow"]
    # The project's allow rules are the workers': never the orchestrator's.
    assert "Bash(pytest:*)" not in permissions["allow"]
    assert "Edit" not in permissions["allow"]
    for denied in (
        "Bash(claude:*)",
        "Bash(codex:*)",
        "Bash(aider:*)",
        "Bash(gemini:*)",
        "Bash(tmux:*)",
        "Bash(git worktree:*)",
        "Bash(git push:*)",
        "Bash(git commit:*)",
        "Edit",
        "Write",
    ):
        assert denied in permissions["deny"]
    # Idempotent: preparing again (a restore) changes nothing.
    before = (ctx.worktree / SETTINGS_FILE).read_text()
    prepare_agent(agent, ctx, "app", role=Role.ORCHESTRATOR)
    assert (ctx.worktree / SETTINGS_FILE).read_text() == before
    assert json.loads((ctx.state_dir / DENY_RECORD).read_text()) == permissions["deny"]


def test_a_worker_gets_only_its_projects_rules(tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    ctx = _ctx(tmp_path, "app-1", "worker", allow=("Bash(pytest:*)",))
    prepare_agent(agent, ctx, "app")
    permissions = _permissions(ctx)
    assert permissions == {"allow": ["Bash(pytest:*)"]}
    assert not (ctx.state_dir / DENY_RECORD).exists()


def test_the_users_deny_rules_are_kept(tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    ctx = _ctx(tmp_path, "app-orchestrator", "orchestrator")
    path = ctx.worktree / SETTINGS_FILE
    path.parent.mkdir()
    path.write_text(json.dumps({"permissions": {"deny": ["WebFetch"]}}))
    prepare_agent(agent, ctx, "app", role=Role.ORCHESTRATOR)
    deny = _permissions(ctx)["deny"]
    assert deny[0] == "WebFetch" and "Bash(tmux:*)" in deny


def test_a_reviewer_reads_and_reviews_only(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "app-7", "reviewer")
    prepare_agent(ClaudeCodeAgent(), ctx, "app", role=Role.REVIEWER)
    permissions = _permissions(ctx)
    assert "Bash(ao-tui review:*)" in permissions["allow"]
    assert "Bash(ao-tui:*)" not in permissions["allow"]
    assert {"Edit", "Write", "Bash(git push:*)", "Bash(claude:*)"} <= set(permissions["deny"])


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "app-7", "auditor")
    with pytest.raises(SlotError, match="no rules for role 'auditor'"):
        ClaudeCodeAgent().apply_role(ctx)


def test_the_orchestrators_argv_carries_its_instructions_and_mode(tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    ctx = _ctx(
        tmp_path,
        "app-orchestrator",
        "orchestrator",
        command="claude --verbose",
        permissions="bypassPermissions",
        model="sonnet",
    )
    worker_plan = agent.launch(ctx)
    assert "--append-system-prompt" not in worker_plan.argv
    plan = agent.role_plan(ctx, worker_plan, INSTRUCTIONS)
    assert plan.argv == [
        "claude",
        "--verbose",
        "--permission-mode",
        ROLE_MODE,
        "--append-system-prompt",
        INSTRUCTIONS,
        "--session-id",
        UUID,
        "--model",
        "sonnet",
        "start the fleet",
    ]
    # A resume is given them again (a conversation does not keep its system prompt).
    resumed = agent.role_plan(ctx, agent.resume(ctx), INSTRUCTIONS)
    assert resumed.argv[resumed.argv.index("--append-system-prompt") + 1] == INSTRUCTIONS
    assert resumed.argv.count("--permission-mode") == 1
    # A task that reads like an option stays the task.
    dashed = replace(ctx, prompt="--permission-mode")
    plan = agent.role_plan(dashed, agent.launch(dashed), INSTRUCTIONS)
    assert plan.argv[-2:] == ["--", "--permission-mode"]
    assert plan.argv.count("--permission-mode") == 2


def test_the_demo_plays_its_script_with_a_role(tmp_path: Path) -> None:
    agent = DemoAgent()
    ctx = _ctx(tmp_path, "app-orchestrator", "orchestrator")
    plan = agent.launch(ctx)
    assert agent.role_plan(ctx, plan, INSTRUCTIONS) == plan
