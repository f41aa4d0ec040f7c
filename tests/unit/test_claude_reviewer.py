"""A Claude Code reviewer session launches with read-only permission rules (``--settings``):
its review verbs and git's reading commands allowed, editing, committing and pushing denied.
A worker's launch is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from core.slots import AgentContext
from plugins.agent.claude_code.plugin import ClaudeCodeAgent

UUID = "4f1c2b9e-0000-4000-8000-000000000001"


def _ctx(tmp_path: Path, role: str) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    return AgentContext(
        session_id="app-5",
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=tmp_path / "state" / "app-5",
        prompt="Review the changes of session app-3",
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
        role=role,
    )


def test_a_reviewer_launches_with_read_only_rules(tmp_path: Path) -> None:
    plan = ClaudeCodeAgent().launch(_ctx(tmp_path, "reviewer"))
    assert plan.argv[:3] == ["claude", "--session-id", UUID]
    assert plan.argv[3] == "--settings" and plan.argv[-1] == "Review the changes of session app-3"
    rules = json.loads(plan.argv[4])["permissions"]
    assert {"Read", "Grep", "Bash(ao-tui review:*)", "Bash(ao-tui diff:*)"} <= set(rules["allow"])
    assert {"Bash(git diff:*)", "Bash(git log:*)", "Bash(git show:*)"} <= set(rules["allow"])
    assert {"Edit", "Write", "Bash(git commit:*)", "Bash(git push:*)"} <= set(rules["deny"])
    assert not set(rules["allow"]) & set(rules["deny"])


def test_a_worker_launches_without_them(tmp_path: Path) -> None:
    plan = ClaudeCodeAgent().launch(_ctx(tmp_path, "worker"))
    assert "--settings" not in plan.argv
