"""Every ao-tui artifact that exists, grouped by session id, held against the database.

A session leaves up to five kinds of trace: its worktree (``worktrees/<project>/<id>``, and
its registration in the project repository), its branch (``ao/<id>-<slug>``), its tmux
session (``ao-<id>``), its state folder (``sessions/<id>/``) and, inside that, its manifest.
A crash between two steps of spawn, kill, restore or merge, or a database that was reset,
leaves traces no row owns (orphans), rows whose traces contradict their lifecycle
(dangling), or an operation's mark with nobody running it (interrupted). This module
finds them and says, for each, whether it holds work and what ``doctor --fix`` will do;
:mod:`core.recovery` does it.

What exists is gathered by :mod:`core.artifacts`, in one listing per kind: one
``list-panes`` for every tmux session, one ``for-each-ref`` and one ``worktree list`` per
repository, two directory listings. Git is asked more only about orphans (are there
changes, commits beyond the base).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.locations import Locations
from core.manifest import Manifest, read_manifest
from core.models import Lifecycle, Session
from core.naming import id_number
from core.slots import SlotError

if TYPE_CHECKING:
    from core.engine import Engine

from core.artifacts import Found, gather, local_ids

ORPHAN = "orphan"
"""Artifacts that no database row owns."""
INTERRUPTED = "interrupted"
"""An operation (spawn, kill, restore, merge) marked in a manifest whose process is gone."""
DANGLING = "dangling"
"""A row whose worktree, branch or tmux session contradicts its lifecycle."""

# What doctor --fix does about a finding (``Finding.action``).
ADOPT = "adopt"
CLEAN = "clean"
FINISH_KILL = "finish-kill"
FINISH_MERGE = "finish-merge"
SETTLE_RESTORE = "settle-restore"
MARK_KILLED = "mark-killed"
MARK_EXITED = "mark-exited"
MARK_RUNNING = "mark-running"
STOP_PANE = "stop-pane"
CLEAR_MARK = "clear-mark"
NONE = "none"
"""Nothing automatic: the finding says what a human should look at."""


@dataclass(frozen=True)
class Finding:
    """One thing ``doctor`` reports about one session id, and what ``--fix`` does about it."""

    session_id: str
    project: str
    kind: str
    """:data:`ORPHAN`, :data:`INTERRUPTED` or :data:`DANGLING`."""
    problem: str
    """What is wrong, on one line."""
    action: str
    """What ``doctor --fix`` does (:data:`ADOPT`, :data:`CLEAN`, ...; :data:`NONE`)."""
    fix: str
    """That action in words (or, for :data:`NONE`, what a human should do)."""
    holds_work: bool
    artifacts: tuple[str, ...] = ()
    stray: tuple[str, ...] = ()
    """For an orphan artifact of a session that has a row: which ones (branch names, paths)."""

    def to_json(self) -> dict[str, Any]:
        """The object ``status --orphans --json`` and ``doctor --json`` print."""
        return {
            "session": self.session_id,
            "project": self.project,
            "kind": self.kind,
            "problem": self.problem,
            "action": self.action,
            "fix": self.fix,
            "holds_work": self.holds_work,
            "artifacts": list(self.artifacts),
        }


@dataclass
class Inventory:
    """What exists, the rows, and what does not fit."""

    rows: dict[str, Session]
    found: dict[str, Found]
    findings: list[Finding]
    in_progress: dict[str, str]
    """Session ids with an operation running right now (by a live process), and which."""
    problems: list[str]
    """What could not be looked at (a repository git cannot read...), one line each."""


def take_inventory(engine: Engine, *, judge_work: bool = True) -> Inventory:
    """Everything that exists, the rows, and a finding for everything that does not fit.

    ``judge_work`` asks git whether orphans hold work (changes, commits beyond the base);
    without it, every orphan is taken to hold work (the cautious answer).
    """
    problems: list[str] = []
    rows = {s.id: s for s in engine.store.list_sessions()}
    found = gather(engine, problems)
    findings: list[Finding] = []
    in_progress: dict[str, str] = {}
    for sid in sorted(set(found) | set(rows), key=_id_order):
        item = found.get(sid) or Found(sid)
        manifest = item.manifest
        row = rows.get(sid)
        if _running(manifest, row is not None):
            assert manifest is not None
            in_progress[sid] = manifest.operation
            continue
        if row is None:
            if not item.empty:
                findings.append(_orphan(engine, item, judge_work))
            continue
        findings += _row_findings(engine, row, item, judge_work)
    return Inventory(rows, found, findings, in_progress, problems)


def _running(manifest: Manifest | None, has_row: bool) -> bool:
    """Whether a live process runs an operation on the session now. A spawn whose row is
    written is over, whatever its mark says (clearing the mark is its very last step)."""
    if manifest is None or not manifest.in_progress:
        return False
    return not (has_row and manifest.operation == "spawn")


def _id_order(sid: str) -> tuple[str, int]:
    return sid.rpartition("-")[0], id_number(sid)


def base_of(engine: Engine, item: Found, row: Session | None = None) -> str:
    """The branch a session forked from: its row's, its manifest's, else the project's."""
    if row is not None and row.base_branch:
        return row.base_branch
    if item.manifest is not None and item.manifest.base_branch:
        return item.manifest.base_branch
    project = engine.config.projects.get(item.project)
    if project is None:
        return "main"
    if project.default_branch:
        return project.default_branch
    try:
        return engine.workspace.default_branch(project.path)
    except SlotError:
        return "main"


