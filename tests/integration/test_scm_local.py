"""The local SCM end to end: real git, real CI runs, real tmux sessions with the shell agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine import Engine
from core.models import Lifecycle, Session, Zone
from core.scm import MergeBlockedError, MergeConflictError
from core.zones import zone_of
from tests.conftest import run_git
from tests.support.engine import ao as run_ao
from tests.support.engine import make_engine, wait_for, write_config

# The CI script reads mode.txt from the worktree: pass, fail, or sleep (to hit the timeout).
CHECK_SCRIPT = """\
import os, pathlib, sys, time
mode = pathlib.Path("mode.txt").read_text().strip() if pathlib.Path("mode.txt").exists() else "pass"
pathlib.Path(os.environ.get("CI_PID_FILE", "/dev/null")).write_text(str(os.getpid()))
print("collecting tests")
for i in range(80):
    print(f"test_{i} ok")
if mode == "sleep":
    time.sleep(120)
if mode == "fail":
    print("FAIL: test_login (tests.test_auth.LoginTest)")
    print("Traceback (most recent call last):")
    print('  File "tests/test_auth.py", line 12, in test_login')
    print("AssertionError: expected 200, got 500")
    sys.exit(1)
print("all tests passed")
"""
AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"


@pytest.fixture
def repo(git_repo: Path) -> Path:
    (git_repo / "check.py").write_text(CHECK_SCRIPT)
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-q", "-m", "add the CI script")
    return git_repo


def engine_for(
    tmp_path: Path, repo: Path, *, ci: bool = True, timeout: int = 60, env: str = ""
) -> Engine:
    """An engine on ``repo``; ``env`` is the project's ``env:`` lines (indented 6)."""
    extra = ""
    if ci:
        extra = f"    ci:\n      command: '{sys.executable} check.py'\n      timeout: {timeout}\n"
    if env:
        extra += f"    env:\n{env}"
    cfg = write_config(tmp_path, repo, command=AGENT, extra_project_yaml=extra)
    return make_engine(cfg)


def commit(session: Session, name: str, text: str, message: str = "work") -> str:
    worktree = Path(session.worktree)
    (worktree / name).write_text(text)
    run_git(worktree, "add", name)
    run_git(worktree, "commit", "-q", "-m", message)
    return run_git(worktree, "rev-parse", "HEAD").strip()


def settle(engine: Engine, session_id: str) -> Session:
    """Reconcile until the session's CI is no longer running; the session then."""

    def done() -> Session | None:
        engine.reconcile()
        session = engine.get(session_id)
        return session if session.pr is None or session.pr.ci != "running" else None

    return wait_for(done, timeout=60, interval=0.2)


def rev(repo: Path, ref: str) -> str:
    return run_git(repo, "rev-parse", ref).strip()


def test_ci_pass_then_fail_on_new_head_runs_once_per_head(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "add a feature")
    engine.reconcile()
    assert engine.get(session.id).pr is None  # nothing ahead of base: no PR
    assert engine.store.ci_runs(session.id) == []

    head = commit(session, "feature.py", "x = 1\n")
    engine.reconcile()
    running = engine.get(session.id)
    assert running.pr is not None and running.pr.state == "ci_running"
    assert zone_of(running) is Zone.IN_REVIEW
    passed = settle(engine, session.id)
    assert passed.pr is not None
    assert (passed.pr.state, passed.pr.ci, passed.pr.review) == (
        "open",
        "passing",
        "pending",
    )
    assert passed.pr.blockers == ("not approved",)
    assert (passed.pr.number, passed.pr.url) == (None, None)
    log = engine.locations.session_dir(session.id) / f"ci-{head[:12]}.log"
    assert "all tests passed" in log.read_text()
    for _ in range(3):
        engine.reconcile()
    assert [run.head_sha for run in engine.store.ci_runs(session.id)] == [head]

    second = commit(session, "mode.txt", "fail\n")
    failed = settle(engine, session.id)
    assert failed.pr is not None and failed.pr.state == "ci_failed"
    assert zone_of(failed) is Zone.FIXING
    report = engine.ci(session.id)
    assert report.state == "failing"
    check = report.to_json()["checks"][0]  # as shown: masked, the excerpt bounded
    assert "FAIL: test_login" in check["excerpt"]
    assert "AssertionError: expected 200, got 500" in check["excerpt"]
    assert "test_3 ok" not in check["excerpt"]  # the excerpt is the failure, not the log
    assert check["duration"] is not None and check["url"] is None
    assert [run.head_sha for run in engine.store.ci_runs(session.id)] == [head, second]

    rerun = engine.ci(session.id, run=True)
    assert rerun.state == "running"
    settle(engine, session.id)
    runs = engine.store.ci_runs(session.id)
    assert [run.head_sha for run in runs] == [head, second, second]
    assert Path(runs[-1].log_path).name == f"ci-{second[:12]}-2.log"
    assert Path(runs[-2].log_path).exists() and Path(runs[-1].log_path).exists()
    kinds = [e.kind for e in engine.store.events_after(0) if e.session_id == session.id]
    assert "pr" in kinds and "ci-rerun" in kinds


