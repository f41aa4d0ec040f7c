"""A reviewer session with the REAL Claude Code CLI: its read-only rules hold.

ao-tui launches a reviewer with Claude Code's own permission rules
(plugins/agent/claude_code/roles.py). The scripted model (the API stand-in) first reads the
history with ``git log`` (allowed: it runs with no prompt), then tries to write a file
(refused by Claude itself: no prompt, no file). Without the rules the first call would wait
on a permission prompt.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.models import ActivityState, Role
from tests.e2e.anthropic_standin import AnthropicStandin
from tests.e2e.claude_harness import TEST_API_KEY, read_jsonl, transcript_path, write_claude_config
from tests.support.engine import make_engine, wait_for

pytestmark = [pytest.mark.claude]

TASK = "SCRIPTED_REVIEW: review the changes of session app-1"


def test_a_reviewer_reads_freely_and_cannot_write(
    tmp_path: Path, git_repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> None:
    home = tmp_path / "claude-home"
    write_claude_config(home, git_repo)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": anthropic_standin.base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }
    config = tmp_path / "ao.config.yaml"
    project = {
        "path": str(git_repo),
        "defaultBranch": "main",
        "sessionPrefix": "app",
        "agent": "claude-code",
        "agentConfig": {"command": str(claude_bin)},
        "env": env,
    }
    config.write_text(json.dumps({"projects": {"app": project}}))  # JSON is YAML
    where: dict[str, Path] = {}

    def steps() -> list[Any]:
        return [
            lambda: ("Bash", {"command": "git log --oneline -1", "description": "History"}),
            lambda: (
                "Write",
                {"file_path": str(where["worktree"] / "notes.txt"), "content": "edited"},
            ),
        ]

    anthropic_standin.script(TASK, steps())
    engine = make_engine(config)
    session = engine.spawn("app", TASK, role=Role.REVIEWER)
    where["worktree"] = Path(session.worktree)
    transcript = transcript_path(home, Path(session.worktree), session.agent_session_id)

    def results() -> list[dict[str, Any]]:
        found = []
        for entry in read_jsonl(transcript):
            content = (entry.get("message") or {}).get("content")
            if isinstance(content, list):
                found += [
                    b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
                ]
        return found

    asked: list[str] = []

    def both_answered() -> bool:
        state = engine.reconcile_one(session.id).activity.state
        if state is ActivityState.WAITING_INPUT:
            asked.append("a permission prompt")
        return len(results()) >= 2 or bool(asked)

    wait_for(both_answered, timeout=90, interval=0.3)
    assert asked == [], "the reviewer was asked for a permission its rules should decide"
    ran, denied = results()[:2]
    assert not ran.get("is_error"), ran  # git log ran with no prompt
    assert denied.get("is_error"), denied
    text = json.dumps(denied.get("content"))
    # A bare deny rule takes the tool away altogether: Claude refuses the call itself.
    assert "Write exists but is not enabled" in text or "denied" in text.lower(), text
    assert not (Path(session.worktree) / "notes.txt").exists()
    engine.kill(session.id, discard=True)
