"""Putting the world back in order: adopt orphans, clean up empties, finish half-done work.

:func:`fix_findings` is ``ao-tui doctor --fix``: for each finding of :mod:`core.inventory`
it adopts what holds work or a live agent (a row is inserted, so ``restore`` and ``kill``
work on it), removes only what is known to hold none, and finishes or settles an operation
a crash cut short. ``ao-tui recover`` (:mod:`core.state_rebuild`) rebuilds rows with
:func:`adopt` too.

Nothing here deletes uncommitted work or unmerged commits: every removal is checked again
right before it happens, and a branch is deleted only by the workspace's own guarded call.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.artifacts import Found, is_own_file
from core.errors import AoError, EngineError
from core.inventory import (
    ADOPT,
    CLEAN,
    CLEAR_MARK,
    FINISH_KILL,
    FINISH_MERGE,
    MARK_EXITED,
    MARK_KILLED,
    MARK_RUNNING,
    SETTLE_RESTORE,
    STOP_PANE,
    Finding,
    Inventory,
    adopted_lifecycle,
    base_of,
    work_in,
)
from core.manifest import Manifest, read_manifest, write_manifest
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    Role,
    Session,
    SessionPR,
    SignalSource,
)
from core.naming import id_number
from core.slots import ConversationLookup, SlotError, WorktreeBusyError
from core.wip import wip_message

if TYPE_CHECKING:
    from core.engine import Engine


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HOOK_TAIL = 256 * 1024
"""How much of the end of a hook log is read for the agent's session id."""


@dataclass(frozen=True)
class FixResult:
    """What ``doctor --fix`` did about one artifact (one output line)."""

    session_id: str
    action: str
    detail: str
    ok: bool = True

    def to_json(self) -> dict[str, Any]:
        """The object ``doctor --fix --json`` prints."""
        return {
            "session": self.session_id,
            "action": self.action,
            "detail": self.detail,
            "ok": self.ok,
        }


def fix_findings(engine: Engine, inventory: Inventory) -> list[FixResult]:
    """Do what each finding's ``action`` says; one result per artifact touched."""
    results: list[FixResult] = []
    for finding in inventory.findings:
        item = inventory.found.get(finding.session_id) or Found(finding.session_id)
        row = inventory.rows.get(finding.session_id)
        try:
            results += _fix_one(engine, finding, item, row)
        except (EngineError, SlotError, OSError, sqlite3.Error) as exc:
            results.append(FixResult(finding.session_id, finding.action, str(exc), ok=False))
    return results


def release_stale_git_locks(engine: Engine) -> list[FixResult]:
    """Remove git locks a killed git left in session worktrees; one result per lock.

    A stale ``index.lock`` stops the agent's own commits as well as a later kill's WIP
    save. Locks a live git process holds are left alone (the workspace waits a bounded
    time, then says who holds them).
    """
    results: list[FixResult] = []
    for session in engine.store.list_sessions():
        worktree = Path(session.worktree)
        if session.lifecycle in _NO_WORKTREE or not worktree.is_dir():
            continue
        try:
            notes = engine.workspace.release_stale_locks(worktree)
        except WorktreeBusyError:
            continue  # in use by a live git: not stale
        except (SlotError, OSError) as exc:
            results.append(FixResult(session.id, "unlock", str(exc), ok=False))
            continue
        results += [FixResult(session.id, "unlocked", note) for note in notes]
    return results


_NO_WORKTREE = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})