def work_in(
    engine: Engine,
    item: Found,
    *,
    base: str,
    worktrees: Iterable[Path],
    branches: Iterable[str],
    with_pane: bool = True,
    with_state: bool = True,
) -> list[str]:
    """What in these artifacts is work that must not be lost, one phrase each ([] = none).

    What git cannot read counts as work: only what is known to be empty may be removed.
    """
    work: list[str] = []
    if with_pane and item.live and item.pane is not None:
        work.append(f"an agent runs in tmux session {item.pane.session_name}")
    project = engine.config.projects.get(item.project)
    for path in worktrees:
        if path in item.unregistered:
            if any(path.iterdir()):
                work.append(f"{path} is not a worktree git knows, and it is not empty")
            continue
        try:
            if engine.workspace.has_changes(path):
                work.append(f"uncommitted changes in {path}")
        except SlotError:
            work.append(f"git cannot read {path}")
    for branch in branches:
        if project is None:
            work.append(f"branch {branch} (its project is not in the config)")
            continue
        try:
            ahead = engine.workspace.commits_ahead(project.path, branch, base)
        except SlotError:
            work.append(f"branch {branch} (cannot compare it with {base})")
            continue
        if ahead:
            work.append(f"{ahead} commit(s) on {branch} beyond {base}")
    if with_state and item.logs:
        work.append(f"{', '.join(item.logs[:3])} in {item.state_dir}")
    return work


def adopted_lifecycle(item: Found) -> Lifecycle:
    """What an adopted session is: running with a live agent, exited with a worktree, else
    killed (``restore`` reopens the worktree from the branch)."""
    if item.live:
        return Lifecycle.RUNNING
    if item.worktrees:
        return Lifecycle.EXITED
    return Lifecycle.KILLED