def test_ci_timeout_kills_the_process_group(tmp_path: Path, repo: Path) -> None:
    pid_file = tmp_path / "ci.pid"
    # CI gets the project's env:, not the environment of the process that starts it.
    engine = engine_for(tmp_path, repo, timeout=1, env=f"      CI_PID_FILE: {pid_file}\n")
    session = engine.spawn("app", "slow tests")
    commit(session, "mode.txt", "sleep\n")
    failed = settle(engine, session.id)
    assert failed.pr is not None and failed.pr.ci == "failing"
    excerpt = engine.ci(session.id).to_json()["checks"][0]["excerpt"]
    assert excerpt.startswith("timed out after 1s")
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_zones_follow_the_pr_through_review_to_done(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "fix the login bug")
    commit(session, "mode.txt", "fail\n")
    assert zone_of(settle(engine, session.id)) is Zone.FIXING
    head = commit(session, "mode.txt", "pass\n", "fix the tests")
    reviewed = settle(engine, session.id)
    assert zone_of(reviewed) is Zone.IN_REVIEW
    approved = engine.approve(session.id)
    assert approved.pr is not None and approved.pr.state == "mergeable"
    assert approved.pr.mergeable is True and approved.pr.blockers == ()
    assert zone_of(approved) is Zone.READY_TO_MERGE

    merged, sha = engine.merge(session.id)
    assert merged.lifecycle is Lifecycle.MERGED
    assert zone_of(merged) is Zone.DONE
    assert merged.pr is not None and merged.pr.state == "merged"
    assert rev(repo, "main") == sha
    assert run_git(repo, "rev-parse", f"{sha}^2").strip() == head  # a real merge commit
    assert not Path(session.worktree).exists()
    assert session.branch in run_git(repo, "branch", "--format=%(refname:short)").split()
    assert session.tmux not in engine.runtime.list_panes()
    event = [e for e in engine.store.events_after(0) if e.kind == "merged"][-1]
    assert (event.data["sha"], event.data["method"]) == (sha, "merge")
    zones = [
        e.data["zone"] for e in engine.store.events_after(0) if e.kind == "pr" and "zone" in e.data
    ]
    assert zones[0] == "In review" and "Fixing" in zones and zones[-1] == "Ready to merge"