def _fix_one(engine: Engine, finding: Finding, item: Found, row: Session | None) -> list[FixResult]:
    sid = finding.session_id
    action = finding.action
    if action == ADOPT:
        session = adopt(engine, item, by="doctor --fix")
        what = ", ".join(item.describe())
        return [FixResult(sid, "adopted", f"as {session.lifecycle.value} ({what})")]
    if action == CLEAN:
        return clean(engine, item, row, only=finding.stray)
    if row is None:
        return [FixResult(sid, "left", f"{finding.problem}; {finding.fix}", ok=False)]
    if action == FINISH_KILL:
        killed, wip = engine.kill(sid)
        saved = f"; uncommitted work saved as {wip[:10]}" if wip else ""
        return [FixResult(sid, "killed", f"kill finished; branch {killed.branch} kept{saved}")]
    if action == FINISH_MERGE:
        return finish_merge(engine, row, item)
    if action == SETTLE_RESTORE:
        return _settle_restore(engine, row, item)
    if action == MARK_KILLED:
        if item.pane is not None:
            engine.runtime.kill(row.tmux)
        _record(engine, row, Lifecycle.KILLED, finding.problem, item)
        return [FixResult(sid, "recorded", f"as killed: {finding.problem}")]
    if action == MARK_EXITED:
        _record(engine, row, Lifecycle.EXITED, finding.problem, item)
        return [FixResult(sid, "recorded", f"as exited: {finding.problem}")]
    if action == MARK_RUNNING:
        _record(engine, row, Lifecycle.RUNNING, finding.problem, item)
        return [FixResult(sid, "recorded", f"as running: {finding.problem}")]
    if action == STOP_PANE:
        engine.runtime.kill(row.tmux)
        return [FixResult(sid, "stopped", f"removed the dead tmux session {row.tmux}")]
    if action == CLEAR_MARK:
        _clear_mark(engine, sid)
        return [FixResult(sid, "cleared", finding.problem)]
    return [FixResult(sid, "left", f"{finding.problem}; {finding.fix}", ok=False)]


def _clear_mark(engine: Engine, session_id: str) -> None:
    state_dir = engine.locations.session_dir(session_id)
    manifest = read_manifest(state_dir)
    if manifest is not None and manifest.operation:
        write_manifest(state_dir, manifest.settled())


def _record(
    engine: Engine, row: Session, lifecycle: Lifecycle, problem: str, item: Found
) -> Session | None:
    """Set the row's lifecycle to what was found, unless someone changed the row meanwhile."""
    now = engine.clock()
    fields: dict[str, Any] = {
        "lifecycle": lifecycle,
        "lifecycle_reason": f"repaired by ao-tui doctor --fix: {problem}"[:200],
    }
    if lifecycle is Lifecycle.RUNNING and item.pane is not None:
        fields["pane_id"] = item.pane.pane_id
        fields["attempt"] = row.attempt + 1
        fields["extra"] = {**row.extra, "started_at": now}
        fields["activity"] = Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now, "adopted")
    else:
        fields["activity"] = Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "repaired")
    updated = engine.store.update_session_if(
        row.id,
        {"lifecycle": row.lifecycle, "attempt": row.attempt},
        event=("repaired", {"lifecycle": lifecycle.value, "problem": problem}),
        **fields,
    )
    _clear_mark(engine, row.id)
    return updated


def _settle_restore(engine: Engine, row: Session, item: Found) -> list[FixResult]:
    sid = row.id
    if item.live and row.lifecycle is not Lifecycle.RUNNING:
        _record(engine, row, Lifecycle.RUNNING, "restore stopped before it was recorded", item)
        return [FixResult(sid, "recorded", "as running: its agent had been started")]
    if not item.live and row.lifecycle is Lifecycle.KILLED and Path(row.worktree).exists():
        _record(engine, row, Lifecycle.EXITED, "restore stopped after reopening", item)
        return [FixResult(sid, "recorded", "as exited: its worktree is back, no agent")]
    _clear_mark(engine, sid)
    return [FixResult(sid, "cleared", f"restore mark; the session stays {row.lifecycle.value}")]


def finish_merge(engine: Engine, row: Session, item: Found) -> list[FixResult]:
    """What merge does after the branch landed: stop the agent, keep the work, record it."""
    sid = row.id
    results: list[FixResult] = []
    manifest = item.manifest
    sha = str((manifest.progress if manifest is not None else {}).get("merged_sha") or "")
    if item.pane is not None:
        engine.runtime.kill(row.tmux)
        results.append(FixResult(sid, "stopped", f"tmux session {row.tmux}"))
    worktree = Path(row.worktree)
    notes: list[str] = []
    if worktree.exists():
        wip = engine.workspace.save_work(worktree, wip_message(sid, "doctor --fix"))
        if wip:
            notes.append(f"uncommitted work was saved as {wip[:10]} on {row.branch}")
            results.append(FixResult(sid, "saved", f"uncommitted work as {wip[:10]}"))
        tidied = engine.remove_worktree(row, engine.project(row.project).path)
        kept = f"worktree {worktree} (work kept on {row.branch})"
        results.append(FixResult(sid, "removed", kept))
        results += [FixResult(sid, "tidied", note) for note in tidied]
    if row.lifecycle is not Lifecycle.MERGED:
        now = engine.clock()
        pr = (row.pr or SessionPR("merged")).as_merged(sha or None, notes)
        engine.store.update_session_if(
            sid,
            {"lifecycle": row.lifecycle, "attempt": row.attempt},
            lifecycle=Lifecycle.MERGED,
            lifecycle_reason=f"merged as {sha[:10]} (recorded by ao-tui doctor --fix)",
            activity=Activity(ActivityState.EXITED, SignalSource.ENGINE, now, "merged"),
            pr=pr,
            event=("merged", {"sha": sha, "recovered": True, "notes": notes}),
        )
        results.append(FixResult(sid, "recorded", f"as merged ({sha[:10]})"))
    _clear_mark(engine, sid)
    return results


