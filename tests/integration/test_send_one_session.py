"""``send`` and ``respond`` touch only the session they act on: its agent state, never PRs/CI.

Both re-read the session first (and ``respond`` every 200 ms until the prompt is answered);
that read must not refresh PRs, which can wait on a host and starts CI at a new head. Real
tmux (the asking agent), real git, a real CI command that would leave a marker file.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from core.models import ActivityState, DeliveryResult
from tests.conftest import run_git
from tests.support.engine import make_engine, wait_for, write_config

ASKER = Path(__file__).resolve().parents[1] / "support" / "asking_agent.py"


def test_send_and_respond_start_no_ci_at_a_new_head(tmp_path: Path, git_repo: Path) -> None:
    answers, marker = tmp_path / "answers.txt", tmp_path / "ci-ran"
    script = tmp_path / "ci.py"
    script.write_text(f"open({str(marker)!r}, 'w')\n")
    cfg = write_config(
        tmp_path,
        git_repo,
        command=shlex.join([sys.executable, str(ASKER), str(answers), "make", "make test"]),
        extra_project_yaml=f"    ci:\n      command: {sys.executable} {script}\n",
    )
    engine = make_engine(cfg)
    session = engine.spawn("app", "ask me something")
    other = engine.spawn("app", "another task, also asking")

    def waiting(session_id: str) -> bool:
        engine.reconcile_one(session_id)
        return engine.get(session_id).activity.state is ActivityState.WAITING_INPUT

    wait_for(lambda: waiting(session.id), timeout=10)
    # Asked before the new heads exist: no PR yet, so no CI either.
    assert engine.store.ci_runs(session.id) == [] and not marker.exists()
    for spawned in (session, other):
        worktree = Path(spawned.worktree)
        (worktree / "feature.py").write_text("x = 1\n")
        run_git(worktree, "add", "feature.py")
        run_git(worktree, "commit", "-q", "-m", "a new head")
    other_before = engine.get(other.id)

    result, _ = engine.send(session.id, "hello")  # refused: a prompt waits
    assert result is DeliveryResult.FAILED
    engine.respond(session.id, yes=True)  # the agent asks its second question at once
    engine.respond(session.id, yes=True)
    result, _ = engine.send(session.id, "carry on")

    assert engine.store.ci_runs(session.id) == [], "send/respond started a CI run"
    assert not marker.exists()
    assert engine.get(session.id).pr is None  # PR state is the reconcile loop's business
    assert engine.get(other.id) == other_before  # the other session was not even read
    # The reconcile loop does see the new heads (and starts CI there).
    engine.reconcile()
    assert engine.get(session.id).pr is not None
    assert [run.head_sha for run in engine.store.ci_runs(session.id)] != []