def test_with_no_approval_required_a_green_head_is_ready_to_merge(
    tmp_path: Path, repo: Path
) -> None:
    # merge.requireApproval: false reaches the local SCM from the project config.
    cfg = write_config(
        tmp_path,
        repo,
        command=AGENT,
        extra_project_yaml=f"    ci:\n      command: '{sys.executable} check.py'\n"
        "    merge:\n      requireApproval: false\n",
    )
    engine = make_engine(cfg)
    session = engine.spawn("app", "fix the login bug")
    commit(session, "mode.txt", "fail\n")
    failing = settle(engine, session.id)
    assert failing.pr is not None and failing.pr.blockers == ("CI failing",)
    head = commit(session, "mode.txt", "pass\n", "fix the tests")
    green = settle(engine, session.id)
    assert green.pr is not None and green.pr.state == "mergeable"
    assert green.pr.review == "pending" and green.pr.blockers == ()
    assert zone_of(green) is Zone.READY_TO_MERGE
    merged, sha = engine.merge(session.id, expect_head=head)
    assert merged.lifecycle is Lifecycle.MERGED and rev(repo, "main") == sha


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_methods_land_on_an_advanced_base(tmp_path: Path, repo: Path, method: str) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", f"land with {method}")
    commit(session, "a.txt", "a\n", "first")
    head = commit(session, "b.txt", "b\n", "second")
    (repo / "base.txt").write_text("base moved on\n")
    run_git(repo, "add", "base.txt")
    run_git(repo, "commit", "-q", "-m", "base moves on")
    old_main = rev(repo, "main")
    (repo / "notes.txt").write_text("the operator's untracked notes\n")
    engine.reconcile()
    pr = engine.get(session.id).pr
    assert pr is not None and pr.notes == ("behind base by 1 commit",)
    assert pr.blockers == ("not approved",)  # behind base is no blocker
    engine.approve(session.id)
    _, sha = engine.merge(session.id, method=method)
    assert rev(repo, "main") == sha
    tree = set(run_git(repo, "ls-tree", "--name-only", sha).split())
    assert {"a.txt", "b.txt", "base.txt", "README.md"} <= tree
    parents = run_git(repo, "rev-list", "--parents", "-n", "1", sha).split()[1:]
    if method == "merge":
        assert parents == [old_main, head]
    elif method == "squash":
        assert parents == [old_main]
        assert "land with squash" in run_git(repo, "log", "-1", "--format=%B", sha)
    else:
        assert run_git(repo, "rev-list", "--merges", f"{old_main}..{sha}") == ""
        assert run_git(repo, "rev-list", "--count", f"{old_main}..{sha}").strip() == "2"
    # the operator's checkout of main (clean but for an untracked file) followed the merge
    assert (repo / "a.txt").read_text() == "a\n"
    assert run_git(repo, "status", "--porcelain") == "?? notes.txt\n"
    assert run_git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert run_git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_conflicting_merge_aborts_and_keeps_both_branches(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", "edit the readme")
    commit(session, "README.md", "# branch version\n")
    (repo / "README.md").write_text("# main version\n")
    run_git(repo, "commit", "-q", "-am", "main edits the readme")
    main_before, branch_before = rev(repo, "main"), rev(repo, session.branch)
    engine.reconcile()
    conflicted = engine.get(session.id)
    assert conflicted.pr is not None and conflicted.pr.state == "conflicts"
    assert zone_of(conflicted) is Zone.FIXING
    assert "conflicts in: README.md" in conflicted.pr.blockers
    with pytest.raises(MergeBlockedError):
        engine.merge(session.id)
    with pytest.raises(MergeConflictError, match=r"README\.md") as caught:
        engine.merge(session.id, force=True)
    assert caught.value.files == ["README.md"]
    assert (rev(repo, "main"), rev(repo, session.branch)) == (main_before, branch_before)
    assert run_git(repo, "status", "--porcelain") == ""
    assert len(run_git(repo, "worktree", "list").splitlines()) == 2  # main + the session
    assert engine.get(session.id).lifecycle is Lifecycle.RUNNING


def test_merge_refused_on_red_ci_and_allowed_with_force(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo)
    session = engine.spawn("app", "break the tests")
    commit(session, "mode.txt", "fail\n")
    settle(engine, session.id)
    engine.approve(session.id)
    before = rev(repo, "main")
    with pytest.raises(MergeBlockedError) as caught:
        engine.merge(session.id)
    assert caught.value.blockers == ["CI failing"]
    assert rev(repo, "main") == before
    merged, sha = engine.merge(session.id, force=True)
    assert rev(repo, "main") == sha and merged.lifecycle is Lifecycle.MERGED
    event = [e for e in engine.store.events_after(0) if e.kind == "merged"][-1]
    assert event.data["forced"] is True and event.data["overridden"] == ["CI failing"]


def test_a_push_after_approval_makes_the_approval_stale(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", "small change")
    commit(session, "a.txt", "a\n")
    approved = engine.approve(session.id)
    assert approved.pr is not None and approved.pr.state == "mergeable"
    commit(session, "b.txt", "sneaky\n")
    engine.reconcile()
    stale = engine.get(session.id)
    assert stale.pr is not None and stale.pr.state == "review_pending"
    assert stale.pr.blockers == ("approval is for an older head",)
    assert zone_of(stale) is Zone.IN_REVIEW
    with pytest.raises(MergeBlockedError, match="older head"):
        engine.merge(session.id)


def test_dirty_operator_checkout_is_left_alone(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", "change the readme")
    commit(session, "feature.txt", "feature\n")
    (repo / "README.md").write_text("# my local edit\n")
    old_main = rev(repo, "main")
    engine.approve(session.id)
    merged, sha = engine.merge(session.id)
    assert rev(repo, "refs/heads/main") == sha
    assert (repo / "README.md").read_text() == "# my local edit\n"
    assert not (repo / "feature.txt").exists()
    assert rev(repo, "HEAD") == old_main  # left at the old main, detached
    assert merged.pr is not None
    assert any("uncommitted changes" in note for note in merged.pr.notes)
    run_git(repo, "stash")
    run_git(repo, "switch", "-q", "main")
    assert (repo / "feature.txt").read_text() == "feature\n"


def test_base_not_checked_out_anywhere_moves_by_ref_only(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", "land while the operator is elsewhere")
    commit(session, "feature.txt", "feature\n")
    run_git(repo, "switch", "-q", "-c", "operator-work")
    engine.approve(session.id)
    merged, sha = engine.merge(session.id, method="squash")
    assert rev(repo, "refs/heads/main") == sha
    assert run_git(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/operator-work"
    assert not (repo / "feature.txt").exists()
    assert merged.pr is not None and merged.pr.notes == ()


def test_diff_against_base(tmp_path: Path, repo: Path) -> None:
    engine = engine_for(tmp_path, repo, ci=False)
    session = engine.spawn("app", "diff me")
    commit(session, "new.txt", "hello\n")
    assert "+hello" in engine.diff(session.id)
    stat = engine.diff(session.id, stat=True)
    assert "new.txt" in stat and "1 insertion" in stat


def ao(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_ao(cwd, *args, timeout=90)


def test_cli_ci_approve_diff_and_merge(tmp_path: Path, repo: Path) -> None:
    cfg = write_config(
        tmp_path,
        repo,
        command=AGENT,
        extra_project_yaml=f"    ci:\n      command: '{sys.executable} check.py'\n",
    )
    engine = make_engine(cfg)
    session = engine.spawn("app", "via the cli")
    commit(session, "mode.txt", "fail\n")
    here = tmp_path
    config = ["--config", str(cfg)]
    report = ao(here, *config, "ci", session.id, "--wait", "--json")
    assert report.returncode == 10, report.stderr  # ci --wait: failing
    data = json.loads(report.stdout)
    assert data["state"] == "failing"
    assert set(data["checks"][0]) >= {"name", "command", "state", "duration", "excerpt", "url"}
    assert ao(here, *config, "approve", session.id).returncode == 0
    status = json.loads(ao(here, *config, "status", session.id, "--json").stdout)
    assert set(status["pr"]) == {
        "state",
        "number",
        "url",
        "ci",
        "review",
        "mergeable",
        "blockers",
        "problem",
    }
    assert status["pr"]["blockers"] == ["CI failing"]
    assert status["pr"]["problem"] is None
    refused = ao(here, *config, "merge", session.id, "--yes")
    assert refused.returncode == 8
    assert "CI failing" in refused.stderr
    diff = ao(here, *config, "diff", session.id, "--stat")
    assert "mode.txt" in diff.stdout
    forced = ao(here, *config, "merge", session.id, "--yes", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    result = json.loads(forced.stdout)
    assert result["sha"] == rev(repo, "main")
    assert result["pr"]["state"] == "merged"
