"""A merge killed with SIGKILL leaves its scratch worktree behind; the next run removes it.

Real git, real processes, real signals. The merge runs as ``ao-tui merge`` in its own
process group and is killed at points inside the merge: during the scratch worktree's
checkout (git keeps the registration locked "initializing" then; a slow smudge filter,
as Git LFS would be, holds it there), while combining, while removing the scratch
worktree, and just before landing. A ``git`` wrapper first on PATH holds the chosen call
so the kill lands exactly there; it then runs the real git unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import plugins.scratch_worktrees
from core.engine import Engine
from core.models import Lifecycle, Session
from tests.conftest import run_git
from tests.support.engine import make_engine, wait_for, write_config

AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"

HOLDING_GIT = """#!{python}
import os, sys, time
from pathlib import Path
pattern = os.environ.get("AO_TEST_HOLD", "")
if pattern and pattern in " ".join(sys.argv[1:]):
    Path(os.environ["AO_TEST_MARK"]).write_text(str(os.getpid()))
    time.sleep(120)
os.execv({git!r}, [{git!r}, *sys.argv[1:]])
"""

SLOW_SMUDGE = """#!{python}
import os, sys, time
from pathlib import Path
data = sys.stdin.buffer.read()
if os.environ.get("AO_TEST_HOLD") == "checkout":
    Path(os.environ["AO_TEST_MARK"]).write_text(str(os.getpid()))
    time.sleep(120)
sys.stdout.buffer.write(data)
"""


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temp dir for scratch worktrees, in this process and in ``ao-tui`` ones."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """A directory with the holding ``git`` wrapper and the slow smudge filter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = shutil.which("git")
    assert real_git is not None
    for name, text in (("git", HOLDING_GIT), ("slow-smudge", SLOW_SMUDGE)):
        script = bin_dir / name
        script.write_text(text.format(python=sys.executable, git=real_git))
        script.chmod(0o755)
    return bin_dir


@pytest.fixture
def repo(git_repo: Path, tools: Path) -> Path:
    """The operator's repository, with a file checked out through the slow filter."""
    run_git(git_repo, "config", "filter.slow.smudge", str(tools / "slow-smudge"))
    (git_repo / ".gitattributes").write_text("slow.txt filter=slow\n")
    (git_repo / "slow.txt").write_text("checked out through a filter\n")
    run_git(git_repo, "add", ".gitattributes", "slow.txt")
    run_git(git_repo, "commit", "-q", "-m", "a filtered file")
    return git_repo


@pytest.fixture
def engine(tmp_path: Path, repo: Path, scratch_root: Path) -> Engine:
    return make_engine(write_config(tmp_path, repo, command=AGENT))


@pytest.fixture
def approved(engine: Engine) -> Session:
    session = engine.spawn("app", "add a feature")
    worktree = Path(session.worktree)
    (worktree / "feature.txt").write_text("the feature\n")
    run_git(worktree, "add", "feature.txt")
    run_git(worktree, "commit", "-q", "-m", "the feature")
    engine.reconcile()
    engine.approve(session.id)
    return session


def ao_argv(tmp_path: Path, *args: str) -> list[str]:
    """The ``ao-tui`` command line on the test's config."""
    return [sys.executable, "-m", "ao_tui", "--config", str(tmp_path / "ao.config.yaml"), *args]


def scratch_registrations(repo: Path) -> list[str]:
    """``git worktree list --porcelain`` entries of merge scratch worktrees."""
    blocks = run_git(repo, "worktree", "list", "--porcelain").split("\n\n")
    return [block for block in blocks if plugins.scratch_worktrees.PREFIX in block]


