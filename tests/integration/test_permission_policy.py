"""The permission policy (``agentConfig.allow``) through the engine, the CLI and doctor.

Real parts: git repositories and worktrees, tmux on the test socket, the config loader,
the CLI as a subprocess. The agent that takes the rules is the demo agent, which installs
Claude Code's settings exactly as the Claude Code plugin does (it inherits that code); the
real Claude Code CLI obeying them is in tests/e2e/test_engine_claude.py. The ``shell`` agent
has no way to apply rules, so a project giving it some is refused.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ao_tui.demo import write_sample_project
from core.engine import Engine
from core.errors import ConfigError
from core.models import Lifecycle
from plugins.agent.claude_code.settings import ALLOW_RECORD, SETTINGS_FILE
from tests.support.engine import ao, make_engine, wait_for, write_config


def _policy(*rules: str) -> str:
    return f"    agentConfig:\n      allow: {json.dumps(list(rules))}\n"


def _allow_in(worktree: Path) -> list[object]:
    settings = json.loads((worktree / SETTINGS_FILE).read_text())
    allow = settings["permissions"]["allow"]
    assert isinstance(allow, list)
    return allow


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    write_sample_project(repo)
    return repo


def _demo_engine(tmp_path: Path, repo: Path, *rules: str) -> Engine:
    extra = _policy(*rules) + "    env:\n      AO_TUI_DEMO_SPEED: '5'\n"
    return make_engine(write_config(tmp_path, repo, agent="demo", extra_project_yaml=extra))


def test_spawn_writes_the_rules_and_restore_follows_the_config(tmp_path: Path, shop: Path) -> None:
    engine = _demo_engine(tmp_path, shop, "Bash(pytest:*)", "Bash(git commit:*)")
    session = engine.spawn("app", "polish the cart\n\ndemo-scenario: long-work")
    worktree = Path(session.worktree)
    assert _allow_in(worktree) == ["Bash(pytest:*)", "Bash(git commit:*)"]
    # The settings file stays out of git, as it did before it held rules.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", ".claude"],
        cwd=worktree,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""

    # The operator answers a prompt "don't ask again" meanwhile: a rule of their own.
    settings = json.loads((worktree / SETTINGS_FILE).read_text())
    settings["permissions"]["allow"].append("Bash(make lint:*)")
    (worktree / SETTINGS_FILE).write_text(json.dumps(settings))
    # The agent dies (its tmux session goes), the operator edits the policy, and restores.
    engine.runtime.kill(session.tmux)
    wait_for(lambda: engine.reconcile_one(session.id).lifecycle is Lifecycle.EXITED, 20)
    engine = _demo_engine(tmp_path, shop, "Bash(pytest:*)", "Edit")
    engine.restore(session.id)
    assert _allow_in(worktree) == ["Bash(pytest:*)", "Bash(make lint:*)", "Edit"]
    record = engine.locations.session_dir(session.id) / ALLOW_RECORD
    assert json.loads(record.read_text()) == ["Bash(pytest:*)", "Edit"]
    hooks = json.loads((worktree / SETTINGS_FILE).read_text())["hooks"]
    assert all(len(entries) == 1 for entries in hooks.values())  # not doubled by restore
    engine.kill(session.id, discard=True)


def test_an_agent_that_cannot_apply_rules_is_refused_before_anything_is_made(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(
        write_config(tmp_path, git_repo, agent="shell", extra_project_yaml=_policy("Edit"))
    )
    with pytest.raises(ConfigError) as raised:
        engine.spawn("app", "fix the tests")
    assert str(raised.value) == (
        "projects.app.agentConfig.allow: the shell agent cannot apply permission rules (its "
        "plugin has no way to give them to the agent), so its sessions would still ask; "
        "remove allow from this project, or use an agent whose plugin supports it"
    )
    assert engine.store.list_sessions() == []
    assert engine.runtime.list_panes() == {}
    assert not engine.locations.worktree("app", "app-1").exists()
    assert not engine.locations.session_dir("app-1").exists()
    branches = subprocess.run(
        ["git", "branch", "--list", "ao/*"], cwd=git_repo, capture_output=True, text=True
    )
    assert branches.stdout == ""


def test_restore_is_refused_too_when_the_policy_came_later(tmp_path: Path, git_repo: Path) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="shell", command="sleep 600"))
    session = engine.spawn("app", "fix the tests")
    engine.kill(session.id)
    engine = make_engine(
        write_config(tmp_path, git_repo, agent="shell", extra_project_yaml=_policy("Edit"))
    )
    with pytest.raises(ConfigError, match=r"agentConfig\.allow: the shell agent cannot"):
        engine.restore(session.id)
    assert not Path(session.worktree).exists()  # refused before the worktree came back
    assert engine.get(session.id).lifecycle is Lifecycle.KILLED


def test_config_check_and_doctor_show_the_policy(tmp_path: Path, git_repo: Path) -> None:
    write_config(
        tmp_path,
        git_repo,
        agent="claude-code",
        extra_project_yaml=_policy("Bash(pytest:*)", "Edit"),
    )
    checked = ao(tmp_path, "config", "check")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[1] == (
        "  app: claude-code runs without asking: Bash(pytest:*), Edit (written to Claude "
        "Code's permissions.allow in the worktree's .claude/settings.local.json); the rest "
        "still asks"
    )
    doctor = ao(tmp_path, "doctor")
    assert "[ok  ] allow (app): claude-code runs without asking: Bash(pytest:*), Edit" in (
        doctor.stdout
    )


def test_config_check_and_doctor_refuse_a_policy_the_agent_cannot_apply(
    tmp_path: Path, git_repo: Path
) -> None:
    write_config(tmp_path, git_repo, agent="shell", extra_project_yaml=_policy("Edit"))
    checked = ao(tmp_path, "config", "check")
    assert checked.returncode == 5
    assert checked.stderr.startswith("ao-tui: ")
    assert ":8:14: projects.app.agentConfig.allow: the shell agent cannot apply" in (checked.stderr)
    doctor = ao(tmp_path, "doctor")
    assert doctor.returncode == 1
    assert "[FAIL] allow (app): the shell agent cannot apply permission rules" in doctor.stdout
    assert "fix: remove allow from this project" in doctor.stdout
