"""A merged session cannot be killed into ``killed`` nor restored, from the CLI or the engine.

Real git, real tmux on the test socket, the shell agent, the local SCM. Before, a session
whose PR was merged could be killed (its record became ``killed``) and then restored, which
started the agent again on a branch already merged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.models import Lifecycle, Session, SessionPR
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, write_config

AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path) -> Engine:
    return make_engine(write_config(tmp_path, git_repo, command=AGENT))


def with_commit(engine: Engine) -> Session:
    session = engine.spawn("app", "land a change")
    worktree = Path(session.worktree)
    (worktree / "change.txt").write_text("the change\n")
    run_git(worktree, "add", "--all")
    run_git(worktree, "commit", "-q", "-m", "the change")
    return session


def test_restore_of_a_merged_session_is_refused_saying_why(tmp_path: Path, engine: Engine) -> None:
    session = with_commit(engine)
    engine.approve(session.id)
    merged, sha = engine.merge(session.id)
    expected = (
        f"{session.id} is merged (merged into main as {sha[:10]}); restoring it would start "
        "its agent again on work already in main. Spawn a new session for more work"
    )
    with pytest.raises(EngineError) as caught:
        engine.restore(session.id)
    assert str(caught.value) == expected
    proc = ao(tmp_path, "restore", session.id)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", f"ao-tui: {expected}\n")
    assert engine.get(session.id) == merged
    assert session.tmux not in engine.runtime.list_panes()


def test_a_pr_merged_on_the_host_is_recorded_merged_by_kill_and_never_restored(
    tmp_path: Path, engine: Engine, git_repo: Path
) -> None:
    session = with_commit(engine)
    # What a GitHub sync records when the PR is merged there (the agent still runs).
    engine.store.update_session(session.id, pr=SessionPR("merged", number=7))
    proc = ao(tmp_path, "kill", session.id)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{session.id} stays merged; branch {session.branch} kept")
    after = engine.get(session.id)
    assert (after.lifecycle, after.lifecycle_reason) == (
        Lifecycle.MERGED,
        "PR #7 merged on the host",
    )
    assert not Path(session.worktree).exists()
    assert session.tmux not in engine.runtime.list_panes()
    proc = ao(tmp_path, "restore", session.id)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"ao-tui: {session.id} is merged (PR #7 merged on the host); restoring it would start "
        "its agent again on work already in main. Spawn a new session for more work\n"
    )
    # Killed before the host merged it: restore refuses as well.
    other = engine.spawn("app", "another change")
    engine.kill(other.id)
    engine.store.update_session(other.id, pr=SessionPR("merged", number=8))
    with pytest.raises(EngineError, match=r"is merged \(PR #8 merged on the host\); restoring"):
        engine.restore(other.id)
    assert engine.get(other.id).lifecycle is Lifecycle.KILLED
    assert not Path(other.worktree).exists()
