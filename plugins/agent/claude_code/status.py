"""Claude Code's own status file: ``<config>/sessions/<pid>.json``.

Each interactive Claude process writes one, rewrites it whenever its state changes and
deletes it on exit. Fields seen in 2.1.x: ``pid``, ``sessionId``, ``cwd``, ``startedAt``
and ``updatedAt``/``statusUpdatedAt`` (epoch ms), ``procStart`` (field 22 of
``/proc/<pid>/stat``, the process start time, to tell a reused pid apart), ``status``
(``busy`` | ``idle`` | ``waiting`` | ``shell`` = idle with a background shell running) and
``waitingFor`` (``permission prompt``, ``worker request``, ``sandbox request``,
``dialog open``, ``input needed``). Undocumented: read tolerantly, use when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bounded_json import loads
from core.models import ActivitySignal, ActivityState, SignalSource, WaitingFor
from plugins.agent.claude_code.paths import status_dir


@dataclass(frozen=True)
class ClaudeStatus:
    """One status file, as read."""

    path: Path
    pid: int | None
    session_id: str
    cwd: str
    status: str
    waiting_for: str
    proc_start: str
    version: str
    updated_at: float
    """When the status last changed (``statusUpdatedAt``), else the file's mtime."""

    def signal(self) -> ActivitySignal | None:
        """The activity this status implies, or None for an unknown status value."""
        source = SignalSource.STATUS_FILE
        at = self.updated_at
        if self.status == "busy":
            return ActivitySignal(ActivityState.WORKING, source, at, "busy")
        if self.status == "idle":
            return ActivitySignal(ActivityState.IDLE, source, at, "idle")
        if self.status == "shell":
            return ActivitySignal(ActivityState.IDLE, source, at, "idle, background shell running")
        if self.status == "waiting":
            what = self.waiting_for or "input needed"
            kind = "permission" if "permission" in what else what.replace(" ", "_")
            waiting = WaitingFor(kind)
            return ActivitySignal(ActivityState.WAITING_INPUT, source, at, what, waiting)
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for ``inspect``."""
        return {
            "path": str(self.path),
            "pid": self.pid,
            "session_id": self.session_id,
            "cwd": self.cwd,
            "status": self.status,
            "waiting_for": self.waiting_for,
            "updated_at": self.updated_at,
            "version": self.version,
        }


def _str(data: dict[str, Any], key: str) -> str:
    """A string field, "" when absent or of another type."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


def read_status_file(path: Path) -> ClaudeStatus | None:
    """Parse a status file; None when missing, unreadable or not a JSON object."""
    try:
        mtime = path.stat().st_mtime
        data = loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    updated = data.get("statusUpdatedAt", data.get("updatedAt"))
    if isinstance(updated, int | float) and not isinstance(updated, bool) and updated > 0:
        updated_at = float(updated) / 1000.0
    else:
        updated_at = mtime
    pid = data.get("pid")
    proc_start = data.get("procStart")
    return ClaudeStatus(
        path=path,
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
        session_id=_str(data, "sessionId"),
        cwd=_str(data, "cwd"),
        status=_str(data, "status"),
        waiting_for=_str(data, "waitingFor"),
        proc_start=str(proc_start) if isinstance(proc_start, str | int) else "",
        version=_str(data, "version"),
        updated_at=updated_at,
    )


def process_start(pid: int) -> str | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks), as Claude records it."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split(" ")
    return fields[19] if len(fields) > 19 else None


def is_current(status: ClaudeStatus) -> bool:
    """False when the file's pid now belongs to another process (pid reuse after a crash).

    Only checkable where ``/proc`` exists; elsewhere the file is trusted.
    """
    if status.pid is None or not status.proc_start or not Path("/proc").is_dir():
        return True
    started = process_start(status.pid)
    return started is not None and started == status.proc_start


def find_status(
    config_dir: Path, session_uuid: str, pids: tuple[int, ...] = ()
) -> ClaudeStatus | None:
    """The live status file of ``session_uuid``: first ``<pid>.json`` for the given pids,
    then a scan of the (small) sessions dir; the ``sessionId`` must match either way."""
    root = status_dir(config_dir)
    tried: set[Path] = set()
    for pid in pids:
        path = root / f"{pid}.json"
        tried.add(path)
        status = read_status_file(path)
        if status is not None and status.session_id == session_uuid and is_current(status):
            return status
    try:
        paths = sorted(root.glob("*.json"))
    except OSError:
        return None
    for path in paths:
        if path in tried or not path.stem.isdigit():
            continue
        status = read_status_file(path)
        if status is not None and status.session_id == session_uuid and is_current(status):
            return status
    return None
