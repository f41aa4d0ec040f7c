"""What each session id has left behind, gathered without judging it: worktree folders and
their registration, ``ao/<id>-<slug>`` branches, ``ao-<id>`` tmux sessions, state folders
and manifests (:class:`Found`), each kind in one listing. :mod:`core.inventory` judges
it against the database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import AoError
from core.locations import Locations
from core.manifest import Manifest, is_manifest_file, read_manifest
from core.naming import ID_TAIL
from core.slots import PaneInfo, RefWatch, SlotError, WorktreeInfo

if TYPE_CHECKING:
    from core.engine import Engine


BRANCH_PREFIX = "ao/"
TMUX_PREFIX = "ao-"
_ID = re.compile(rf"[a-z0-9][a-z0-9-]{{0,30}}-{ID_TAIL}")
_ANY_BRANCH = re.compile(rf"ao/([a-z0-9][a-z0-9-]{{0,30}}?-{ID_TAIL})(?:-[a-z0-9-]*)?")


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


def session_id_of_branch(branch: str, prefixes: Iterable[str] = ()) -> str | None:
    """The session id in ``ao/<id>-<slug>``, preferring the configured prefixes."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        match = re.fullmatch(rf"ao/({re.escape(prefix)}-{ID_TAIL})(?:-[a-z0-9-]*)?", branch)
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
    pattern = re.compile(rf"{re.escape(prefix)}-{ID_TAIL}")
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
        except SlotError as exc:
            problems.append(f"cannot read {repo}: {exc}")
            continue
        # Apart: a worktree git killed while adding it (a merge's scratch) can fail the whole
        # worktree listing, and taking the branches down with it would make every session's
        # branch look gone.
        registered: list[WorktreeInfo] | None
        try:
            registered = engine.workspace.list_worktrees(repo)
        except SlotError as exc:
            problems.append(f"cannot read {repo}: {exc}")
            registered = None
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
        if registered is None:
            continue  # unknown which worktrees are registered: none is called unregistered
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


def artifacts_stamp(engine: Engine) -> tuple[object, ...] | None:
    """What would change if an artifact appeared or went, read with ``stat`` alone (no
    process): the state and worktree folders, and each repository's branch refs and
    worktree registrations. None when a project's SCM does not say where its refs live:
    then only :func:`gather` can tell.

    Equal stamps mean :func:`gather` would find what it found before, save a tmux session
    started with nothing else (a spawn killed between its state folder and its record
    leaves the folder first), which callers catch by gathering anyway now and then.
    """
    stamps: list[object] = [engine.store.last_event_seq()]
    root = engine.locations.home / "worktrees"
    for folder in (engine.locations.sessions_root, root, *_dirs(root)):
        stamps.append(_mtime(folder))
    for project_id, project in engine.config.projects.items():
        try:
            scm = engine.scm(project_id)
        except AoError:
            return None
        if not isinstance(scm, RefWatch):
            return None
        for heads in scm.watch_paths(project.path):
            git_dir = heads.parent.parent
            stamps += [_mtime(git_dir / "packed-refs"), _mtime(git_dir / "worktrees")]
            stamps += [(str(path), _mtime(path)) for path in _tree(heads)]
    return tuple(stamps)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _tree(path: Path, depth: int = 32) -> list[Path]:
    """``path`` and every folder under it (branch names with a ``/`` are folders of refs);
    symlinks are not followed and the depth is bounded, so no tree can loop."""
    found = [path]
    if depth <= 0:
        return found
    try:
        children = [Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for child in sorted(children):
        found += _tree(child, depth - 1)
    return found
