"""The agent's environment: an allowlist of the operator's, what the plugin needs, the
project's ``env:`` and the plan's additions, in that order."""

from __future__ import annotations

from core.agent_env import agent_environment, matching
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.shell import ShellAgent

OPERATOR = {
    "PATH": "/usr/bin",
    "HOME": "/home/ann",
    "LC_ALL": "C.UTF-8",
    "XDG_CONFIG_HOME": "/home/ann/.config",
    "TMUX": "/tmp/tmux-1/default,2,0",
    "TMUX_PANE": "%1",
    "AWS_ACCESS_KEY_ID": "AKIAOPERATOR",
    "AWS_SECRET_ACCESS_KEY": "operator-secret",
    "GITHUB_TOKEN": "ghp_operator",
    "ANTHROPIC_API_KEY": "sk-ant-operator",
    "CLAUDE_CONFIG_DIR": "/home/ann/.claude-work",
    "DISABLE_TELEMETRY": "1",
    "SOME_RANDOM_TOOL_TOKEN": "x",
}


def test_matching_takes_exact_names_and_patterns() -> None:
    assert matching(OPERATOR, ["PATH", "LC_*"]) == {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8"}


def test_a_plugin_that_declares_nothing_gets_the_allowlist_and_its_project_env() -> None:
    env = agent_environment(
        OPERATOR,
        agent=ShellAgent(),
        project_env={"GITHUB_TOKEN": "ghp_for_this_project"},
        plan_env={"PYTHONPATH": "/src"},
        session_id="app-1",
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/ann",
        "LC_ALL": "C.UTF-8",
        "XDG_CONFIG_HOME": "/home/ann/.config",
        "GITHUB_TOKEN": "ghp_for_this_project",
        "PYTHONPATH": "/src",
        "AO_TUI_SESSION": "app-1",
    }


def test_claude_gets_its_own_variables_but_no_cloud_credentials_unless_told() -> None:
    env = agent_environment(
        OPERATOR, agent=ClaudeCodeAgent(), project_env={}, plan_env={}, session_id="app-2"
    )
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-operator"
    assert env["CLAUDE_CONFIG_DIR"] == "/home/ann/.claude-work"
    assert env["DISABLE_TELEMETRY"] == "1"
    assert not {"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "SOME_RANDOM_TOOL_TOKEN"} & set(env)
    bedrock = {**OPERATOR, "CLAUDE_CODE_USE_BEDROCK": "1"}
    env = agent_environment(
        bedrock, agent=ClaudeCodeAgent(), project_env={}, plan_env={}, session_id="app-3"
    )
    assert env["AWS_SECRET_ACCESS_KEY"] == "operator-secret"
    assert env["CLAUDE_CODE_USE_BEDROCK"] == "1"


def test_the_project_env_and_the_plan_win_over_the_operator() -> None:
    env = agent_environment(
        OPERATOR,
        agent=ClaudeCodeAgent(),
        project_env={"HOME": "/sandbox", "ANTHROPIC_API_KEY": "sk-ant-project"},
        plan_env={"HOME": "/plan"},
        session_id="app-4",
    )
    assert env["HOME"] == "/plan" and env["ANTHROPIC_API_KEY"] == "sk-ant-project"
