"""Kill and restore: stop a session saving its work, and bring it back in place."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from core.activity.starts import SIGNALS_FROM
from core.closed import closed_reason, closed_state, is_closed, restore_refusal
from core.errors import EngineError
from core.faults import fault_point
from core.file_lock import hold
from core.manifest import OperationMark, operation_mark
from core.models import (
    ENDED_LIFECYCLES,
    Activity,
    ActivityState,
    Lifecycle,
    Role,
    Session,
    SignalSource,
)
from core.permission_policy import prepare_agent, require_support
from core.plugin_access import live_pane
from core.provenance import stamp_worktree
from core.role_launch import require_role_support, role_plan
from core.session_cap import session_slot
from core.slots import SlotError, WorktreeBusyError
from core.spawning import check_binary, start_process
from core.wip import wip_message

if TYPE_CHECKING:
    from core.engine import Engine

_KILL_WAIT = 180.0
"""Seconds a kill waits for another kill of the same session (which may itself wait for a
git process to let go of the worktree) before giving up."""


def kill(engine: Engine, session_id: str, *, discard: bool = False) -> tuple[Session, str | None]:
    """The work of :meth:`core.engine.Engine.kill` (which documents it)."""
    engine.get(session_id)

    def busy(pid: int | None) -> EngineError:
        return EngineError(
            f"another kill of {session_id} (process {pid or '?'}) has run for over "
            f"{_KILL_WAIT:.0f}s; see what it did with `ao-tui status {session_id}`"
        )

    lock = engine.locations.session_dir(session_id) / "kill.lock"
    with (
        hold(lock, timeout=_KILL_WAIT, on_timeout=busy),
        marked_operation(engine, session_id, "kill"),
    ):
        result = _kill(engine, session_id, discard=discard)
        fault_point("kill.recorded")
    return result


@contextlib.contextmanager
def marked_operation(engine: Engine, session_id: str, operation: str) -> Iterator[OperationMark]:
    """Mark ``operation`` in the session's manifest while it runs (see core.manifest)."""
    session = engine.get(session_id)
    with operation_mark(engine.locations.session_dir(session_id), session, operation) as mark:
        fault_point(f"{operation}.marked")
        yield mark


def _kill(engine: Engine, session_id: str, *, discard: bool) -> tuple[Session, str | None]:
    session = engine.get(session_id)
    if session.lifecycle is Lifecycle.KILLED:
        raise EngineError(_already_killed(session))
    closed = is_closed(session)
    worktree = Path(session.worktree)
    if closed and not worktree.exists() and session.tmux not in engine.runtime.list_panes():
        raise EngineError(
            f"{session_id} is {closed_state(session)}; "
            "nothing to kill: its agent and its worktree are gone already"
        )
    engine.runtime.kill(session.tmux)
    fault_point("kill.stopped")
    wip: str | None = None
    notes: list[str] = []
    tidied: list[str] = []
    if worktree.exists():
        if not discard:
            try:
                notes += engine.workspace.release_stale_locks(worktree)
                wip = engine.workspace.save_work(worktree, wip_message(session_id, "kill"))
                fault_point("kill.saved")
            except SlotError as exc:
                _kill_failed(engine, session, worktree, exc, closed=closed)
        tidied = engine.remove_worktree(session, Path(engine.project(session.project).path))
        fault_point("kill.removed")
    now = engine.clock()
    record: dict[str, Any] = {
        "wip_commit": wip,
        "discarded": discard,
        "branch": session.branch,
        "notes": notes,
    }
    if tidied:
        record["tidied"] = tidied
    extra = {**session.extra, "kill": record}
    if closed:
        # The merge (or completion) stays the session's story; this only tidied up. A
        # PR merged on the host is recorded as merged now: a killed record would offer
        # a restore onto work that has landed.
        merged: dict[str, Any] = {}
        if session.lifecycle not in (Lifecycle.MERGED, Lifecycle.DONE):
            merged = {
                "lifecycle": Lifecycle.MERGED,
                "lifecycle_reason": closed_reason(session),
                "activity": Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "merged"),
            }
        session = engine.store.update_session(
            session_id, extra=extra, event=("leftovers-removed", record), **merged
        )
    else:
        session = engine.store.update_session(
            session_id,
            lifecycle=Lifecycle.KILLED,
            lifecycle_reason="discarded" if discard else "killed by operator",
            activity=Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "killed"),
            extra=extra,
            event=("killed", record),
        )
    engine.feed.wake()
    return session, wip


