"""Restore puts the work a kill saved back as uncommitted changes; a WIP commit never lands.

Real git, real tmux on the test socket, the shell agent, the local SCM. A kill commits the
worktree's uncommitted work as ``WIP: <id> saved by ao-tui kill`` so nothing is lost; the
restore used to leave that commit on the branch, where it became the PR head, ran CI and
was merged into main. Now the restore takes exactly that commit back while it is the tip,
and a merge refuses a branch whose tip is one, even with ``--force``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.models import Lifecycle, Session
from core.scm import MergeBlockedError
from core.wip import WIP_BLOCKER
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, write_config

AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """The test repository with a few more tracked files to modify, delete and stage."""
    for name in ("app.py", "doomed.txt", "half.txt"):
        (git_repo / name).write_text(f"{name} as committed\n")
    run_git(git_repo, "add", "--all")
    run_git(git_repo, "commit", "-q", "-m", "more files")
    return git_repo


@pytest.fixture
def engine(tmp_path: Path, repo: Path) -> Engine:
    return make_engine(write_config(tmp_path, repo, command=AGENT))


def status(worktree: Path) -> str:
    """``git status --porcelain``, untracked files listed one by one (the index shows)."""
    return run_git(worktree, "status", "--porcelain", "--untracked-files=all")


def messy(engine: Engine) -> tuple[Session, str, str]:
    """A session with every kind of uncommitted work; its worktree status and branch tip."""
    session = engine.spawn("app", "make every kind of change")
    worktree = Path(session.worktree)
    run_git(worktree, "commit", "-q", "--allow-empty", "-m", "the agent's own commit")
    (worktree / "app.py").write_text("modified, not staged\n")
    (worktree / "doomed.txt").unlink()
    (worktree / "new dir").mkdir()
    (worktree / "new dir" / "fresh é.txt").write_text("untracked\n")
    (worktree / "staged-new.txt").write_text("staged, new\n")
    run_git(worktree, "add", "staged-new.txt")
    (worktree / "half.txt").write_text("staged part\n")
    run_git(worktree, "add", "half.txt")
    (worktree / "half.txt").write_text("staged part\nand an unstaged line\n")
    tip = run_git(worktree, "rev-parse", "HEAD").strip()
    return session, status(worktree), tip


def test_restore_gives_back_exactly_the_uncommitted_work_the_kill_saved(
    engine: Engine, repo: Path
) -> None:
    session, before, tip = messy(engine)
    worktree = Path(session.worktree)
    contents = {
        name: (worktree / name).read_text()
        for name in ("app.py", "half.txt", "staged-new.txt", "new dir/fresh é.txt")
    }
    _, wip = engine.kill(session.id)
    assert wip is not None and not worktree.exists()
    assert run_git(repo, "rev-parse", session.branch).strip() == wip  # saved, nothing lost

    restored = engine.restore(session.id)
    assert status(worktree) == before  # staged stays staged, untracked stays untracked
    assert {name: (worktree / name).read_text() for name in contents} == contents
    assert not (worktree / "doomed.txt").exists()
    assert run_git(repo, "rev-parse", session.branch).strip() == tip
    log = run_git(repo, "log", "--format=%s", f"main..{session.branch}")
    assert log == "the agent's own commit\n"  # no WIP commit in the branch's history
    assert restored.extra["restore"]["notes"] == [
        f"the work saved at the kill ({wip[:10]}) is uncommitted again"
    ]
    events = engine.store.events_after(0)
    assert events[-1].kind == "restored"
    assert events[-1].data["notes"] == restored.extra["restore"]["notes"]
    # The local SCM's PR is the agent's commit, never the WIP one.
    pr = engine.reconcile_one(session.id).pr
    assert pr is not None and pr.head_sha == tip and WIP_BLOCKER not in pr.blockers


def test_a_second_kill_and_restore_take_back_the_second_wip_commit_only(
    engine: Engine, repo: Path
) -> None:
    session, _, tip = messy(engine)
    worktree = Path(session.worktree)
    engine.kill(session.id)
    engine.restore(session.id)
    (worktree / "later.txt").write_text("written after the first restore\n")
    before = status(worktree)
    _, second = engine.kill(session.id)
    assert second is not None
    restored = engine.restore(session.id)
    assert status(worktree) == before
    assert run_git(repo, "rev-parse", session.branch).strip() == tip
    assert restored.extra["restore"]["notes"] == [
        f"the work saved at the kill ({second[:10]}) is uncommitted again"
    ]
    # A restore after an exit (no new kill) leaves the branch alone.
    engine.runtime.kill(restored.tmux)
    engine.reconcile()
    again = engine.restore(session.id)
    assert again.extra["restore"]["notes"] == []
    assert status(worktree) == before


def test_restore_leaves_the_wip_commit_when_the_branch_moved_on(engine: Engine, repo: Path) -> None:
    session, _, _ = messy(engine)
    _, wip = engine.kill(session.id)
    assert wip is not None
    # Someone commits on top of the saved work while the session is killed.
    elsewhere = repo.parent / "elsewhere"
    run_git(repo, "worktree", "add", "-q", str(elsewhere), session.branch)
    (elsewhere / "on-top.txt").write_text("a commit on top\n")
    run_git(elsewhere, "add", "on-top.txt")
    run_git(elsewhere, "commit", "-q", "-m", "on top of the WIP commit")
    on_top = run_git(elsewhere, "rev-parse", "HEAD").strip()
    run_git(repo, "worktree", "remove", str(elsewhere))

    restored = engine.restore(session.id)
    assert run_git(repo, "rev-parse", session.branch).strip() == on_top  # left as it was
    assert status(Path(session.worktree)) == ""
    assert restored.extra["restore"]["notes"] == [
        f"the branch moved on since the kill (1 commit(s) on top of the WIP commit "
        f"{wip[:10]}): the saved work stays committed"
    ]


def test_merge_refuses_a_wip_tip_even_with_force_and_main_never_gets_it(
    tmp_path: Path, engine: Engine, repo: Path
) -> None:
    session, _, tip = messy(engine)
    _, wip = engine.kill(session.id)
    assert wip is not None
    main = run_git(repo, "rev-parse", "main").strip()
    engine.approve(session.id)
    with pytest.raises(MergeBlockedError) as blocked:
        engine.merge(session.id)
    assert blocked.value.blockers == [WIP_BLOCKER]
    with pytest.raises(EngineError, match="cannot be merged, even with --force: the branch tip"):
        engine.merge(session.id, force=True)
    proc = ao(tmp_path, "merge", session.id, "--yes", "--force")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith(f"ao-tui: {session.id} cannot be merged, even with --force")
    assert run_git(repo, "rev-parse", "main").strip() == main
    assert engine.get(session.id).lifecycle is Lifecycle.KILLED

    # Restored, the work is uncommitted; what the agent commits next is what merges.
    engine.restore(session.id)
    worktree = Path(session.worktree)
    run_git(worktree, "add", "--all")
    run_git(worktree, "commit", "-q", "-m", "finish the work")
    engine.approve(session.id)
    merged, sha = engine.merge(session.id)
    assert merged.lifecycle is Lifecycle.MERGED
    subjects = run_git(repo, "log", "--format=%s", f"{main}..main")
    assert "WIP:" not in subjects and run_git(repo, "merge-base", "--is-ancestor", tip, sha) == ""


def test_cli_restore_says_the_work_is_uncommitted_again(
    tmp_path: Path, engine: Engine, repo: Path
) -> None:
    session, before, _ = messy(engine)
    killed = ao(tmp_path, "kill", session.id, "--json")
    wip = json.loads(killed.stdout)["wip_commit"]
    proc = ao(tmp_path, "restore", session.id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{session.id} restored (attempt 2)\n"
    assert proc.stderr == f"note: the work saved at the kill ({wip[:10]}) is uncommitted again\n"
    assert status(Path(session.worktree)) == before


@pytest.mark.parametrize(
    "forged", ["--output=/tmp/ao-tui-pwned", "HEAD", "main", "0" * 40, "ab" * 21, 7]
)
def test_a_kill_record_that_does_not_name_the_wip_commit_takes_nothing_back(
    engine: Engine, repo: Path, forged: object
) -> None:
    # The record is read back from the database: whatever it says, only the exact commit
    # the kill made is ever taken back, and nothing in it reaches git as an option.
    session, _, _ = messy(engine)
    _, wip = engine.kill(session.id)
    assert wip is not None
    record = engine.get(session.id).extra["kill"]
    engine.store.update_session(
        session.id, extra={**engine.get(session.id).extra, "kill": {**record, "wip_commit": forged}}
    )
    restored = engine.restore(session.id)
    assert run_git(repo, "rev-parse", session.branch).strip() == wip  # left as it was
    assert status(Path(session.worktree)) == ""
    assert not Path("/tmp/ao-tui-pwned").exists()
    [note] = restored.extra["restore"]["notes"]
    assert "uncommitted again" not in note
    # The WIP commit is still the tip, so no merge lands it, whatever the record says.
    engine.approve(session.id)
    with pytest.raises(MergeBlockedError) as blocked:
        engine.merge(session.id)
    assert WIP_BLOCKER in blocked.value.blockers


def test_a_record_naming_the_agents_own_commit_never_undoes_it(engine: Engine, repo: Path) -> None:
    session = engine.spawn("app", "commit and stop")
    worktree = Path(session.worktree)
    (worktree / "done.txt").write_text("committed by the agent\n")
    run_git(worktree, "add", "--all")
    run_git(worktree, "commit", "-q", "-m", "the agent's work")
    tip = run_git(worktree, "rev-parse", "HEAD").strip()
    _, wip = engine.kill(session.id)
    assert wip is None  # nothing uncommitted: no WIP commit
    killed = engine.get(session.id)
    forged = {**killed.extra["kill"], "wip_commit": tip}
    engine.store.update_session(session.id, extra={**killed.extra, "kill": forged})
    restored = engine.restore(session.id)
    assert run_git(repo, "rev-parse", session.branch).strip() == tip
    assert status(worktree) == ""
    assert restored.extra["restore"]["notes"] == [
        f"{tip[:10]} is not a WIP commit of ao-tui's: left as it is"
    ]


def test_work_written_into_the_reopened_worktree_is_never_overwritten(
    engine: Engine, repo: Path
) -> None:
    session, _, _ = messy(engine)
    _, wip = engine.kill(session.id)
    assert wip is not None
    # The worktree came back by hand (the operator reopened it) and got new work in it.
    worktree = Path(session.worktree)
    run_git(repo, "worktree", "add", "-q", str(worktree), session.branch)
    (worktree / "by hand.txt").write_text("typed while the session was killed\n")
    engine.store.update_session(session.id, lifecycle=Lifecycle.EXITED)
    restored = engine.restore(session.id)
    assert (worktree / "by hand.txt").read_text() == "typed while the session was killed\n"
    assert run_git(repo, "rev-parse", session.branch).strip() == wip
    assert restored.extra["restore"]["notes"] == [
        f"the worktree has uncommitted changes: the WIP commit {wip[:10]} stays"
    ]
