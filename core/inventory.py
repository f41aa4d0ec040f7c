"""Every ao-tui artifact that exists, grouped by session id, held against the database.

A session leaves up to five kinds of trace: its worktree (``worktrees/<project>/<id>``, and
its registration in the project repository), its branch (``ao/<id>-<slug>``), its tmux
session (``ao-<id>``), its state folder (``sessions/<id>/``) and, inside that, its manifest.
A crash between two steps of spawn, kill, restore or merge, or a database that was reset,
leaves traces no row owns (orphans), rows whose traces contradict their lifecycle
(dangling), or an operation's mark with nobody running it (interrupted). This module
finds them and says, for each, whether it holds work and what ``doctor --fix`` will do;
:mod:`core.recovery` does it.

Everything is read through the runtime and workspace slots, in one listing per kind: one
``list-panes`` for every tmux session, one ``for-each-ref`` and one ``worktree list`` per
repository, two directory listings. Git is asked more only about orphans (are there
changes, commits beyond the base).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.locations import Locations
from core.manifest import Manifest, is_manifest_file, read_manifest
from core.models import Lifecycle, Session
from core.slots import PaneInfo, SlotError

if TYPE_CHECKING:
    from core.engine import Engine

BRANCH_PREFIX = "ao/"
TMUX_PREFIX = "ao-"
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,30}-[0-9]{1,9}")
_ANY_BRANCH = re.compile(r"ao/([a-z0-9][a-z0-9-]{0,30}?-[0-9]{1,9})(?:-[a-z0-9-]*)?")

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

REGENERABLE_PREFIXES = ("launch-",)
"""State-folder files ao-tui writes for itself and can do without (launch plans)."""


def is_own_file(name: str) -> bool:
    """Whether a state-folder file is ao-tui's own bookkeeping (no record of work)."""
    return is_manifest_file(name) or (
        name.startswith(REGENERABLE_PREFIXES) and name.endswith(".json")
    )


@dataclass
class Found:
    """Every artifact that carries one session id."""

    session_id: str
    project: str = ""
    worktrees: list[Path] = field(default_factory=list)
    unregistered: set[Path] = field(default_factory=set)
    """Worktree folders git does not know as worktrees of the project repository."""
    branches: dict[str, str] = field(default_factory=dict)
    """Branch name to commit, in the project repository."""
    pane: PaneInfo | None = None
    state_dir: Path | None = None
    state_files: list[str] = field(default_factory=list)
    manifest: Manifest | None = None

    @property
    def empty(self) -> bool:
        """Whether nothing at all was found."""
        return not (self.worktrees or self.branches or self.pane or self.state_dir)

    @property
    def live(self) -> bool:
        """Whether an agent runs in the tmux session."""
        return self.pane is not None and not self.pane.dead

    @property
    def logs(self) -> list[str]:
        """State-folder files that record what the agent did (hook log, CI logs...)."""
        return [name for name in self.state_files if not is_own_file(name)]

    def describe(self) -> list[str]:
        """One short phrase per artifact."""
        parts = [f"worktree {path}" for path in self.worktrees]
        parts += [f"branch {name}" for name in self.branches]
        if self.pane is not None:
            state = "agent running" if self.live else "agent exited"
            parts.append(f"tmux session {self.pane.session_name} ({state})")
        if self.state_dir is not None:
            parts.append(f"state folder {self.state_dir}")
        return parts


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


