"""A token in a prompt, an issue title or a message never reaches a title, a branch, a
preview or an output: real CLI processes, real git, real tmux (test socket), shell agent.

The prompt itself is kept verbatim in the database (the agent needs the task as given):
these tests look at everything else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from core.models import ActivityState, Event
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, wait_for, write_config

TOKEN = "ghp_AbCdEf0123456789GhIjKlMnOpQrStUvWxYz"
FRAGMENTS = ("ghp_", "abcdef0123", "AbCdEf0123", "uvwxyz")
SLEEPER = f"{sys.executable} -c 'import time; time.sleep(600)'"


def leaks(text: str) -> list[str]:
    """Which recognisable pieces of TOKEN ``text`` holds (any case)."""
    lowered = text.lower()
    return [piece for piece in FRAGMENTS if piece.lower() in lowered]


@pytest.fixture
def project(tmp_path: Path, git_repo: Path) -> Path:
    (git_repo / "TASKS.md").write_text(
        f"# Tasks\n\n## 7. Rotate the leaked {TOKEN} everywhere\nIt was pushed.\n",
        encoding="utf-8",
    )
    run_git(git_repo, "add", "TASKS.md")
    run_git(git_repo, "commit", "-qm", "tasks")
    write_config(git_repo, git_repo, command=SLEEPER, extra_project_yaml="    tracker: local\n")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


def test_spawn_status_ls_and_branches_show_no_token(project: Path) -> None:
    spawned = ao(project, "spawn", "--prompt", f"deploy with {TOKEN} to staging", "--json")
    assert spawned.returncode == 0, spawned.stderr
    assert leaks(spawned.stdout) == []
    session = json.loads(spawned.stdout)
    assert session["title"] == "deploy with *** to staging"
    assert session["branch"] == f"ao/{session['id']}-deploy-with-to-staging"
    for args in (("status", "--json"), ("status",), ("ls", "--json"), ("events", "--json")):
        out = ao(project, *args)
        assert out.returncode == 0, out.stderr
        assert leaks(out.stdout) == [], args
    branches = run_git(project, "branch", "--format=%(refname)")
    assert leaks(branches) == []
    engine = make_engine(project / "ao.config.yaml")
    assert engine.get(session["id"]).prompt == f"deploy with {TOKEN} to staging"  # verbatim


def test_an_issue_title_is_masked_in_the_list_the_title_and_the_branch(project: Path) -> None:
    listed = ao(project, "issues", "--json")
    assert listed.returncode == 0, listed.stderr
    assert leaks(listed.stdout) == []
    assert json.loads(listed.stdout)[0]["title"] == "Rotate the leaked *** everywhere"
    spawned = ao(project, "spawn", "--issue", "7", "--json")
    assert spawned.returncode == 0, spawned.stderr
    assert leaks(spawned.stdout) == []
    assert json.loads(spawned.stdout)["title"] == "#7 Rotate the leaked *** everywhere"


def test_a_message_preview_is_masked_before_it_is_cut(project: Path) -> None:
    engine = make_engine(project / "ao.config.yaml")
    session = engine.spawn("app", "wait for messages")
    # The token starts at character 50: cut at 60 first, "ghp_AbCdEf" would stay.
    engine.send(session.id, "x" * 49 + " " + TOKEN + " please use it")
    (event,) = [e for e in engine.store.events_after(0) if e.kind == "message"]
    assert event.data["preview"] == ("x" * 49 + " *** please use it")[:60]
    assert leaks(json.dumps(event.data)) == []


def test_the_events_a_reconcile_returns_are_masked_like_the_stored_ones(
    tmp_path: Path, git_repo: Path
) -> None:
    # The daemon prints what reconcile returns; a yes/no prompt quoting a token is the
    # activity detail of a shell agent.
    asker = tmp_path / "asker.py"
    asker.write_text(
        f"input('Run `curl -H \"Authorization: Bearer {TOKEN[4:]}\"`? (Y)es/(N)o [Yes]: ')\n"
    )
    config = write_config(tmp_path, git_repo, command=f"{sys.executable} {asker}")
    engine = make_engine(config)
    session = engine.spawn("app", "ask something")

    def waiting() -> list[Event]:
        events = engine.reconcile()
        now = engine.get(session.id)
        return events if now.activity.state is ActivityState.WAITING_INPUT else []

    events = wait_for(waiting, timeout=20, interval=0.2)
    assert any("Bearer ***" in json.dumps(e.data) for e in events)
    assert leaks(json.dumps([e.data for e in events])) == []
