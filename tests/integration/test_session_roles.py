"""Session roles and command provenance (issue 13): what the orchestrator and reviewers
stand on.

- A session is a worker, the orchestrator or a reviewer; the role is stored (schema v6,
  older rows read as workers), written in the manifest, and printed by ``status --json``.
- The orchestrator has the fixed id ``<prefix>-orchestrator``; a second one is refused.
- Only workers hold a slot of ``maxConcurrentSessions``.
- An ``ao-tui`` process run with ``AO_TUI_ACTOR`` set (as ao-tui sets it for the agents
  it starts with a role) marks every event it logs ``by: <id>``; the event log says so.

Real git, real tmux (test socket), the recorder shell agent, the real CLI as a process.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import EngineError
from core.event_summary import summary
from core.manifest import read_manifest
from core.models import Role
from core.naming import orchestrator_id
from core.provenance import ACTOR_ENV, actor_from
from core.store import Store
from tests.support.engine import make_engine, recorder_command, write_config


@pytest.fixture
def config(tmp_path: Path, git_repo: Path) -> Path:
    path = write_config(
        git_repo,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml="    maxConcurrentSessions: 1\n",
    )
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return path


def test_roles_are_stored_and_only_workers_take_a_slot(config: Path) -> None:
    engine = make_engine(config)
    worker = engine.spawn("app", "fix the login test")
    assert worker.role is Role.WORKER
    # The cap of 1 is taken, yet the orchestrator and a reviewer still start.
    # Roles run on an agent that can take their rules (the demo's are Claude Code's).
    boss = engine.spawn(
        "app",
        "you run the fleet",
        agent_name="demo",
        role=Role.ORCHESTRATOR,
        session_id=orchestrator_id("app"),
    )
    assert boss.id == "app-orchestrator"
    reviewer = engine.spawn(
        "app", "review app-1", agent_name="demo", role=Role.REVIEWER, base=worker.branch
    )
    assert reviewer.base_branch == worker.branch
    stored = {s.id: s.role for s in engine.store.list_sessions()}
    assert stored == {
        worker.id: Role.WORKER,
        "app-orchestrator": Role.ORCHESTRATOR,
        reviewer.id: Role.REVIEWER,
    }
    manifest = read_manifest(engine.locations.session_dir(boss.id))
    assert manifest is not None and manifest.role == "orchestrator"
    with pytest.raises(EngineError) as info:
        engine.spawn(
            "app",
            "again",
            agent_name="demo",
            role=Role.ORCHESTRATOR,
            session_id=orchestrator_id("app"),
        )
    assert "already has that id" in str(info.value)
    assert "ao-tui restore app-orchestrator" in str(info.value)
    # The orchestrator's id is a session id every verb takes.
    assert engine.get("app-orchestrator").role is Role.ORCHESTRATOR


def test_rows_of_an_older_version_read_as_workers(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=5")
    db.close()
    # A v5 database has no role column: re-create that and migrate it.
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE sessions DROP COLUMN role")
    db.execute("DROP TABLE review_comments")  # v7's, which a v5 database has not either
    db.execute("DROP TABLE agent_reviews")
    db.execute(
        "INSERT INTO sessions(id, project, agent, title, prompt, branch, base_branch, "
        "worktree, tmux, pane_id, lifecycle, lifecycle_reason, activity, attempt, "
        "agent_session_id, issue, pr, extra, created_at, updated_at) VALUES("
        "'app-1','app','shell','t','p','ao/app-1-t','main','/tmp/w','ao-app-1','',"
        "'running','',"
        """'{"state": "idle", "source": "engine", "since": 1.0, "detail": ""}',"""
        "1,'','',NULL,'{}',1.0,1.0)"
    )
    db.commit()
    db.close()
    store = Store(path)
    try:
        session = store.get_session("app-1")
        assert session is not None and session.role is Role.WORKER
    finally:
        store.close()


def test_actor_is_a_session_id_or_nothing() -> None:
    assert actor_from({ACTOR_ENV: "app-orchestrator"}) == "app-orchestrator"
    assert actor_from({}) == ""
    for hostile in ("", "app\nrm -rf", "\x1b[31m", "x" * 65, "-app", "app orchestrator"):
        assert actor_from({ACTOR_ENV: hostile}) == ""


def test_events_an_agent_causes_through_the_cli_name_it(config: Path, git_repo: Path) -> None:
    env = {**os.environ, ACTOR_ENV: "app-orchestrator"}
    spawned = subprocess.run(
        [sys.executable, "-m", "ao_tui", "spawn", "-p", "write the docs", "--json"],
        cwd=git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert spawned.returncode == 0, spawned.stderr
    session_id = json.loads(spawned.stdout)["id"]
    status = subprocess.run(
        [sys.executable, "-m", "ao_tui", "status", "--json"],
        cwd=git_repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert [s["role"] for s in json.loads(status.stdout)] == ["worker"]
    engine = make_engine(config)
    events = [e for e in engine.store.events_after(0) if e.kind == "spawned"]
    assert [e.data["by"] for e in events] == ["app-orchestrator"]
    assert summary("spawned", events[0].data).endswith("— by app-orchestrator")
    # The operator's own calls carry no mark.
    engine.kill(session_id)
    killed = [e for e in engine.store.events_after(0) if e.kind == "killed"]
    assert killed and "by" not in killed[0].data


def test_a_role_sessions_branch_is_never_a_pr(config: Path) -> None:
    engine = make_engine(config)
    worker = engine.spawn("app", "fix the login test")
    boss = engine.spawn(
        "app",
        "you run the fleet",
        agent_name="demo",
        role=Role.ORCHESTRATOR,
        session_id=orchestrator_id("app"),
    )
    for session in (worker, boss):
        tree = Path(session.worktree)
        (tree / f"{session.id}.txt").write_text("work\n")
        for args in (["add", f"{session.id}.txt"], ["commit", "-qm", "work", "--no-verify"]):
            subprocess.run(["git", *args], cwd=tree, check=True, capture_output=True)
    engine.reconcile()
    assert engine.get(worker.id).pr is not None
    # Even with commits ahead of its base, the orchestrator has no PR: no CI runs on
    # it, no reaction reads one, nothing can merge it.
    assert engine.get(boss.id).pr is None
