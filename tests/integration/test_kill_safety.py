"""``kill`` never loses work, never advises ``--discard`` when the work can be saved, and
never rewrites a merged session (real tmux on the test socket, real git, real processes).

An interrupted git (an agent's ``git commit`` killed with its tmux session) leaves a lock
file such as ``index.lock``; kills then failed and advised ``--discard``. Two kills at once
raced on the same worktree. A kill on a merged session turned ``merged`` into ``killed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import plugins.git_locks
from core.engine import Engine
from core.errors import EngineError
from core.models import Lifecycle, Session
from plugins.workspace import WorktreeWorkspace
from tests.conftest import run_git
from tests.support.engine import make_engine, wait_for, write_config

ROOT = Path(__file__).resolve().parents[2]
AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path) -> Engine:
    return make_engine(write_config(tmp_path, git_repo, command=AGENT))


@pytest.fixture
def session(engine: Engine) -> Session:
    """A running session with uncommitted work in its worktree."""
    spawned = engine.spawn("app", "write the notes")
    worktree = Path(spawned.worktree)
    (worktree / "notes.txt").write_text("precious uncommitted work\n")
    (worktree / "README.md").write_text("# edited\n")
    return spawned


def git_path(worktree: Path, name: str) -> Path:
    """Where git keeps ``name`` for this worktree (its own dir, or the common one)."""
    return Path(
        run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path", name).strip()
    )


def lock_of(session: Session, kind: str) -> Path:
    worktree = Path(session.worktree)
    names = {
        "index": "index.lock",
        "HEAD": "HEAD.lock",
        "branch": f"refs/heads/{session.branch}.lock",
    }
    return git_path(worktree, names[kind])


def wip_files(repo: Path, sha: str) -> set[str]:
    return set(run_git(repo, "show", "--name-only", "--format=", sha).split())


def make_stale(lock: Path, age: float) -> None:
    """A lock file as a git process killed mid-write leaves it, ``age`` seconds old."""
    lock.write_text("")
    then = time.time() - age
    os.utime(lock, (then, then))


@pytest.mark.parametrize(
    ("kind", "age"), [("index", 120.0), ("HEAD", 120.0), ("branch", 120.0), ("index", 0.0)]
)
def test_kill_removes_a_stale_git_lock_and_saves_the_work(
    engine: Engine, session: Session, git_repo: Path, kind: str, age: float
) -> None:
    lock = lock_of(session, kind)
    make_stale(lock, age)
    started = time.monotonic()
    killed, wip = engine.kill(session.id)
    assert wip is not None
    if age == 0.0:
        # a fresh lock with no git process behind it is given a few seconds before it counts
        assert time.monotonic() - started >= plugins.git_locks.STALE_AGE - 0.1
    assert killed.lifecycle is Lifecycle.KILLED
    assert wip_files(git_repo, wip) == {"README.md", "notes.txt"}
    assert run_git(git_repo, "rev-parse", session.branch).strip() == wip
    assert not lock.exists()
    assert not Path(session.worktree).exists()
    [note] = killed.extra["kill"]["notes"]
    assert note.startswith(f"removed the stale git lock {lock} (")
    event = [e for e in engine.store.events_after(0) if e.kind == "killed"][-1]
    assert event.data["wip_commit"] == wip and event.data["notes"] == [note]


def test_cli_kill_says_it_removed_a_stale_lock(
    tmp_path: Path, git_repo: Path, engine: Engine, session: Session
) -> None:
    make_stale(lock_of(session, "index"), 60.0)
    proc = ao_kill(tmp_path, session.id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{session.id} killed; uncommitted work saved as ")
    assert proc.stderr.startswith("note: removed the stale git lock ")
    assert "--discard" not in proc.stdout + proc.stderr


def hold_index_lock(worktree: Path) -> subprocess.Popen[bytes]:
    """A live git process holding the worktree's index lock (``update-index`` reading stdin)."""
    git = subprocess.Popen(["git", "update-index", "--stdin"], cwd=worktree, stdin=subprocess.PIPE)
    wait_for(lambda: git_path(worktree, "index.lock").exists())
    return git