def clean(
    engine: Engine, item: Found, row: Session | None, *, only: tuple[str, ...] = ()
) -> list[FixResult]:
    """Remove artifacts that hold no work, checking each again just before removing it.

    With ``only`` (stray artifacts of a session that has a row), just those branches and
    worktree folders; otherwise everything found for the id.
    """
    sid = item.session_id
    results: list[FixResult] = []
    project = engine.config.projects.get(item.project)
    if project is None:
        return [FixResult(sid, "left", f"project {item.project!r} is not in the config", False)]
    base = base_of(engine, item, row)
    worktrees = [p for p in item.worktrees if not only or str(p) in only]
    branches = [b for b in item.branches if not only or b in only]
    whole = not only
    if whole:
        pane = engine.runtime.list_panes().get(f"ao-{sid}")
        if pane is not None and not pane.dead:
            return [FixResult(sid, "left", "an agent started meanwhile; run doctor again", False)]
        if pane is not None:
            engine.runtime.kill(pane.session_name)
            results.append(FixResult(sid, "stopped", f"dead tmux session {pane.session_name}"))
    for path in worktrees:
        if work_in(engine, item, base=base, worktrees=[path], branches=[], with_pane=False,
                   with_state=False):  # fmt: skip
            results.append(FixResult(sid, "left", f"{path}: it holds work now", ok=False))
            continue
        if path in item.unregistered:
            path.rmdir()  # empty (checked above): nothing to lose
        else:
            engine.workspace.remove(project.path, path)
        results.append(FixResult(sid, "removed", f"worktree {path} (no changes)"))
    for branch in branches:
        try:
            engine.workspace.delete_branch(project.path, branch, base=base)
        except SlotError as exc:
            results.append(FixResult(sid, "left", str(exc), ok=False))
            continue
        results.append(FixResult(sid, "deleted", f"branch {branch} (no commits beyond {base})"))
    if whole and item.state_dir is not None:
        results += _remove_state_dir(sid, item.state_dir)
    return results


def _remove_state_dir(sid: str, state_dir: Path) -> list[FixResult]:
    """Remove a state folder holding only ao-tui's own files (the manifest goes last)."""
    try:
        names = sorted(child.name for child in state_dir.iterdir())
    except FileNotFoundError:
        return []
    if any(not is_own_file(name) for name in names):
        return [FixResult(sid, "left", f"state folder {state_dir}: it holds logs", ok=False)]
    for name in sorted(names, key=lambda n: n == "session.json"):
        (state_dir / name).unlink(missing_ok=True)
    state_dir.rmdir()
    return [FixResult(sid, "removed", f"state folder {state_dir} (only ao-tui's own files)")]


def adopt(engine: Engine, item: Found, *, by: str) -> Session:
    """Insert a row for what was found, so ``restore`` and ``kill`` work on it."""
    session = rebuild_session(engine, item, by=by)
    engine.store.insert_session(
        session,
        event=(
            "adopted",
            {
                "by": by,
                "lifecycle": session.lifecycle.value,
                "from": "manifest" if item.manifest is not None else "artifacts",
                "found": item.describe(),
            },
        ),
    )
    engine.store.raise_counter(session.id.rpartition("-")[0], id_number(session.id))
    if item.state_dir is not None or item.manifest is not None:
        # From now on the session has a manifest, whatever it had before.
        write_manifest(engine.locations.session_dir(session.id), Manifest.of(session))
    return session


