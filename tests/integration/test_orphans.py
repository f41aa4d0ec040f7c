"""Item 7: orphans and half-done operations are reported by status, doctor and status
--orphans, and ``doctor --fix`` adopts what holds work, removes what holds none, and
finishes or settles what a crash cut short. Never is work lost.

Real git, real tmux on the test socket, the real CLI for what users run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.engine import Engine
from core.inventory import (
    ADOPT,
    CLEAN,
    CLEAR_MARK,
    FINISH_KILL,
    FINISH_MERGE,
    MARK_KILLED,
    MARK_RUNNING,
    SETTLE_RESTORE,
    take_inventory,
)
from core.manifest import Manifest, Owner, manifest_path, read_manifest, write_manifest
from core.models import Lifecycle
from core.recovery import fix_findings
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, wait_for, write_config
from tests.support.orphans import forget_row, mark_cut_short, reset_database

HOOK_ID = "0b7c2a52-8d41-4c1e-9a55-2f0e6a1d9c33"


@pytest.fixture
def project(git_repo: Path) -> Path:
    """The repo with a config for a shell agent that just waits; the cwd for ao-tui."""
    write_config(git_repo, git_repo, command="sleep 600")
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


@pytest.fixture
def engine(project: Path) -> Engine:
    """An engine on that config (what the CLI builds, in this process)."""
    return make_engine(project / "ao.config.yaml")


def branches(repo: Path) -> set[str]:
    return set(run_git(repo, "branch", "--format=%(refname:short)").split())


def test_a_reset_database_is_reported_and_doctor_fix_adopts_every_session(
    project: Path, engine: Engine
) -> None:
    first = engine.spawn("app", "the first task, still running")
    second = engine.spawn("app", "the second task, killed with work")
    (Path(first.worktree) / "draft.txt").write_text("uncommitted\n")
    (Path(second.worktree) / "done.txt").write_text("saved by the kill\n")
    engine.kill(second.id)
    reset_database(engine)

    status = ao(project, "status")
    assert status.returncode == 0, status.stderr
    assert "no sessions" in status.stdout
    assert "app-1, app-2" in status.stderr and "ao-tui doctor --fix" in status.stderr

    listed = ao(project, "status", "--orphans", "--json")
    assert listed.returncode == 0, listed.stderr
    found = {f["session"]: f for f in json.loads(listed.stdout)}
    assert set(found) == {"app-1", "app-2"}
    assert all(f["action"] == ADOPT and f["holds_work"] for f in found.values())

    doctor = ao(project, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)}
    assert checks["session app-1"]["status"] == "warn"
    assert "doctor --fix" in checks["session app-1"]["fix"]
    assert checks["session app-2"]["finding"]["kind"] == "orphan"

    fixed = ao(project, "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "app-1: adopted: as running" in fixed.stdout
    assert "app-2: adopted: as killed" in fixed.stdout

    rows = {s["id"]: s for s in json.loads(ao(project, "status", "--json").stdout)}
    assert rows["app-1"]["lifecycle"] == "running"
    assert rows["app-1"]["title"] == "the first task, still running"  # from the manifest
    assert rows["app-2"]["lifecycle"] == "killed"

    killed = ao(project, "kill", "app-1", "--json")
    assert killed.returncode == 0, killed.stderr
    shown = run_git(project, "show", "--name-only", "--format=", first.branch)
    assert "draft.txt" in shown
    restored = ao(project, "restore", "app-2", "--json")
    assert restored.returncode == 0, restored.stderr
    assert (Path(second.worktree) / "done.txt").read_text() == "saved by the kill\n"

    again = ao(project, "doctor", "--json")
    assert [c["status"] for c in json.loads(again.stdout) if c["name"] == "sessions"] == ["ok"]
    assert json.loads(ao(project, "spawn", "-p", "a third task", "--json").stdout)["id"] == "app-3"


def test_fix_removes_only_what_holds_no_work(project: Path, engine: Engine) -> None:
    # app-1: spawn cut short after its worktree: clean worktree, branch at base, manifest.
    empty = engine.spawn("app", "cut short, nothing done")
    # app-2: the same, but someone wrote in the worktree meanwhile.
    dirty = engine.spawn("app", "cut short, with a draft")
    for session in (empty, dirty):
        engine.runtime.kill(session.tmux)
        forget_row(engine, session.id)
        mark_cut_short(engine, session, "spawn")
    (Path(dirty.worktree) / "draft.txt").write_text("keep me\n")
    # app-3: an older session (no manifest, no state folder) that left a branch with commits.
    run_git(project, "checkout", "-q", "-b", "ao/app-3-fix-the-login-test")
    (project / "login.txt").write_text("fixed\n")
    run_git(project, "add", "login.txt")
    run_git(project, "commit", "-q", "-m", "fix the login test")
    run_git(project, "checkout", "-q", "main")
    # app-4: only a state folder with the agent's hook log.
    hooks_dir = engine.locations.session_dir("app-4")
    hooks_dir.mkdir()
    (hooks_dir / "hooks.jsonl").write_text(json.dumps({"session_id": HOOK_ID}) + "\n")
    # app-5: only a state folder with ao-tui's own leftovers (a launch plan, a manifest).
    own = engine.locations.session_dir("app-5")
    own.mkdir()
    (own / "launch-0123.json").write_text('{"env": {"TOKEN": "x"}}')
    # app-6: a tmux session whose agent exited, nothing else.
    engine.runtime.create("ao-app-6", project, ["true", "exits at once"])
    wait_for(lambda: engine.runtime.list_panes()["ao-app-6"].dead)

    inventory = take_inventory(engine)
    actions = {f.session_id: f.action for f in inventory.findings}
    assert actions == {
        "app-1": CLEAN,
        "app-2": ADOPT,
        "app-3": ADOPT,
        "app-4": ADOPT,
        "app-5": CLEAN,
        "app-6": CLEAN,
    }
    results = fix_findings(engine, inventory)
    assert all(r.ok for r in results), results

    assert not Path(empty.worktree).exists() and empty.branch not in branches(project)
    assert not engine.locations.session_dir("app-1").exists()
    assert not own.exists()
    assert "ao-app-6" not in engine.runtime.list_panes()
    rows = {s.id: s for s in engine.list()}
    assert set(rows) == {"app-2", "app-3", "app-4"}
    assert (Path(dirty.worktree) / "draft.txt").read_text() == "keep me\n"
    assert rows["app-2"].lifecycle is Lifecycle.EXITED
    assert rows["app-2"].prompt == "cut short, with a draft"
    older = rows["app-3"]
    assert older.lifecycle is Lifecycle.KILLED
    assert (older.title, older.prompt, older.branch) == (
        "fix the login test",
        "",
        "ao/app-3-fix-the-login-test",
    )
    assert "prompt" in older.extra["recovered"]["guessed"]
    assert rows["app-4"].agent_session_id == HOOK_ID
    assert take_inventory(engine).findings == []
    # the adopted older session is like any other: it comes back from its branch
    back = engine.restore("app-3")
    assert (Path(back.worktree) / "login.txt").read_text() == "fixed\n"


def test_cleanup_checks_again_right_before_removing(project: Path, engine: Engine) -> None:
    """Work that appears between the inventory and the fix stops the removal."""
    session = engine.spawn("app", "cut short, then written to")
    engine.runtime.kill(session.tmux)
    forget_row(engine, session.id)
    mark_cut_short(engine, session, "spawn")
    inventory = take_inventory(engine)
    assert [f.action for f in inventory.findings] == [CLEAN]
    (Path(session.worktree) / "late.txt").write_text("written after the look\n")
    state_dir = engine.locations.session_dir(session.id)
    (state_dir / "hooks.jsonl").write_text("{}\n")
    results = fix_findings(engine, inventory)
    # the worktree and the state folder are kept; the branch is checked out in the kept
    # worktree, so git refuses to delete it
    assert [r.action for r in results] == ["left", "left", "left"], results
    assert (Path(session.worktree) / "late.txt").read_text() == "written after the look\n"
    assert (state_dir / "hooks.jsonl").exists()
    assert session.branch in branches(project)
    # the next look adopts it
    assert [f.action for f in take_inventory(engine).findings] == [ADOPT]


def test_rows_that_contradict_what_exists_are_repaired(project: Path, engine: Engine) -> None:
    # app-1: its worktree and branch were removed by hand while the row says running.
    gone = engine.spawn("app", "removed by hand")
    engine.runtime.kill(gone.tmux)
    run_git(project, "worktree", "remove", "--force", gone.worktree)
    run_git(project, "branch", "-D", gone.branch)
    # app-2: recorded as killed, but its agent runs (a restore that never got recorded).
    revived = engine.spawn("app", "restored behind the row's back")
    engine.kill(revived.id)
    run_git(project, "worktree", "add", "-q", revived.worktree, revived.branch)
    engine.runtime.create(revived.tmux, Path(revived.worktree), ["sleep", "600"])
    # app-3: merged, yet its worktree (with a late change) and agent are still there.
    merged = engine.spawn("app", "merged but not cleaned up")
    (Path(merged.worktree) / "late.txt").write_text("written after the merge\n")
    engine.store.update_session(merged.id, lifecycle=Lifecycle.MERGED)

    actions = {f.session_id: f.action for f in take_inventory(engine).findings}
    assert actions == {"app-1": MARK_KILLED, "app-2": MARK_RUNNING, "app-3": FINISH_MERGE}
    results = fix_findings(engine, take_inventory(engine))
    assert all(r.ok for r in results), results

    assert engine.get("app-1").lifecycle is Lifecycle.KILLED
    running = engine.get("app-2")
    assert running.lifecycle is Lifecycle.RUNNING and running.attempt == 2
    assert not Path(merged.worktree).exists()
    assert "late.txt" in run_git(project, "show", "--name-only", "--format=", merged.branch)
    assert "ao-app-3" not in engine.runtime.list_panes()
    assert take_inventory(engine).findings == []
    engine.kill("app-2")  # the adopted pane is the session's own now


def test_operations_cut_short_are_finished_or_settled(project: Path, engine: Engine) -> None:
    # app-1: kill stopped after the agent was stopped, before the work was saved.
    kill = engine.spawn("app", "kill cut short")
    (Path(kill.worktree) / "unsaved.txt").write_text("must survive\n")
    engine.runtime.kill(kill.tmux)
    mark_cut_short(engine, kill, "kill")
    # app-2: merge landed (the mark holds its commit) but nothing after it ran.
    landed = engine.spawn("app", "merge cut short after landing")
    mark_cut_short(engine, landed, "merge", merged_sha="f" * 40)
    # app-3: merge stopped before it landed.
    early = engine.spawn("app", "merge cut short before landing")
    mark_cut_short(engine, early, "merge")
    # app-4: restore stopped right after reopening the worktree.
    restore = engine.spawn("app", "restore cut short")
    engine.kill(restore.id)
    run_git(project, "worktree", "add", "-q", restore.worktree, restore.branch)
    mark_cut_short(engine, restore, "restore")

    findings = {f.session_id: f for f in take_inventory(engine).findings}
    assert {sid: f.action for sid, f in findings.items()} == {
        "app-1": FINISH_KILL,
        "app-2": FINISH_MERGE,
        "app-3": CLEAR_MARK,
        "app-4": SETTLE_RESTORE,
    }
    assert all(f.kind == "interrupted" for f in findings.values())
    results = fix_findings(engine, take_inventory(engine))
    assert all(r.ok for r in results), results

    assert engine.get("app-1").lifecycle is Lifecycle.KILLED
    assert "unsaved.txt" in run_git(project, "show", "--name-only", "--format=", kill.branch)
    assert engine.get("app-2").lifecycle is Lifecycle.MERGED
    assert engine.get("app-3").lifecycle is Lifecycle.RUNNING  # untouched
    assert engine.get("app-4").lifecycle is Lifecycle.EXITED
    for sid in ("app-1", "app-2", "app-3", "app-4"):
        manifest = read_manifest(engine.locations.session_dir(sid))
        assert manifest is not None and manifest.operation == ""
    assert take_inventory(engine).findings == []
    assert engine.restore("app-4").lifecycle is Lifecycle.RUNNING


def test_an_operation_running_now_is_neither_reported_nor_touched(
    project: Path, engine: Engine
) -> None:
    session = engine.spawn("app", "being spawned by another process")
    engine.runtime.kill(session.tmux)
    forget_row(engine, session.id)
    state_dir = engine.locations.session_dir(session.id)
    # This test process stands for the other process that is still spawning.
    write_manifest(state_dir, Manifest.of(session).running("spawn"))
    inventory = take_inventory(engine)
    assert inventory.findings == [] and inventory.in_progress == {"app-1": "spawn"}
    assert fix_findings(engine, inventory) == []
    assert Path(session.worktree).is_dir() and manifest_path(state_dir).exists()
    status = ao(project, "status")
    assert "orphaned" not in status.stderr


def test_a_reused_pid_is_not_the_owner(tmp_path: Path) -> None:
    """A pid alive now but started at another time is not the process that wrote the mark."""
    me = Owner.current()
    assert me.alive()
    assert not Owner(me.pid, started=me.started + "0").alive()


def test_doctor_fix_says_when_there_is_nothing_to_do(project: Path) -> None:
    fixed = ao(project, "doctor", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "nothing to fix" in fixed.stdout
    as_json = json.loads(ao(project, "doctor", "--fix", "--json").stdout)
    assert as_json["fixed"] == [] and as_json["remaining"] == []