def _orphan(engine: Engine, item: Found, judge_work: bool) -> Finding:
    parts = tuple(item.describe())
    spawn_cut = item.manifest is not None and item.manifest.operation == "spawn"
    kind = INTERRUPTED if spawn_cut else ORPHAN
    where = "spawn was cut short" if spawn_cut else "no database row"
    problem = f"{where}: {', '.join(parts)}"
    if item.project not in engine.config.projects:
        return Finding(
            item.session_id,
            item.project,
            kind,
            problem,
            NONE,
            f"project {item.project or '?'} is not in the config: add it back, then run "
            "`ao-tui doctor --fix`",
            True,
            parts,
        )
    if judge_work:
        work = work_in(
            engine,
            item,
            base=base_of(engine, item),
            worktrees=item.worktrees,
            branches=item.branches,
        )
    else:
        work = ["not checked"]
    if work:
        lifecycle = adopted_lifecycle(item)
        fix = (
            f"adopt it as a {lifecycle.value} session ({'; '.join(work)}); "
            f"`ao-tui restore {item.session_id}` or `kill` work on it afterwards"
        )
        return Finding(item.session_id, item.project, kind, problem, ADOPT, fix, True, parts)
    fix = "remove it all: " + "; ".join(_cleanup_words(item))
    return Finding(item.session_id, item.project, kind, problem, CLEAN, fix, False, parts)


def _cleanup_words(item: Found) -> list[str]:
    words: list[str] = []
    if item.pane is not None:
        words.append(f"tmux session {item.pane.session_name} (its agent has exited)")
    words += [f"worktree {path} (no changes)" for path in item.worktrees]
    words += [f"branch {name} (no commits beyond its base)" for name in item.branches]
    if item.state_dir is not None:
        words.append(f"state folder {item.state_dir} (only ao-tui's own files)")
    return words


def _row_findings(engine: Engine, row: Session, item: Found, judge_work: bool) -> list[Finding]:
    project = engine.config.projects.get(row.project)
    if project is None:
        return []  # its repository is unknown: nothing can be compared
    findings = [_stray(engine, row, item, judge_work)]
    manifest = item.manifest
    if manifest is not None and manifest.interrupted and manifest.operation != "spawn":
        findings.append(_interrupted(row, item, manifest))
    else:
        findings.append(_dangling(row, item))
    return [f for f in findings if f is not None]


def _interrupted(row: Session, item: Found, manifest: Manifest) -> Finding:
    op = manifest.operation
    sid = row.id
    state = _state_words(row, item)
    parts = tuple(item.describe())

    def finding(action: str, problem: str, fix: str) -> Finding:
        return Finding(sid, row.project, INTERRUPTED, problem, action, fix, True, parts)

    if op == "kill":
        if row.lifecycle is Lifecycle.KILLED:
            return finding(CLEAR_MARK, f"kill finished but left its mark ({state})", "clear it")
        return finding(
            FINISH_KILL,
            f"kill stopped half-way ({state})",
            "finish the kill: uncommitted work is saved as a WIP commit, then the worktree "
            "removed; the branch stays",
        )
    if op == "merge":
        sha = str(manifest.progress.get("merged_sha") or "")
        if row.lifecycle is Lifecycle.MERGED:
            return finding(CLEAR_MARK, f"merge finished but left its mark ({state})", "clear it")
        if sha:
            return finding(
                FINISH_MERGE,
                f"merge landed as {sha[:10]} but was not recorded ({state})",
                "finish it: stop the agent, save uncommitted work on the branch, remove "
                "the worktree, record the merge",
            )
        return finding(
            CLEAR_MARK,
            f"merge stopped before it landed or before ao-tui noted it ({state})",
            f"clear the mark; run `ao-tui merge {sid}` again (it says if nothing is left)",
        )
    return finding(
        SETTLE_RESTORE,
        f"restore stopped half-way ({state})",
        "record what is there: running if the agent runs, else exited with its worktree",
    )


def _state_words(row: Session, item: Found) -> str:
    worktree = Path(row.worktree)
    agent = "agent running" if item.live else "no agent"
    tree = "worktree present" if worktree.exists() else "worktree gone"
    return f"row says {row.lifecycle.value}; {agent}, {tree}"


