"""Domain values shared by the engine, the plugins and every front end.

Everything here is a frozen dataclass or an enum, so a value read from the store can be
handed to any thread or front end without copying.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Lifecycle(enum.StrEnum):
    """Where a session is in its life, as decided by the engine (not by the agent)."""

    SPAWNING = "spawning"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    KILLED = "killed"
    MERGED = "merged"
    DONE = "done"


ACTIVE_LIFECYCLES = frozenset({Lifecycle.SPAWNING, Lifecycle.RUNNING, Lifecycle.PAUSED})
"""Lifecycles in which a session still owns a live tmux session (or should)."""
ENDED_LIFECYCLES = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})
"""Lifecycles of a session whose task is over: no spawn counts it as a duplicate and no
review verb refreshes its PR."""


class ActivityState(enum.StrEnum):
    """What the agent inside a session is doing, as fused from its signals."""

    WORKING = "working"
    RETRYING = "retrying"
    """The agent is not progressing: its API calls fail and it retries them on its own."""
    WAITING_INPUT = "waiting_input"
    IDLE = "idle"
    ERROR = "error"
    EXITED = "exited"
    UNKNOWN = "unknown"


class SignalSource(enum.StrEnum):
    """Where an activity reading came from, strongest first (hooks are the most direct)."""

    HOOK = "hook"
    STATUS_FILE = "status_file"
    TRANSCRIPT = "transcript"
    PANE = "pane"
    RUNTIME = "runtime"
    ENGINE = "engine"
    NONE = "none"


class Zone(enum.StrEnum):
    """The attention zones of the board, in priority order; values are the labels shown."""

    NEEDS_YOU = "Needs you"
    READY_TO_MERGE = "Ready to merge"
    FIXING = "Fixing"
    IN_REVIEW = "In review"
    WORKING = "Working"
    DONE = "Done"


ZONE_ORDER: tuple[Zone, ...] = tuple(Zone)


@dataclass(frozen=True)
class Activity:
    """One fused activity reading: the state, the signal it came from, and why."""

    state: ActivityState
    source: SignalSource
    since: float
    """Epoch seconds when the session entered this state (not when it was last seen)."""
    detail: str = ""
    """Human-readable reason, e.g. ``Bash: rm -rf build`` for a pending permission prompt."""
    waiting_for: dict[str, Any] | None = None
    """For ``waiting_input``: what the agent waits for, e.g. ``{"kind": "permission",
    "tool": "Bash", "command": "rm -rf build"}``."""

    def to_json(self) -> dict[str, Any]:
        """The ``activity`` object of ``status --json``."""
        return {
            "state": self.state.value,
            "source": self.source.value,
            "since": self.since,
            "detail": self.detail,
            "waiting_for": self.waiting_for,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Activity:
        """Rebuild an activity stored by :meth:`to_json`."""
        return cls(
            state=ActivityState(data.get("state", "unknown")),
            source=SignalSource(data.get("source", "none")),
            since=float(data.get("since", 0.0)),
            detail=str(data.get("detail", "")),
            waiting_for=data.get("waiting_for"),
        )


UNKNOWN_ACTIVITY = Activity(ActivityState.UNKNOWN, SignalSource.NONE, 0.0)


@dataclass(frozen=True)
class ActivitySignal:
    """One reading from one source, before fusion.

    ``at`` is when the source says the thing happened (hook line time, file mtime,
    transcript timestamp, capture time), so fusion can prefer the newest strong evidence.
    """

    state: ActivityState
    source: SignalSource
    at: float
    detail: str = ""
    waiting_for: dict[str, Any] | None = None
    began: float | None = None
    """When, by the source's own records, the state it reports began, if before ``at``:
    tool call after tool call of one turn, or a permission request and the notification
    repeating it, are one state that began with the first of them."""


@dataclass(frozen=True)
class Session:
    """One agent session: one task, one worktree, one branch, one tmux session."""

    id: str
    project: str
    agent: str
    title: str
    prompt: str
    branch: str
    worktree: str
    tmux: str
    lifecycle: Lifecycle
    activity: Activity
    created_at: float
    updated_at: float
    attempt: int = 1
    agent_session_id: str = ""
    """The agent's own id for the conversation (e.g. the uuid it was launched with)."""
    pane_id: str = ""
    issue: str = ""
    base_branch: str = ""
    pr: dict[str, Any] | None = None
    lifecycle_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Plugin-owned facts that must survive a restart (e.g. the transcript path found)."""


@dataclass(frozen=True)
class Event:
    """One entry of the append-only event log."""

    seq: int
    ts: float
    session_id: str
    kind: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The NDJSON line of ``events --json``."""
        return {
            "seq": self.seq,
            "ts": self.ts,
            "session": self.session_id,
            "kind": self.kind,
            "data": self.data,
        }


class Delivery(enum.StrEnum):
    """What an agent's records say of a message just sent: arrived, waiting, or not yet."""

    DELIVERED = "delivered"
    """The agent received it (it shows in the agent's own record)."""
    QUEUED = "queued"
    """The agent holds it until its current work is done."""
    PENDING = "pending"
    """Nothing shows it yet."""


@dataclass(frozen=True)
class DeliveryMarker:
    """Where an agent's records of received messages ended just before a send, so that
    only what is written after counts as the receipt."""

    at: float = 0.0
    """When the marker was taken (epoch seconds)."""
    offsets: tuple[tuple[str, int], ...] = ()
    """``(path, size)`` of each record file the agent keeps (a log, a transcript)."""

    def offset(self, path: str | Path) -> int:
        """Where the file at ``path`` ended when the marker was taken (0 if it was unknown)."""
        wanted = str(path)
        return next((size for name, size in self.offsets if name == wanted), 0)


class DeliveryResult(enum.StrEnum):
    """What happened to a message sent into a session: received, waiting, or not."""

    DELIVERED = "delivered"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


@dataclass
class Turn:
    """One entry of an agent's conversation, as the cockpit's transcript tab shows it."""

    kind: str
    """``user``, ``assistant`` or ``tool``."""
    title: str
    body: str = ""
    tool_id: str = ""
    result: list[str] = field(default_factory=list)