def _kill_failed(
    engine: Engine, session: Session, worktree: Path, exc: SlotError, *, closed: bool
) -> NoReturn:
    """Record that the work could not be saved (the worktree stays) and say what to do."""
    if closed:
        engine.store.append_event(session.id, "kill-failed", {"error": str(exc)})
    else:
        engine.store.update_session(
            session.id,
            lifecycle=Lifecycle.EXITED,
            lifecycle_reason="kill stopped: work not saved",
            event=("kill-failed", {"error": str(exc)}),
        )
    if isinstance(exc, WorktreeBusyError):
        # The work can be saved, just not now: never suggest throwing it away.
        advice = f"retry `ao-tui kill {session.id}` when that git command has finished"
    else:
        advice = (
            f"commit it by hand and run `ao-tui kill {session.id}` again (--discard "
            "would throw the uncommitted work away)"
        )
    raise EngineError(
        f"could not save the work in {worktree}: {exc}; nothing was removed. {advice}"
    ) from exc


def restore(engine: Engine, session_id: str) -> Session:
    """The work of :meth:`core.engine.Engine.restore` (which documents it)."""
    # A killed session gave its slot back: bringing it back takes one, under the cap's
    # lock like a spawn. An exited or paused one still holds its own.
    session = engine.get(session_id)
    slot = (
        session_slot(engine, session.project)
        if session.lifecycle in ENDED_LIFECYCLES and session.role is Role.WORKER
        else contextlib.nullcontext()
    )
    with slot, marked_operation(engine, session_id, "restore"):
        session = _restore(engine, session_id)
        fault_point("restore.recorded")
    return session


def _restore(engine: Engine, session_id: str) -> Session:
    session = engine.get(session_id)
    refused = restore_refusal(session)
    if refused:
        raise EngineError(refused)
    if live_pane(engine.runtime, session) is not None:
        raise EngineError(f"{session_id} is running; attach with `ao-tui attach {session_id}`")
    project = engine.project(session.project)
    agent = engine.agent(session.agent)
    # Refused before the worktree is touched: an agent that cannot honour the rules.
    require_support(agent, session.agent, session.project, project.agent_config.allow)
    require_role_support(engine.registry, agent, session.agent, session.role)
    worktree = Path(session.worktree)
    if not worktree.exists():
        engine.workspace.reopen(project.path, worktree, session.branch)
        fault_point("restore.reopened")
    notes, extra = _take_back_work(engine, session, worktree)
    stamp_worktree(engine, session)  # a reopened worktree is a new one: hooks again
    ctx = engine.context(session)
    engine.workspace.exclude(
        worktree, prepare_agent(agent, ctx, session.project, role=session.role)
    )
    plan = role_plan(engine, agent, ctx, session, agent.resume(ctx))
    check_binary(plan, session.project)
    engine.runtime.kill(session.tmux)  # a dead pane left by remain-on-exit
    # Taken before the start: the agent's first signals (its session-start hook) may
    # come before a loaded machine returns from starting it, and must count as after.
    now = engine.clock()
    pane = start_process(engine, session, plan)
    fault_point("restore.started")
    session = engine.store.update_session(
        session_id,
        pane_id=pane.pane_id,
        lifecycle=Lifecycle.RUNNING,
        lifecycle_reason="restored",
        attempt=session.attempt + 1,
        extra={
            **extra,
            "started_at": now,
            SIGNALS_FROM: now,  # what the killed process left behind never counts
            "starts_on_task": plan.starts_on_task,
            "restore": {"notes": notes},
        },
        activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now, "restarting"),
        event=(
            "restored",
            {"attempt": session.attempt + 1, "argv0": plan.argv[0], "notes": notes},
        ),
    )
    engine.feed.wake()
    return session


def _take_back_work(
    engine: Engine, session: Session, worktree: Path
) -> tuple[builtins.list[str], dict[str, Any]]:
    """Make the work the last kill committed uncommitted again (README: "back in place").

    Only the exact commit the kill recorded, and only while it is the branch tip; once
    taken back (or found moved on), the kill record says so and no later restore
    touches the branch. The notes say what happened; the extra is the session's, updated.
    """
    record = session.extra.get("kill")
    if not isinstance(record, dict) or not record.get("wip_commit") or "work_back" in record:
        return [], dict(session.extra)
    try:
        note = engine.workspace.take_back_work(worktree, str(record["wip_commit"]))
    except SlotError as exc:
        # The work is safe in the commit; the agent may still start on top of it.
        note = f"the WIP commit {str(record['wip_commit'])[:10]} stays: {exc}"
    fault_point("restore.work-back")
    return [note], {**session.extra, "kill": {**record, "work_back": note}}


def _already_killed(session: Session) -> str:
    """What an earlier kill of ``session`` did, for the kill that came second."""
    record = session.extra.get("kill") or {}
    wip = record.get("wip_commit")
    if wip:
        kept = f"its uncommitted work was saved as {str(wip)[:10]} on {session.branch}"
    else:
        kept = f"its branch {session.branch} is kept"
    return f"{session.id} is already killed; {kept}. `ao-tui restore {session.id}` brings it back"