def _dangling(row: Session, item: Found) -> Finding | None:
    worktree = Path(row.worktree).exists()
    branch = row.branch in item.branches
    parts = tuple(item.describe())
    sid = row.id
    state = _state_words(row, item)

    def finding(action: str, problem: str, fix: str, work: bool = True) -> Finding:
        return Finding(sid, row.project, DANGLING, problem, action, fix, work, parts)

    life = row.lifecycle
    if life in (Lifecycle.RUNNING, Lifecycle.PAUSED, Lifecycle.EXITED, Lifecycle.SPAWNING):
        if worktree:
            if not branch:
                return finding(
                    NONE,
                    f"branch {row.branch} is gone ({state})",
                    f"look at {row.worktree} and commit what matters on a new branch",
                )
            return None
        if item.live:
            return finding(
                FINISH_KILL,
                f"the agent runs in a removed worktree ({state})",
                "stop it and record the session as killed (the branch stays)",
            )
        if branch:
            return finding(
                MARK_KILLED,
                f"worktree {row.worktree} is gone ({state})",
                f"record it as killed; `ao-tui restore {sid}` reopens it from {row.branch}",
                False,
            )
        return finding(
            MARK_KILLED,
            f"points at nothing: worktree and branch {row.branch} are gone ({state})",
            "record it as killed (nothing is left to restore)",
            False,
        )
    if life is Lifecycle.KILLED:
        if item.live:
            return finding(
                MARK_RUNNING,
                f"an agent runs although the session is recorded as killed ({state})",
                "record it as running (a restore that stopped before it was recorded)",
            )
        if item.pane is not None:
            return finding(STOP_PANE, f"a dead tmux session is left ({state})", "remove it", False)
        if worktree:
            return finding(
                MARK_EXITED,
                f"its worktree is back although the session is recorded as killed ({state})",
                f"record it as exited; `ao-tui restore {sid}` starts the agent again",
            )
        return None
    if life in (Lifecycle.MERGED, Lifecycle.DONE) and (item.pane is not None or worktree):
        return finding(
            FINISH_MERGE,
            f"merged, but its agent or worktree is still there ({state})",
            "stop the agent, save uncommitted work on the branch, remove the worktree",
        )
    return None


def _stray(engine: Engine, row: Session, item: Found, judge_work: bool) -> Finding | None:
    """Branches and worktree folders carrying the row's id that the row does not name."""
    branches = [b for b in item.branches if b != row.branch]
    own = Path(row.worktree).absolute()
    worktrees = [p for p in item.worktrees if p.absolute() != own]
    if not (branches or worktrees):
        return None
    stray = (*branches, *(str(p) for p in worktrees))
    problem = f"not named by its row: {', '.join(stray)}"
    if judge_work:
        work = work_in(
            engine,
            item,
            base=base_of(engine, item, row),
            worktrees=worktrees,
            branches=branches,
            with_pane=False,
            with_state=False,
        )
    else:
        work = ["not checked"]
    if work:
        fix = f"left alone: {'; '.join(work)}; move what matters to {row.branch} by hand"
        return Finding(row.id, row.project, ORPHAN, problem, NONE, fix, True, stray, stray)
    fix = "remove them (no changes, no commits beyond the base)"
    return Finding(row.id, row.project, ORPHAN, problem, CLEAN, fix, False, stray, stray)


def local_findings(locations: Locations, rows: Iterable[Session]) -> list[str]:
    """Session ids with orphan folders or interrupted marks, from the state dir alone.

    For ``status`` while a daemon owns the engine: no config, no git, no tmux. What only
    git or tmux can show (a branch or an agent with nothing else) waits for ``doctor``.
    """
    known = {row.id: row for row in rows}
    flagged: list[str] = []
    for sid in sorted(local_ids(locations), key=_id_order):
        manifest = read_manifest(locations.session_dir(sid))
        if _running(manifest, sid in known):
            continue
        cut = manifest is not None and manifest.interrupted and manifest.operation != "spawn"
        if sid not in known or cut:
            flagged.append(sid)
    return flagged
