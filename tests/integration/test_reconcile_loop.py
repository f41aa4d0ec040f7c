"""The reconcile loop on real tmux: idle sessions are not re-read, yet every change lands.

The session is a claude-code record whose pane runs ``sleep`` and whose hook log the test
writes itself, as Claude's hooks would: the loop, the watch, tmux and the store are real.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from core.daemon import reconcile_loop
from core.engine import Engine
from core.lifecycle import PR_INTERVAL
from core.models import Activity, ActivityState, Event, Lifecycle, Session, SignalSource, WaitingFor
from tests.conftest import run_git
from tests.support.engine import make_engine, write_config

TIMEOUT = 15.0


def _hook(event: str, **payload: Any) -> str:
    body = json.dumps({"hook_event_name": event, **payload})
    return f'{{"ao_ts":"{time.time()}","payload":{body}}}\n'


def _claude_session(engine: Engine) -> tuple[Session, Path]:
    """A claude-code session record on a live ``sleep`` pane, and its hook log."""
    sid = engine.store.allocate_id("app")
    worktree = engine.locations.worktree("app", sid)
    worktree.mkdir(parents=True)
    pane = engine.runtime.create(f"ao-{sid}", worktree, ["sleep", "100000"])
    state_dir = engine.locations.session_dir(sid)
    state_dir.mkdir(parents=True)
    hooks = state_dir / "hooks.jsonl"
    hooks.write_text(_hook("Stop", last_assistant_message="done"))
    now = time.time()
    session = Session(
        id=sid,
        project="app",
        agent="claude-code",
        title="a task",
        prompt="a task",
        branch=f"ao/{sid}-task",
        worktree=str(worktree),
        tmux=f"ao-{sid}",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now),
        created_at=now,
        updated_at=now,
        agent_session_id=str(uuid.uuid4()),
        pane_id=pane.pane_id,
        base_branch="main",
    )
    engine.store.insert_session(session, event=("spawned", {}))
    return session, hooks


async def _until_state(engine: Engine, sid: str, state: ActivityState) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        current = await asyncio.to_thread(engine.get, sid)
        if current.activity.state is state:
            return
        assert time.monotonic() < deadline, f"{sid} stayed {current.activity.state}"
        await asyncio.sleep(0.02)


async def test_a_hook_line_after_idle_ticks_reaches_the_store(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, agent="claude-code"))
    session, hooks = _claude_session(engine)
    observed: list[int] = []
    agent = engine.agent("claude-code")
    original = agent.observe

    def counting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        observed.append(id(result))
        return result

    agent.observe = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    loop = asyncio.create_task(reconcile_loop(engine, stop, interval=0.2))
    try:
        await _until_state(engine, session.id, ActivityState.IDLE)
        idle_from = len(observed)
        await asyncio.sleep(1.0)  # several timer ticks with nothing changed
        idle = observed[idle_from:]
        assert any(a == b for a, b in itertools.pairwise(idle)), "idle ticks reuse one"
        with hooks.open("a") as handle:
            handle.write(_hook("PermissionRequest", tool_name="Bash", tool_input={"command": "ls"}))
        await _until_state(engine, session.id, ActivityState.WAITING_INPUT)
        stored = await asyncio.to_thread(engine.get, session.id)
        assert stored.activity.waiting_for == WaitingFor("permission", "Bash", "ls")
    finally:
        stop.set()
        await asyncio.wait_for(loop, TIMEOUT)


async def test_a_change_during_a_tick_brings_the_next_tick_at_once(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo))
    engine.locations.sessions_root.mkdir(parents=True, exist_ok=True)
    started: list[float] = []
    original = engine.reconcile

    def reconcile(**kwargs: Any) -> list[Event]:
        started.append(time.monotonic())
        if len(started) == 2:
            # A hook line lands while this tick runs, after it would have read the file.
            (engine.locations.sessions_root / "hooks.jsonl").write_text("a line\n")
            time.sleep(0.3)  # the watch reports it before the tick ends
        return original(**kwargs)

    engine.reconcile = reconcile  # type: ignore[method-assign]
    stop = asyncio.Event()
    # The timer alone would bring the next tick a minute later.
    loop = asyncio.create_task(reconcile_loop(engine, stop, interval=60.0))
    try:
        await asyncio.sleep(0.3)  # the watch is in place
        (engine.locations.sessions_root / "first.jsonl").write_text("wake\n")
        deadline = time.monotonic() + TIMEOUT
        while len(started) < 3:
            assert time.monotonic() < deadline, f"ticks at {started}"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(loop, TIMEOUT)


async def test_a_local_ci_result_reaches_the_stored_pr_at_once(
    tmp_path: Path, git_repo: Path
) -> None:
    # The CI result is the fact ci-failed and approved-and-green react to: waiting for the
    # next PR refresh (PR_INTERVAL, 3 s) after it would spend the reactions' latency budget.
    ci = f"    ci:\n      command: '{sys.executable} -c \"import time; time.sleep(0.8)\"'\n"
    agent = f"{sys.executable} -c 'import time; time.sleep(600)'"
    engine = make_engine(write_config(tmp_path, git_repo, command=agent, extra_project_yaml=ci))
    session = engine.spawn("app", "a task")
    stop = asyncio.Event()
    loop = asyncio.create_task(reconcile_loop(engine, stop, interval=0.2))
    try:
        worktree = Path(session.worktree)
        (worktree / "a.txt").write_text("a\n")
        run_git(worktree, "add", "a.txt")
        run_git(worktree, "commit", "-q", "-m", "work")
        deadline = time.monotonic() + TIMEOUT
        while True:
            stored = await asyncio.to_thread(engine.get, session.id)
            if stored.pr is not None and stored.pr.ci == "passing":
                break
            assert time.monotonic() < deadline, f"CI never showed as passing: {stored.pr}"
            await asyncio.sleep(0.02)
        run = engine.store.latest_ci_run(session.id, stored.pr.head_sha)
        assert run is not None and run.finished_at is not None
        shown = [
            e.ts
            for e in engine.store.events_after(0)
            if e.kind == "pr" and e.session_id == session.id and e.data.get("ci") == "passing"
        ]
        assert shown[0] - run.finished_at < 1.0, shown[0] - run.finished_at
    finally:
        stop.set()
        await asyncio.wait_for(loop, TIMEOUT)


async def test_a_commit_reaches_the_stored_pr_at_once(tmp_path: Path, git_repo: Path) -> None:
    # An agent's commit is what a reaction waits on (a fix pushed): its new head, and the
    # CI run started for it, must not wait for the next PR refresh (PR_INTERVAL, 3 s).
    agent = f"{sys.executable} -c 'import time; time.sleep(600)'"
    engine = make_engine(write_config(tmp_path, git_repo, command=agent))
    session = engine.spawn("app", "a task")
    stop = asyncio.Event()
    loop = asyncio.create_task(reconcile_loop(engine, stop, interval=0.2))
    try:
        worktree = Path(session.worktree)
        for attempt in range(3):
            await asyncio.sleep(PR_INTERVAL)  # the last refresh is long past, as when idle
            (worktree / "a.txt").write_text(f"{attempt}\n")
            run_git(worktree, "add", "a.txt")
            run_git(worktree, "commit", "-q", "-m", f"work {attempt}")
            committed = time.time()
            head = run_git(worktree, "rev-parse", "HEAD").strip()
            deadline = time.monotonic() + TIMEOUT
            while True:
                stored = await asyncio.to_thread(engine.get, session.id)
                if stored.pr is not None and stored.pr.head_sha == head:
                    break
                assert time.monotonic() < deadline, f"the commit never showed: {stored.pr}"
                await asyncio.sleep(0.02)
            assert time.time() - committed < 1.0
    finally:
        stop.set()
        await asyncio.wait_for(loop, TIMEOUT)


def test_a_head_made_during_a_merge_starts_no_ci(tmp_path: Path, git_repo: Path) -> None:
    # A merge saves uncommitted work as a WIP commit and then removes the worktree: a tick
    # in between (the ref watch wakes one at once) must not start CI on that head, which
    # would fail with the worktree gone.
    from core.kill_restore import marked_operation

    ci = f"    ci:\n      command: '{sys.executable} -c \"pass\"'\n"
    agent = f"{sys.executable} -c 'import time; time.sleep(600)'"
    engine = make_engine(write_config(tmp_path, git_repo, command=agent, extra_project_yaml=ci))
    session = engine.spawn("app", "a task")
    worktree = Path(session.worktree)
    with marked_operation(engine, session.id, "merge"):
        (worktree / "wip.txt").write_text("wip\n")
        run_git(worktree, "add", "wip.txt")
        run_git(worktree, "commit", "-q", "-m", "WIP")
        engine.reconcile()
        assert engine.store.ci_runs(session.id) == []
    engine.reconcile()
    assert len(engine.store.ci_runs(session.id)) == 1
