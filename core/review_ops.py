"""Review, CI and merge: what a session's branch holds, its checks, approval and landing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.ci_report import CiReport
from core.errors import EngineError
from core.faults import fault_point
from core.kill_restore import marked_operation
from core.manifest import OperationMark
from core.models import ENDED_LIFECYCLES, Activity, ActivityState, Lifecycle, Session, SignalSource
from core.redact import redact_here
from core.scm import MERGE_METHODS, MergeBlockedError, MergeMethod, Scm, ScmTarget
from core.slots import SlotError
from core.wip import WIP_BLOCKER, wip_message

if TYPE_CHECKING:
    from core.engine import Engine


def _heads(engine: Engine, session: Session) -> tuple[Scm, ScmTarget, str, str]:
    """The session's SCM plugin, target, branch head and base head (one git call)."""
    scm = engine.scm(session.project)
    target = engine.scm_target(session)
    heads = scm.heads(target.repo, [target.branch, target.base])
    head, base_head = heads.get(target.branch), heads.get(target.base)
    if head is None:
        raise EngineError(f"{session.id}: branch {target.branch!r} no longer exists")
    if base_head is None:
        raise EngineError(f"{session.id}: base branch {target.base!r} does not exist")
    return scm, target, head, base_head


def ci(
    engine: Engine, session_id: str, *, run: bool = False, refresh_pr: Callable[[str], Session]
) -> CiReport:
    """The work of :meth:`core.engine.Engine.ci` (which documents it)."""
    session = engine.get(session_id)
    scm, target, head, base_head = _heads(engine, session)
    if target.ci is None and target.host is None:
        return CiReport.of([], head, None)
    try:
        scm.prefetch([target], engine.store, wait=True)
        pr = scm.status(target, engine.store, head, base_head)
        if pr is not None:
            head = pr.head_sha  # a host's PR head: what its checks ran on
        if run:
            if not scm.start_ci(target, engine.store, head, rerun=True):
                raise EngineError(f"{session_id}: no CI run to start at {head[:10]}")
            engine.store.append_event(session_id, "ci-rerun", {"head_sha": head})
        elif pr is not None:
            scm.start_ci(target, engine.store, head)
        if session.lifecycle not in ENDED_LIFECYCLES:
            refresh_pr(session_id)
        checks = scm.checks(target, engine.store, head)
    except SlotError as exc:
        raise EngineError(f"CI of {session_id}: {exc}") from exc
    # What a new run would run now (the config may have changed since a check ran).
    command = None if target.ci is None else redact_here(target.ci.command)
    return CiReport.of(checks, head, command)


def approve(engine: Engine, session_id: str, *, refresh_pr: Callable[[str], Session]) -> Session:
    """The work of :meth:`core.engine.Engine.approve` (which documents it)."""
    session = engine.get(session_id)
    if session.lifecycle in (Lifecycle.MERGED, Lifecycle.DONE):
        raise EngineError(f"{session_id} is {session.lifecycle.value}; nothing to approve")
    scm, target, head, base_head = _heads(engine, session)
    try:
        scm.prefetch([target], engine.store, wait=True)
        pr = scm.status(target, engine.store, head, base_head)
        if pr is None:
            raise EngineError(
                f"{session_id} has no commits ahead of {target.base}; nothing to approve"
            )
        head = pr.head_sha
        scm.approve(target, engine.store, head)
    except SlotError as exc:
        raise EngineError(f"approval of {session_id} failed: {exc}") from exc
    engine.store.append_event(session_id, "approved", {"head_sha": head})
    engine.feed.wake()
    return refresh_pr(session_id)


def merge(
    engine: Engine,
    session_id: str,
    *,
    method: str | None = None,
    force: bool = False,
    expect_head: str | None = None,
) -> tuple[Session, str]:
    """The work of :meth:`core.engine.Engine.merge` (which documents it)."""
    with marked_operation(engine, session_id, "merge") as mark:
        merged = _merge(engine, session_id, method, force, mark, expect_head)
        fault_point("merge.recorded")
    return merged