def session_id_of_branch(branch: str, prefixes: Iterable[str] = ()) -> str | None:
    """The session id in ``ao/<id>-<slug>``, preferring the configured prefixes."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        match = re.fullmatch(rf"ao/({re.escape(prefix)}-[0-9]{{1,9}})(?:-[a-z0-9-]*)?", branch)
        if match:
            return match[1]
    match = _ANY_BRANCH.fullmatch(branch)
    return match[1] if match else None


def local_ids(locations: Locations) -> dict[str, tuple[str, Path]]:
    """Session ids that have a state folder or a worktree folder, without asking git or tmux.

    Maps each id to ``(project, path)`` of what was seen (project "" for a state folder).
    """
    seen: dict[str, tuple[str, Path]] = {}
    root = locations.home / "worktrees"
    for project_dir in _dirs(root):
        for path in _dirs(project_dir):
            if _ID.fullmatch(path.name):
                seen.setdefault(path.name, (project_dir.name, path))
    for path in _dirs(locations.sessions_root):
        if _ID.fullmatch(path.name):
            seen.setdefault(path.name, ("", path))
    return seen


def ids_in_use(engine: Engine, prefix: str) -> set[str]:
    """Ids ``<prefix>-<n>`` carried by any worktree, branch, tmux session or state folder.

    Spawn skips these: reusing one would mix two sessions' files, and rolling back a
    failed spawn could then delete the other session's.
    """
    pattern = re.compile(rf"{re.escape(prefix)}-[0-9]{{1,9}}")
    used = {sid for sid in local_ids(engine.locations) if pattern.fullmatch(sid)}
    for name in engine.runtime.list_panes():
        sid = name.removeprefix(TMUX_PREFIX)
        if name.startswith(TMUX_PREFIX) and pattern.fullmatch(sid):
            used.add(sid)
    repos = {p.path for p in engine.config.projects.values() if p.session_prefix == prefix}
    for repo in repos:
        for branch in engine.workspace.list_branches(repo, f"{BRANCH_PREFIX}{prefix}-"):
            branch_id = session_id_of_branch(branch, [prefix])
            if branch_id is not None and pattern.fullmatch(branch_id):
                used.add(branch_id)
    return used


def gather(engine: Engine, problems: list[str]) -> dict[str, Found]:
    """Every artifact, grouped by session id (ids with nothing found are left out)."""
    found: dict[str, Found] = {}
    locations = engine.locations
    for project_dir in _dirs(locations.home / "worktrees"):
        for path in _dirs(project_dir):
            if _ID.fullmatch(path.name):
                item = found.setdefault(path.name, Found(path.name))
                item.worktrees.append(path)
                item.project = item.project or project_dir.name
    for path in _dirs(locations.sessions_root):
        if not _ID.fullmatch(path.name):
            continue
        item = found.setdefault(path.name, Found(path.name))
        item.state_dir = path
        try:
            item.state_files = sorted(child.name for child in path.iterdir())
        except OSError as exc:
            problems.append(f"cannot list {path}: {exc.strerror or exc}")
        item.manifest = read_manifest(path)
        if item.manifest is not None and item.manifest.project:
            item.project = item.manifest.project
    try:
        panes = engine.runtime.list_panes()
    except SlotError as exc:
        problems.append(f"cannot list tmux sessions: {exc}")
        panes = {}
    for name, pane in panes.items():
        sid = name.removeprefix(TMUX_PREFIX)
        if name.startswith(TMUX_PREFIX) and _ID.fullmatch(sid):
            found.setdefault(sid, Found(sid)).pane = pane
    _gather_git(engine, found, problems)
    # A state folder or tmux session alone names no project: the id's prefix does.
    by_prefix: dict[str, str] = {}
    for pid, project in engine.config.projects.items():
        by_prefix.setdefault(project.session_prefix, pid)
    for sid, item in found.items():
        if not item.project:
            item.project = by_prefix.get(sid.rpartition("-")[0], "")
    return found


def _gather_git(engine: Engine, found: dict[str, Found], problems: list[str]) -> None:
    """Branches and worktree registrations, one listing each per repository."""
    by_repo: dict[Path, list[tuple[str, str]]] = {}
    for pid, project in engine.config.projects.items():
        by_repo.setdefault(project.path, []).append((pid, project.session_prefix))
    root = engine.locations.home / "worktrees"
    for repo, owners in by_repo.items():
        prefixes = {prefix: pid for pid, prefix in owners}
        try:
            branches = engine.workspace.list_branches(repo, BRANCH_PREFIX)
            registered = engine.workspace.list_worktrees(repo)
        except SlotError as exc:
            problems.append(f"cannot read {repo}: {exc}")
            continue
        for branch, sha in branches.items():
            sid = session_id_of_branch(branch, prefixes)
            if sid is None:
                continue
            item = found.setdefault(sid, Found(sid))
            item.branches[branch] = sha
            if not item.project:
                item.project = next(
                    (pid for prefix, pid in prefixes.items() if sid.startswith(prefix + "-")),
                    owners[0][0],
                )
        known = {_real(info.path) for info in registered if not info.prunable}
        mine = {pid for pid, _ in owners}
        for item in found.values():
            if item.project not in mine:
                continue
            for path in item.worktrees:
                if _real(path) not in known and path.is_relative_to(root):
                    item.unregistered.add(path)


def _real(path: Path) -> Path:
    """``path`` with symlinks resolved (git may record either spelling)."""
    try:
        return path.resolve()
    except OSError:
        return path.absolute()


def _dirs(path: Path) -> list[Path]:
    try:
        return sorted(child for child in path.iterdir() if child.is_dir())
    except OSError:
        return []


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
    prefix, _, number = sid.rpartition("-")
    return prefix, int(number) if number.isdigit() else 0


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