def hold_branch_lock(worktree: Path, branch: str) -> subprocess.Popen[bytes]:
    """A live git process holding the branch's ref lock (a prepared ``update-ref`` transaction).

    git closes a ref lock's file once written, so only its working directory gives it away.
    """
    sha = run_git(worktree, "rev-parse", "HEAD").strip()
    git = subprocess.Popen(["git", "update-ref", "--stdin"], cwd=worktree, stdin=subprocess.PIPE)
    assert git.stdin is not None
    git.stdin.write(f"start\nupdate refs/heads/{branch} {sha}\nprepare\n".encode())
    git.stdin.flush()
    wait_for(lambda: git_path(worktree, f"refs/heads/{branch}.lock").exists())
    return git


@pytest.mark.parametrize("kind", ["index", "branch"])
def test_kill_waits_for_a_live_git_then_says_retry_never_discard(
    engine: Engine,
    session: Session,
    git_repo: Path,
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plugins.git_locks, "HOLDER_WAIT", 1.5)
    worktree = Path(session.worktree)
    git = (
        hold_index_lock(worktree) if kind == "index" else hold_branch_lock(worktree, session.branch)
    )
    lock = lock_of(session, kind)
    try:
        # git's own mtime is fresh; age it so only the live process keeps it from being stale
        os.utime(lock, (time.time() - 300, time.time() - 300))
        started = time.monotonic()
        with pytest.raises(EngineError) as caught:
            engine.kill(session.id)
        assert time.monotonic() - started >= 1.5
        message = str(caught.value)
        assert f"a git process (pid {git.pid}: git " in message
        # a branch update takes HEAD's lock too (for HEAD's reflog): either one is named
        held = {lock, lock_of(session, "HEAD")} if kind == "branch" else {lock}
        assert any(f"is using {path};" in message for path in held), message
        assert message.endswith(
            f"nothing was removed. retry `ao-tui kill {session.id}` when that git command "
            "has finished"
        )
        assert "--discard" not in message
        assert (worktree / "notes.txt").read_text() == "precious uncommitted work\n"
        assert lock.exists()  # a live process's lock is never taken away
    finally:
        git.kill()  # SIGKILL: git cannot clean up, its lock stays behind, now stale
        git.wait()
    assert lock.exists()
    killed, wip = engine.kill(session.id)
    assert killed.lifecycle is Lifecycle.KILLED and wip is not None
    assert wip_files(git_repo, wip) == {"README.md", "notes.txt"}
    notes = killed.extra["kill"]["notes"]
    assert any(note.startswith(f"removed the stale git lock {lock} (") for note in notes)
    assert not any(path.exists() for path in held)


def test_merge_removes_a_stale_lock_before_saving_the_last_work(
    engine: Engine, session: Session, git_repo: Path
) -> None:
    worktree = Path(session.worktree)
    run_git(worktree, "add", "README.md")
    run_git(worktree, "commit", "-q", "-m", "the work")
    lock = lock_of(session, "index")
    make_stale(lock, 60.0)
    engine.reconcile()
    engine.approve(session.id)
    done, _ = engine.merge(session.id)
    assert done.pr is not None
    notes = done.pr.notes
    assert notes[0].startswith(f"removed the stale git lock {lock} (")
    assert notes[1].startswith("uncommitted work was saved as ")
    assert not worktree.exists()
    assert "notes.txt" in run_git(git_repo, "ls-tree", "--name-only", session.branch)


def test_save_work_never_commits_into_an_enclosing_repository(tmp_path: Path) -> None:
    """A worktree whose ``.git`` file is gone would make git find the repository around it."""
    outer = tmp_path / "outer"
    outer.mkdir()
    run_git(outer, "init", "-q", "-b", "main")
    run_git(outer, "commit", "-q", "--allow-empty", "-m", "outer")
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    run_git(repo, "commit", "-q", "--allow-empty", "-m", "first")
    workspace = WorktreeWorkspace()
    worktree = outer / "state" / "app-1"
    workspace.create(repo, worktree, "ao/app-1", "main")
    (worktree / ".git").unlink()
    (worktree / "work.txt").write_text("work\n")
    with pytest.raises(Exception, match="is no longer a git worktree"):
        workspace.save_work(worktree, "WIP")
    assert run_git(outer, "rev-list", "--count", "HEAD").strip() == "1"
    assert (worktree / "work.txt").read_text() == "work\n"


# -- two kills at once --------------------------------------------------------------

# Both kills import everything, then wait for the same go file: they start within a
# millisecond of each other, as two operators (or a script and the cockpit) would.
RACER = """
import os, sys, time
from pathlib import Path
import ao_tui.cli, core.engine, plugins.workspace.worktree, plugins.runtime.tmux
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
sys.argv = ["ao-tui", *sys.argv[2:]]
ao_tui.cli.main()
"""