def rebuild_session(engine: Engine, item: Found, *, by: str) -> Session:
    """The row for ``item``: its manifest's facts first, the artifacts' for the rest.

    Without a manifest the placeholders are honest: the title comes from the branch name,
    the prompt is empty, and ``extra["recovered"]`` lists every guessed field.
    """
    sid = item.session_id
    now = engine.clock()
    manifest = item.manifest
    project = engine.config.projects.get(item.project)
    guessed: list[str] = []
    if manifest is not None:
        facts = {
            "project": manifest.project,
            "agent": manifest.agent,
            "title": manifest.title,
            "prompt": manifest.prompt,
            "branch": manifest.branch,
            "base_branch": manifest.base_branch,
            "worktree": manifest.worktree,
            "agent_session_id": manifest.agent_session_id,
            "issue": manifest.issue,
        }
        created = manifest.created_at or now
    else:
        branch = _pick_branch(item)
        guessed += ["title", "prompt", "agent", "base_branch"]
        facts = {
            "project": item.project,
            "agent": project.agent_name(engine.config.defaults)
            if project is not None
            else engine.config.defaults.agent,
            "title": _title_from_branch(sid, branch),
            "prompt": "",
            "branch": branch,
            "base_branch": base_of(engine, item),
            "worktree": str(
                item.worktrees[0]
                if item.worktrees
                else engine.locations.worktree(item.project, sid)
            ),
            "agent_session_id": "",
            "issue": "",
        }
        created = _first_seen(item) or now
    if not facts["agent_session_id"]:
        found = agent_session_id_of(engine, item, facts["worktree"], facts["agent"])
        if found:
            guessed.append("agent_session_id")
        else:
            found = str(uuid.uuid4())
            guessed.append("agent_session_id (new)")
        facts["agent_session_id"] = found
    lifecycle = adopted_lifecycle(item)
    source = "its manifest" if manifest is not None else "what was left (no manifest)"
    state = ActivityState.UNKNOWN if lifecycle is Lifecycle.RUNNING else ActivityState.EXITED
    extra: dict[str, Any] = {
        "recovered": {"by": by, "at": now, "from": source, "guessed": guessed},
    }
    if lifecycle is Lifecycle.RUNNING:
        extra["started_at"] = now
    return Session(
        id=sid,
        project=facts["project"],
        agent=facts["agent"],
        title=facts["title"],
        prompt=facts["prompt"],
        branch=facts["branch"],
        worktree=facts["worktree"],
        tmux=f"ao-{sid}",
        lifecycle=lifecycle,
        activity=Activity(state, SignalSource.ENGINE, now, f"recovered by ao-tui {by}"),
        created_at=created,
        updated_at=now,
        agent_session_id=facts["agent_session_id"],
        pane_id=item.pane.pane_id if item.live and item.pane is not None else "",
        issue=facts["issue"],
        base_branch=facts["base_branch"],
        lifecycle_reason=f"recovered by ao-tui {by} from {source}",
        extra=extra,
        role=Role(manifest.role) if manifest is not None else Role.WORKER,
    )


def _pick_branch(item: Found) -> str:
    """The session's branch: the one its worktree has checked out, else the first found."""
    for path in item.worktrees:
        head = path / ".git"
        try:
            gitdir = head.read_text(encoding="utf-8").strip().removeprefix("gitdir: ")
            ref = (Path(gitdir) / "HEAD").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        name = ref.removeprefix("ref: refs/heads/")
        if name in item.branches:
            return name
    return sorted(item.branches)[0] if item.branches else ""


def _title_from_branch(sid: str, branch: str) -> str:
    slug = branch.removeprefix(f"ao/{sid}").strip("-")
    return slug.replace("-", " ") if slug else f"recovered {sid}"


def _first_seen(item: Found) -> float:
    times: list[float] = []
    for path in [*item.worktrees, *([item.state_dir] if item.state_dir else [])]:
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            continue
    return min(times) if times else 0.0


def agent_session_id_of(engine: Engine, item: Found, worktree: str, agent_name: str) -> str:
    """The agent's own session id: from the hook log, else from the agent's own records."""
    if item.state_dir is not None:
        found = _hook_log_session_id(item.state_dir / "hooks.jsonl")
        if found:
            return found
    try:
        agent = engine.agent(agent_name)
    except AoError:
        return ""  # not installed: nothing but its own files could tell
    if not isinstance(agent, ConversationLookup):
        return ""
    project = engine.config.projects.get(item.project)
    return agent.latest_conversation(Path(worktree), project.env if project else {})


def _hook_log_session_id(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _HOOK_TAIL))
            tail = fh.read()
    except OSError:
        return ""
    for line in reversed(tail.splitlines()):
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        value = record.get("session_id") if isinstance(record, dict) else None
        if isinstance(value, str) and _UUID.fullmatch(value):
            return value
    return ""