def kill_merge_at(tmp_path: Path, tools: Path, session: Session, point: str, method: str) -> None:
    """Run ``ao-tui merge`` until it reaches ``point``, then SIGKILL its process group."""
    mark = tmp_path / f"reached-{point.replace(' ', '-')}"
    env = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "AO_TEST_HOLD": point,
        "AO_TEST_MARK": str(mark),
    }
    merge = subprocess.Popen(
        ao_argv(tmp_path, "merge", session.id, "--yes", "--method", method),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(lambda: mark.exists() or merge.poll() is not None, timeout=60)
        assert mark.exists(), merge.communicate()
    finally:
        os.killpg(merge.pid, signal.SIGKILL)
        merge.communicate()
    assert merge.returncode == -signal.SIGKILL


POINTS = {
    # what the wrapper or filter holds, the merge method, and what the kill leaves:
    # a registration, whether it is locked, the scratch temp dir
    "checkout": ("checkout", "merge", True, True, True),
    "combine": ("merge --no-ff", "merge", True, False, True),
    "squash-commit": ("commit --quiet --no-verify", "squash", True, False, True),
    "scratch-remove": ("worktree remove", "rebase", True, False, True),
    "prune": ("worktree prune", "merge", False, False, True),
    "land": ("merge --ff-only", "merge", False, False, False),
}


@pytest.mark.parametrize("name", list(POINTS))
def test_a_merge_killed_midway_is_cleaned_up_by_the_next_merge(
    tmp_path: Path,
    tools: Path,
    repo: Path,
    scratch_root: Path,
    engine: Engine,
    approved: Session,
    name: str,
) -> None:
    point, method, registered, locked, temp_dir = POINTS[name]
    base_before = run_git(repo, "rev-parse", "main").strip()
    kill_merge_at(tmp_path, tools, approved, point, method)

    # the kill left the base branch and the operator's checkout as they were ...
    assert run_git(repo, "rev-parse", "main").strip() == base_before
    assert run_git(repo, "status", "--porcelain") == ""
    assert engine.get(approved.id).lifecycle is Lifecycle.RUNNING
    # ... and, depending on where it hit, a scratch worktree registered (locked or not)
    left = scratch_registrations(repo)
    assert len(left) == int(registered), left
    assert all(("\nlocked" in block) == locked for block in left)
    assert any(scratch_root.iterdir()) == temp_dir

    # A merge dir that lost its registration goes at once: its owner lock names the merge.
    session, sha = engine.merge(approved.id, method=method)
    assert session.lifecycle is Lifecycle.MERGED
    assert run_git(repo, "rev-parse", "main").strip() == sha
    assert scratch_registrations(repo) == []
    assert run_git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not any(scratch_root.iterdir())
    notes = session.pr.notes if session.pr else ()
    assert sum("left by a merge that was interrupted" in note for note in notes) == int(registered)


def test_doctor_removes_what_a_killed_merge_left(
    tmp_path: Path, tools: Path, repo: Path, scratch_root: Path, approved: Session
) -> None:
    base_before = run_git(repo, "rev-parse", "main").strip()
    kill_merge_at(tmp_path, tools, approved, "checkout", "merge")
    assert len(scratch_registrations(repo)) == 1
    doctor = subprocess.run(
        ao_argv(tmp_path, "doctor", "--json"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    checks = {check["name"]: check for check in json.loads(doctor.stdout)}
    assert checks["merge worktrees (app)"] == {
        "name": "merge worktrees (app)",
        "status": "ok",
        "detail": "removed 1 left registered by interrupted merges",
        "fix": "",
    }
    assert scratch_registrations(repo) == []
    # the session's own worktree is not a scratch one and stays
    assert run_git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2
    assert run_git(repo, "rev-parse", "main").strip() == base_before


def test_a_running_merge_in_another_process_is_left_alone(
    tmp_path: Path, tools: Path, repo: Path, scratch_root: Path, approved: Session
) -> None:
    """The sweep removes only scratch worktrees whose merge process is gone."""
    mark = tmp_path / "reached"
    env = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "AO_TEST_HOLD": "merge --no-ff",
        "AO_TEST_MARK": str(mark),
    }
    merge = subprocess.Popen(
        ao_argv(tmp_path, "merge", approved.id, "--yes"),
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for(mark.exists, timeout=60)
        assert plugins.scratch_worktrees.sweep(repo) == []
        assert len(scratch_registrations(repo)) == 1
    finally:
        os.killpg(merge.pid, signal.SIGKILL)
        merge.wait()
    [note] = plugins.scratch_worktrees.sweep(repo)
    assert "left by a merge that was interrupted" in note
    assert scratch_registrations(repo) == []
