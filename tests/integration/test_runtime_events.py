"""The reconcile loop hears about exits, servers and branches without its timer.

Every loop here runs with a 60 s timer, so whatever reaches the store within seconds came
from a report: the runtime's pidfd watch, or the file watch over the branch refs. The
sessions are claude-code records on real ``sleep`` panes whose hook log the test writes,
as Claude's hooks would; tmux, git, the watches and the store are real.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource
from tests.support.engine import make_engine, write_config
from tests.support.exec_count import ExecLog, exec_wrappers

SLOW = 60.0
"""The loop's timer in these tests: nothing below may wait for it."""
TIMEOUT = 8.0


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def _session(engine: Engine, repo: Path, *, settled: bool = False) -> Session:
    """A claude-code record on a live ``sleep`` pane in a real worktree of ``repo``."""
    sid = engine.store.allocate_id("app")
    branch = f"ao/{sid}-task"
    worktree = engine.locations.worktree("app", sid)
    worktree.parent.mkdir(parents=True, exist_ok=True)
    _git(repo, "worktree", "add", "-q", "-b", branch, str(worktree), "main")
    pane = engine.runtime.create(f"ao-{sid}", worktree, ["sleep", "100000"])
    state_dir = engine.locations.session_dir(sid)
    state_dir.mkdir(parents=True)
    # Settled: idle, by a hook, long enough ago that no time-based rule is pending.
    at = time.time() - (100.0 if settled else 0.0)
    body = json.dumps({"hook_event_name": "Stop", "last_assistant_message": "done"})
    (state_dir / "hooks.jsonl").write_text(f'{{"ao_ts":"{at}","payload":{body}}}\n')
    session = Session(
        id=sid,
        project="app",
        agent="claude-code",
        title="a task",
        prompt="a task",
        branch=branch,
        worktree=str(worktree),
        tmux=f"ao-{sid}",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.IDLE, SignalSource.HOOK, at),
        created_at=at,
        updated_at=at,
        agent_session_id=str(uuid.uuid4()),
        pane_id=pane.pane_id,
        base_branch="main",
    )
    engine.store.insert_session(session, event=("spawned", {}))
    return session


@asynccontextmanager
async def _loop(engine: Engine, *, interval: float = SLOW) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        reconcile_loop(engine, stop, interval=interval, safety_interval=SLOW)
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _until(engine: Engine, sid: str, check: Any, what: str) -> Session:
    deadline = time.monotonic() + TIMEOUT
    while True:
        current = await asyncio.to_thread(engine.get, sid)
        if check(current):
            return current
        assert time.monotonic() < deadline, f"{sid}: {what} did not happen ({current})"
        await asyncio.sleep(0.02)


async def _listed(engine: Engine, sid: str) -> int:
    """Wait for a tick to have listed ``sid``'s pane (so its process is watched)."""
    await _until(engine, sid, lambda s: s.activity.state is ActivityState.IDLE, "first tick")
    await asyncio.sleep(0.2)  # the listing reaches the watch through the event loop
    pane = engine.runtime.list_panes()[f"ao-{sid}"]
    return pane.pane_pid


def _exited(session: Session) -> bool:
    return session.lifecycle is Lifecycle.EXITED


async def test_an_agent_killed_is_reported_without_the_timer(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="claude-code"))
    session = _session(engine, git_repo)
    async with _loop(engine):
        pid = await _listed(engine, session.id)
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        await _until(engine, session.id, _exited, "the exit")
        assert time.monotonic() - killed < 3.0


async def test_the_server_going_away_and_coming_back_is_watched(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="claude-code"))
    first = _session(engine, git_repo)
    async with _loop(engine):
        await _listed(engine, first.id)
        engine.runtime.kill_server()  # type: ignore[attr-defined]
        await _until(engine, first.id, _exited, "the server's death")
        # A new server: its session's state dir wakes a tick, whose listing re-arms the watch.
        second = _session(engine, git_repo)
        pid = await _listed(engine, second.id)
        os.kill(pid, signal.SIGKILL)
        await _until(engine, second.id, _exited, "the exit on the new server")


async def test_a_commit_in_the_worktree_moves_the_pr_without_the_timer(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="claude-code"))
    session = _session(engine, git_repo)
    async with _loop(engine):
        await _listed(engine, session.id)
        assert engine.get(session.id).pr is None  # nothing ahead of main yet
        worktree = Path(session.worktree)
        (worktree / "change.txt").write_text("a change\n")
        _git(worktree, "add", "change.txt")
        _git(worktree, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "change")
        await _until(engine, session.id, lambda s: s.pr is not None, "the PR")


@pytest.fixture
def exec_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExecLog:
    """One line per tmux, git or ps started by anything in this test (wrappers on PATH)."""
    execs = exec_wrappers(tmp_path)
    monkeypatch.setenv("PATH", execs.search_path(os.environ["PATH"]))
    return execs


async def test_an_idle_fleet_starts_no_process(
    tmp_path: Path, git_repo: Path, exec_log: ExecLog
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="claude-code"))
    sessions = [_session(engine, git_repo, settled=True) for _ in range(3)]
    # A short timer: only the loop deciding that nothing can change unreported keeps it off.
    async with _loop(engine, interval=0.1):
        for session in sessions:
            await _listed(engine, session.id)
        await asyncio.sleep(0.5)
        before = exec_log.starts()
        await asyncio.sleep(3.0)
        during = exec_log.starts()[len(before) :]
    assert before, "the wrappers saw no process at all: they are not on the engine's PATH"
    assert during == []