def ao_kill(cwd: Path, session_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ao_tui",
            "--config",
            str(cwd / "ao.config.yaml"),
            "kill",
            session_id,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def many_files(session: Session) -> Iterator[None]:
    """Enough uncommitted files that saving them takes a while: the kills overlap."""
    work = Path(session.worktree) / "generated"
    work.mkdir()
    for n in range(1500):
        (work / f"file-{n}.txt").write_text(f"line {n}\n" * 20)
    yield


@pytest.mark.parametrize("stale", [False, True], ids=["plain", "stale-lock"])
def test_two_kills_at_once_save_the_work_once_and_the_second_reports_it(
    tmp_path: Path,
    git_repo: Path,
    engine: Engine,
    session: Session,
    many_files: None,
    stale: bool,
) -> None:
    if stale:
        make_stale(lock_of(session, "index"), 60.0)
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                str(go),
                "--config",
                str(tmp_path / "ao.config.yaml"),
                "kill",
                session.id,
                "--json",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.5)  # both have imported everything and wait
    go.touch()
    results = [racer.communicate(timeout=120) for racer in racers]
    codes = sorted(racer.returncode for racer in racers)
    assert codes == [0, 1], results
    [(out, _)] = [r for r, racer in zip(results, racers, strict=True) if racer.returncode == 0]
    [(_, err)] = [r for r, racer in zip(results, racers, strict=True) if racer.returncode == 1]
    wip = json.loads(out)["wip_commit"]
    assert wip is not None
    assert err == (
        f"ao-tui: {session.id} is already killed; its uncommitted work was saved as {wip[:10]} "
        f"on {session.branch}. `ao-tui restore {session.id}` brings it back\n"
    )
    # one WIP commit, holding everything; the session is killed, not "kill stopped"
    assert run_git(git_repo, "rev-list", "--count", f"main..{session.branch}").strip() == "1"
    assert len(wip_files(git_repo, wip)) == 1502
    final = engine.get(session.id)
    assert final.lifecycle is Lifecycle.KILLED
    assert [e.kind for e in engine.store.events_after(0)].count("kill-failed") == 0


# -- merged sessions ----------------------------------------------------------------


def merged(engine: Engine, session: Session) -> Session:
    worktree = Path(session.worktree)
    run_git(worktree, "add", "--all")
    run_git(worktree, "commit", "-q", "-m", "the work")
    engine.reconcile()
    engine.approve(session.id)
    done, _ = engine.merge(session.id)
    assert done.lifecycle is Lifecycle.MERGED
    return done


def test_kill_on_a_merged_session_keeps_the_merge_record(
    tmp_path: Path, engine: Engine, session: Session
) -> None:
    before = merged(engine, session)
    with pytest.raises(EngineError) as caught:
        engine.kill(session.id)
    assert str(caught.value) == (
        f"{session.id} is merged ({before.lifecycle_reason}); nothing to kill: its agent and "
        "its worktree are gone already"
    )
    assert engine.get(session.id) == before
    proc = ao_kill(tmp_path, session.id)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"ao-tui: {session.id} is merged (merged into main as ")
    after = engine.get(session.id)
    assert after.lifecycle is Lifecycle.MERGED and after.pr == before.pr
    assert after.pr is not None and after.pr.state == "merged"


def test_kill_on_a_merged_session_with_a_leftover_worktree_tidies_it_and_stays_merged(
    tmp_path: Path, git_repo: Path, engine: Engine, session: Session
) -> None:
    before = merged(engine, session)
    # the worktree came back (a merge that could not remove it, or the operator)
    worktree = Path(session.worktree)
    WorktreeWorkspace().reopen(git_repo, worktree, session.branch)
    (worktree / "late.txt").write_text("written after the merge\n")
    proc = ao_kill(tmp_path, session.id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{session.id} stays merged; uncommitted work saved as ")
    after = engine.get(session.id)
    assert (after.lifecycle, after.lifecycle_reason, after.pr) == (
        Lifecycle.MERGED,
        before.lifecycle_reason,
        before.pr,
    )
    assert not worktree.exists()
    wip = after.extra["kill"]["wip_commit"]
    assert wip_files(git_repo, wip) == {"late.txt"}
    assert [e.kind for e in engine.store.events_after(0)][-1] == "leftovers-removed"
