"""`spawn --issue`: the task comes from the project's tracker and the session is bound to it.

Real git, real tmux (test socket), the recorder shell agent and the `local` tracker's task
file; the CLI runs as a real process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.engine import Engine
from core.errors import DuplicateTaskError, EngineError
from core.models import Lifecycle
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, recorder_command, write_config

TASKS = """\
# Tasks

## 12. Fix the flaky login test
It fails one run in ten on CI.

## [x] 13. Ship the release notes
"""


@pytest.fixture
def project(tmp_path: Path, git_repo: Path) -> Path:
    (git_repo / "TASKS.md").write_text(TASKS, encoding="utf-8")
    run_git(git_repo, "add", "TASKS.md")
    run_git(git_repo, "commit", "-qm", "tasks")
    write_config(
        git_repo,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml="    tracker: local\n",
    )
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


@pytest.fixture
def engine(project: Path) -> Engine:
    return make_engine(project / "ao.config.yaml")


def test_spawn_on_an_issue_builds_the_task_and_binds_it(engine: Engine) -> None:
    session = engine.spawn("app", "start with the test", issue="#12")
    assert session.issue == "12"
    assert session.title == "#12 Fix the flaky login test"
    assert session.prompt == (
        "Resolve issue #12: Fix the flaky login test\n(TASKS.md:3)\n\n"
        "It fails one run in ten on CI.\n\nOperator's note: start with the test"
    )
    assert "fix-the-flaky-login-test" in session.branch
    with pytest.raises(DuplicateTaskError) as info:
        engine.spawn("app", "", issue="12")
    assert str(info.value).startswith(f"{session.id} already works on issue #12")
    forced = engine.spawn("app", "", issue="12", force=True)
    assert forced.issue == "12"
    # Once the first session is gone, the issue is free again.
    engine.kill(session.id)
    engine.kill(forced.id)
    again = engine.spawn("app", "", issue="12")
    assert again.lifecycle is Lifecycle.RUNNING


def test_closed_unknown_and_hostile_issues_are_refused_and_nothing_is_left(
    engine: Engine, project: Path
) -> None:
    with pytest.raises(EngineError) as closed:
        engine.spawn("app", "", issue="13")
    assert "issue #13 (TASKS.md:6) is closed; pass --force" in str(closed.value)
    with pytest.raises(EngineError) as unknown:
        engine.spawn("app", "", issue="99")
    assert "TASKS.md has no task '99' (tasks: 12, 13)" in str(unknown.value)
    with pytest.raises(EngineError) as hostile:
        engine.spawn("app", "", issue="$(touch pwned)")
    assert "is not an issue id" in str(hostile.value)
    assert not (project / "pwned").exists()
    assert engine.store.list_sessions() == []
    assert run_git(project, "branch", "--list", "ao/*") == ""


def test_without_a_tracker_the_issue_is_a_label_or_a_clear_error(
    tmp_path: Path, git_repo: Path
) -> None:
    cfg = write_config(tmp_path, git_repo, command=recorder_command(tmp_path / "r.bin"))
    engine = make_engine(cfg)
    labelled = engine.spawn("app", "fix it", issue="#7")
    assert (labelled.issue, labelled.prompt) == ("7", "fix it")
    with pytest.raises(EngineError) as info:
        engine.spawn("app", "", issue="8")
    assert "project app has no tracker; add `tracker: local`" in str(info.value)


def test_cli_issues_and_spawn_issue(project: Path) -> None:
    listed = ao(project, "issues", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(i["key"], i["session"]) for i in json.loads(listed.stdout)] == [("12", None)]
    spawned = ao(project, "spawn", "--issue", "12", "--json")
    assert spawned.returncode == 0, spawned.stderr
    session = json.loads(spawned.stdout)
    assert (session["issue"], session["title"]) == ("12", "#12 Fix the flaky login test")
    listed = ao(project, "issues")
    assert listed.stdout.split() == ["#12", session["id"], "Fix", "the", "flaky", "login", "test"]
    again = ao(project, "spawn", "--issue", "12")
    assert again.returncode == 4
    assert f"{session['id']} already works on issue #12" in again.stderr
    none = ao(project, "spawn")
    assert none.returncode == 2
    assert "--issue ID" in none.stderr
