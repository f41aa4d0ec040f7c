"""The session manifest: ``sessions/<id>/session.json``, what a row needs, written first.

Spawn writes it before it creates anything else, so whatever a crash leaves behind (a
worktree, a branch, a running agent) can be matched to its task and adopted exactly, even
when the database lost the row. While an operation (spawn, kill, restore, merge) runs, the
manifest names it and the process doing it; a crash leaves that mark behind, so a half-done
operation is visible afterwards, and a live owner tells a running operation from a dead one.

The file is 0600 in the 0700 session folder and replaced atomically (temp file, fsync,
rename): a reader sees the old manifest or the new one, never half of one. Titles are
masked like the database masks them; the prompt is kept as given, as the database keeps it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from core.models import Role, Session
from core.owner import Owner as Owner  # re-exported: the manifest names its operation's owner
from core.redact import redact

MANIFEST_NAME = "session.json"
MANIFEST_VERSION = 1
MAX_MANIFEST_BYTES = 1_000_000
"""A manifest holds one prompt (at most 100 KB); anything far bigger is not ours."""

OPERATIONS = ("spawn", "kill", "restore", "merge")


@dataclass(frozen=True)
class Manifest:
    """One session's facts as spawn chose them, plus the operation running on it, if any."""

    id: str
    project: str
    agent: str
    title: str
    prompt: str
    branch: str
    base_branch: str
    worktree: str
    tmux: str
    agent_session_id: str
    issue: str
    created_at: float
    operation: str = ""
    """``spawn``, ``kill``, ``restore`` or ``merge`` while one runs (or was cut short)."""
    owner: Owner | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    """Facts an operation learnt on the way (a merge's landed commit) that finishing it needs."""
    role: str = Role.WORKER.value
    """What the session is for (:class:`core.models.Role`)."""

    @classmethod
    def of(cls, session: Session) -> Manifest:
        """The manifest of ``session`` with no operation running."""
        return cls(
            id=session.id,
            project=session.project,
            agent=session.agent,
            title=session.title,
            prompt=session.prompt,
            branch=session.branch,
            base_branch=session.base_branch,
            worktree=session.worktree,
            tmux=session.tmux,
            agent_session_id=session.agent_session_id,
            issue=session.issue,
            created_at=session.created_at,
            role=session.role.value,
        )

    def running(self, operation: str) -> Manifest:
        """This manifest marked with ``operation`` run by this process."""
        return replace(self, operation=operation, owner=Owner.current(), progress={})

    def settled(self) -> Manifest:
        """This manifest with no operation running."""
        return replace(self, operation="", owner=None, progress={})

    @property
    def interrupted(self) -> bool:
        """Whether an operation was marked and the process running it is gone."""
        return bool(self.operation) and (self.owner is None or not self.owner.alive())

    @property
    def in_progress(self) -> bool:
        """Whether an operation is marked and the process running it still runs."""
        return bool(self.operation) and self.owner is not None and self.owner.alive()

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        data = asdict(self)
        data["title"] = redact(self.title)
        data["version"] = MANIFEST_VERSION
        return data


def manifest_path(state_dir: Path) -> Path:
    """Where the manifest of the session whose folder is ``state_dir`` lives."""
    return state_dir / MANIFEST_NAME


def is_manifest_file(name: str) -> bool:
    """Whether ``name`` in a session folder is the manifest or one of its temp files."""
    temp = name.startswith(f".{MANIFEST_NAME}.") and name.endswith(".tmp")
    return name == MANIFEST_NAME or temp


def write_manifest(state_dir: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically; the folder is created (0700) if missing."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(manifest.to_json(), ensure_ascii=False, sort_keys=True).encode()
    import tempfile  # only when writing: it loads shutil and random (~5 ms)

    fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=f".{MANIFEST_NAME}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp makes it 0600
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(manifest_path(state_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    _fsync_dir(state_dir)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` survive a power cut (best effort: not every fs allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_manifest(state_dir: Path) -> Manifest | None:
    """The manifest in ``state_dir``; None when there is none or it cannot be read.

    A damaged manifest is not an error: recovery then works from the artifacts alone.
    """
    path = manifest_path(state_dir)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_MANIFEST_BYTES:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return _from_json(data)


def _from_json(data: Any) -> Manifest | None:
    if not isinstance(data, dict):
        return None
    text = (
        *("id", "project", "agent", "title", "prompt", "branch", "base_branch", "worktree"),
        *("tmux", "agent_session_id", "issue", "operation"),
    )
    values: dict[str, Any] = {}
    for name in text:
        value = data.get(name, "")
        if not isinstance(value, str):
            return None
        values[name] = value
    if not values["id"] or values["operation"] not in ("", *OPERATIONS):
        return None
    created = data.get("created_at", 0.0)
    if not isinstance(created, int | float) or isinstance(created, bool):
        return None
    owner = data.get("owner")
    parsed_owner: Owner | None = None
    if isinstance(owner, dict):
        pid, started = owner.get("pid"), owner.get("started", "")
        if isinstance(pid, int) and not isinstance(pid, bool) and isinstance(started, str):
            parsed_owner = Owner(pid, started)
    progress = data.get("progress")
    role = data.get("role", Role.WORKER.value)
    if role not in tuple(Role):
        return None
    return Manifest(
        **values,
        created_at=float(created),
        owner=parsed_owner,
        progress=progress if isinstance(progress, dict) else {},
        role=role,
    )


def abandon_operation(state_dir: Path) -> None:
    """Say that the operation marked in ``state_dir`` will not finish (its owner gave up).

    A failed spawn whose rollback could not remove everything calls this: the process may
    live on for hours (the cockpit), but what it left is an orphan to report now.
    """
    manifest = read_manifest(state_dir)
    if manifest is not None and manifest.operation:
        try:
            write_manifest(state_dir, replace(manifest, owner=None))
        except OSError:
            pass


@contextlib.contextmanager
def operation_mark(state_dir: Path, session: Session, operation: str) -> Iterator[OperationMark]:
    """Mark ``operation`` on ``session``'s manifest while the block runs.

    The mark is cleared when the block ends or raises an ordinary error (the engine has
    recorded the outcome then); only a crash, a kill or an interrupt leaves it behind.
    Writing the mark is best effort: an unwritable state folder must not stop a kill.
    """
    base = read_manifest(state_dir) or Manifest.of(session)
    mark = OperationMark(state_dir, base.running(operation))
    mark.write()
    try:
        yield mark
    except Exception:
        mark.clear()
        raise
    mark.clear()


class OperationMark:
    """A running operation's mark; :meth:`note` records what finishing it would need."""

    def __init__(self, state_dir: Path, manifest: Manifest) -> None:
        """Hold the marked manifest of one session folder."""
        self.state_dir = state_dir
        self.manifest = manifest

    def write(self) -> None:
        """Write the mark (errors ignored: see :func:`operation_mark`)."""
        try:
            write_manifest(self.state_dir, self.manifest)
        except OSError:
            pass

    def note(self, **progress: Any) -> None:
        """Add ``progress`` facts to the mark."""
        self.manifest = replace(self.manifest, progress={**self.manifest.progress, **progress})
        self.write()

    def clear(self) -> None:
        """The operation is over: drop the mark."""
        self.manifest = self.manifest.settled()
        self.write()
