"""The Claude Code plugin writes ``agentConfig.allow`` into Claude's own ``permissions.allow``.

Real files in a temp worktree and state dir; the merge keeps the user's rules and hooks,
is idempotent, withdraws only rules it added, and never overwrites a file it cannot read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.slots import AgentContext, AgentSettings, PermissionRules, SlotError
from plugins.agent.claude_code.hooks import hook_command
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.claude_code.settings import ALLOW_RECORD, SETTINGS_FILE

UUID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _ctx(tmp_path: Path, *rules: str) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    return AgentContext(
        session_id="app-1",
        agent_session_id=UUID,
        worktree=worktree,
        state_dir=tmp_path / "state" / "app-1",
        prompt="fix the login bug",
        settings=AgentSettings(allow=rules),
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
    )


def _settings(ctx: AgentContext) -> dict[str, Any]:
    loaded = json.loads((ctx.worktree / SETTINGS_FILE).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _write_settings(ctx: AgentContext, data: Any) -> Path:
    path = ctx.worktree / SETTINGS_FILE
    path.parent.mkdir(exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _prepare(ctx: AgentContext) -> list[str]:
    """What the engine does (core.permission_policy.prepare_agent): prepare, then the rules."""
    agent = ClaudeCodeAgent()
    return agent.prepare(ctx) + agent.apply_allow(ctx)


def test_the_plugin_offers_the_capability_and_says_where_rules_go() -> None:
    agent = ClaudeCodeAgent()
    assert isinstance(agent, PermissionRules)
    assert "permissions.allow" in agent.allow_target
    assert SETTINGS_FILE in agent.allow_target


def test_rules_join_the_users_rules_hooks_and_other_keys(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "Bash(pytest:*)", "Edit")
    user_stop = {"hooks": [{"type": "command", "command": "notify-send done"}]}
    _write_settings(
        ctx,
        {
            "permissions": {
                "allow": ["Bash(npm test)"],
                "deny": ["Bash(curl:*)"],
                "defaultMode": "default",
            },
            "hooks": {"Stop": [user_stop]},
            "env": {"FOO": "1"},
        },
    )
    assert _prepare(ctx) == [SETTINGS_FILE, SETTINGS_FILE]
    merged = _settings(ctx)
    assert merged["permissions"] == {
        "allow": ["Bash(npm test)", "Bash(pytest:*)", "Edit"],
        "deny": ["Bash(curl:*)"],
        "defaultMode": "default",
    }
    assert merged["env"] == {"FOO": "1"}
    assert merged["hooks"]["Stop"][0] == user_stop
    ours = hook_command(ctx.state_dir / "hooks.jsonl")
    assert merged["hooks"]["Stop"][1]["hooks"][0]["command"] == ours
    assert len(merged["hooks"]) == 9


def test_again_and_again_changes_nothing(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "Bash(pytest:*)", "Edit", "Bash(pytest:*)")
    _prepare(ctx)
    first = (ctx.worktree / SETTINGS_FILE).read_text()
    assert _settings(ctx)["permissions"] == {"allow": ["Bash(pytest:*)", "Edit"]}
    mtime = (ctx.worktree / SETTINGS_FILE).stat().st_mtime_ns
    ClaudeCodeAgent().apply_allow(ctx)
    assert (ctx.worktree / SETTINGS_FILE).stat().st_mtime_ns == mtime  # not even rewritten
    for _ in range(3):  # a restore prepares the same worktree again
        _prepare(ctx)
    assert (ctx.worktree / SETTINGS_FILE).read_text() == first


def test_rules_dropped_from_the_config_are_withdrawn_and_the_users_stay(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "Bash(npm test)", "Bash(pytest:*)", "Edit")
    # The user allowed `npm test` before ao-tui came: that rule is theirs, not ours.
    _write_settings(ctx, {"permissions": {"allow": ["Bash(npm test)"]}})
    _prepare(ctx)
    assert _settings(ctx)["permissions"]["allow"] == ["Bash(npm test)", "Bash(pytest:*)", "Edit"]
    assert json.loads((ctx.state_dir / ALLOW_RECORD).read_text()) == ["Bash(pytest:*)", "Edit"]
    # Meanwhile Claude recorded an answer "Yes, and don't ask again" in the same list.
    data = _settings(ctx)
    data["permissions"]["allow"].append("Bash(make lint:*)")
    _write_settings(ctx, data)

    _prepare(_ctx(tmp_path, "Edit"))  # the operator dropped two rules, then restored
    assert _settings(ctx)["permissions"]["allow"] == ["Bash(npm test)", "Edit", "Bash(make lint:*)"]
    _prepare(_ctx(tmp_path))  # and then every rule
    assert _settings(ctx)["permissions"]["allow"] == ["Bash(npm test)", "Bash(make lint:*)"]
    assert json.loads((ctx.state_dir / ALLOW_RECORD).read_text()) == []


def test_no_rules_and_no_record_leave_the_users_file_as_it_was(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    path = _write_settings(ctx, '{"permissions": {"allow": ["Bash(ls)"]}}')
    ClaudeCodeAgent().apply_allow(ctx)
    assert path.read_text() == '{"permissions": {"allow": ["Bash(ls)"]}}'
    assert not (ctx.state_dir / ALLOW_RECORD).exists()


def test_entries_of_other_shapes_are_kept(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "Edit")
    _write_settings(ctx, {"permissions": {"allow": [{"odd": True}, 3, "Edit"]}})
    ClaudeCodeAgent().apply_allow(ctx)
    # `Edit` was there already: it is the user's and nothing is added or recorded.
    assert _settings(ctx)["permissions"]["allow"] == [{"odd": True}, 3, "Edit"]
    ClaudeCodeAgent().apply_allow(_ctx(tmp_path))
    assert _settings(ctx)["permissions"]["allow"] == [{"odd": True}, 3, "Edit"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{ not json", "cannot add the project's allow rules, the file is not valid JSON"),
        ('["a list"]', "expected a JSON object; fix or remove it"),
        ('{"permissions": ["Edit"]}', "'permissions' is not a JSON object"),
        ('{"permissions": {"allow": "Edit"}}', "'permissions.allow' is not a list"),
    ],
)
def test_a_file_of_the_wrong_shape_is_named_and_left_alone(
    tmp_path: Path, content: str, expected: str
) -> None:
    ctx = _ctx(tmp_path, "Bash(pytest:*)")
    path = _write_settings(ctx, content)
    with pytest.raises(SlotError) as raised:
        ClaudeCodeAgent().apply_allow(ctx)
    message = str(raised.value)
    assert expected in message and str(path) in message and "\n" not in message
    assert path.read_text() == content
    assert not (ctx.state_dir / ALLOW_RECORD).exists()


def test_an_unreadable_record_keeps_every_rule_rather_than_guess(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "Bash(pytest:*)")
    _prepare(ctx)
    (ctx.state_dir / ALLOW_RECORD).write_text("{garbage")
    ClaudeCodeAgent().apply_allow(_ctx(tmp_path))
    # Not knowing which rules were ours, none is taken from the user's file.
    assert _settings(ctx)["permissions"]["allow"] == ["Bash(pytest:*)"]