def _merge(
    engine: Engine,
    session_id: str,
    method: str | None,
    force: bool,
    mark: OperationMark,
    expect_head: str | None = None,
) -> tuple[Session, str]:
    session = engine.get(session_id)
    if session.lifecycle is Lifecycle.MERGED:
        raise EngineError(f"{session_id} is already merged")
    project = engine.project(session.project)
    chosen = method or project.merge.method
    if chosen not in MERGE_METHODS:
        raise EngineError(f"unknown merge method {chosen!r} (allowed: {', '.join(MERGE_METHODS)})")
    merge_method: MergeMethod = chosen
    scm, target, head, base_head = _heads(engine, session)
    try:
        scm.prefetch([target], engine.store, wait=True)
        pr = scm.status(target, engine.store, head, base_head)
    except SlotError as exc:
        raise EngineError(f"merge of {session_id}: {exc}") from exc
    if pr is None:
        raise EngineError(f"{session_id} has no commits ahead of {target.base}; nothing to merge")
    # The head that was checked (and, on a host, reviewed) is the one merged: a host
    # refuses the merge if its PR moved since.
    head = pr.head_sha
    if expect_head is not None and head != expect_head:
        raise EngineError(
            f"{session_id} was not merged: its head moved from {expect_head[:10]} to "
            f"{head[:10]} since it was green and approved"
        )
    blockers = pr.blockers
    if pr.wip_head and force:
        # Work a kill saved was never meant to land: not even --force merges it.
        raise EngineError(f"{session_id} cannot be merged, even with --force: {WIP_BLOCKER}")
    if blockers and not force:
        raise MergeBlockedError(
            f"{session_id} cannot be merged: {'; '.join(blockers)} "
            "(fix them, or pass --force to merge anyway)",
            blockers,
        )
    try:
        result = scm.merge(target, merge_method, head)
    except SlotError as exc:
        raise EngineError(f"merge of {session_id} failed: {exc}") from exc
    fault_point("merge.landed")
    mark.note(merged_sha=result.sha)  # landed: a crash from here on is finished by doctor
    fault_point("merge.noted")
    notes = list(result.notes)
    engine.runtime.kill(session.tmux)
    fault_point("merge.stopped")
    worktree = Path(session.worktree)
    wip: str | None = None
    tidied: list[str] = []
    if worktree.exists():
        try:
            notes += engine.workspace.release_stale_locks(worktree)
            wip = engine.workspace.save_work(worktree, wip_message(session_id, "merge"))
            fault_point("merge.saved")
            tidied = engine.remove_worktree(session, project.path)
        except SlotError as exc:
            notes.append(f"the worktree {worktree} was kept: {exc}")
    if wip:
        notes.append(f"uncommitted work was saved as {wip[:10]} on {session.branch}")
    now = engine.clock()
    merged_pr = pr.to_session_pr().as_merged(result.sha, notes)
    session = engine.store.update_session(
        session_id,
        lifecycle=Lifecycle.MERGED,
        lifecycle_reason=f"merged into {target.base} as {result.sha[:10]}",
        activity=Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "merged"),
        pr=merged_pr,
        event=(
            "merged",
            {
                "sha": result.sha,
                "method": result.method,
                "head_sha": head,
                "base": target.base,
                "forced": bool(blockers),
                "overridden": blockers,
                "notes": notes,
                "wip_commit": wip,
                **({"tidied": tidied} if tidied else {}),
            },
        ),
    )
    engine.feed.wake()
    return session, result.sha


def diff(engine: Engine, session_id: str, *, stat: bool = False) -> str:
    """The work of :meth:`core.engine.Engine.diff` (which documents it)."""
    session = engine.get(session_id)
    scm = engine.scm(session.project)
    try:
        return scm.diff(engine.scm_target(session), stat=stat)
    except SlotError as exc:
        raise EngineError(f"diff of {session_id} failed: {exc}") from exc
