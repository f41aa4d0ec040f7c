"""Domain values shared by the engine, the plugins and every front end.

Everything here is a frozen dataclass or an enum, so a value read from the store can be
handed to any thread or front end without copying.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args


class Lifecycle(enum.StrEnum):
    """Where a session is in its life, as decided by the engine (not by the agent)."""

    SPAWNING = "spawning"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    KILLED = "killed"
    MERGED = "merged"
    DONE = "done"


class Role(enum.StrEnum):
    """What a session is for: a task (a worker), the fleet (the orchestrator), or a review."""

    WORKER = "worker"
    """Works on one task; the board places it in a zone; it holds a slot of the cap."""
    ORCHESTRATOR = "orchestrator"
    """The project's own agent that spawns and watches the workers; pinned above the board."""
    REVIEWER = "reviewer"
    """Reviews one worker's head with read-only tools, then ends."""


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
class WaitingFor:
    """What an agent that waits for input asks the operator, as its signals tell it.

    Stored and printed as ``{"kind", "tool", "command"}``: in that order in a session's row
    and ``status --json``, with sorted keys in the event log (``events --json``).
    """

    kind: str
    """``permission`` (a tool call to approve), ``elicitation`` (an MCP server's question),
    ``confirm`` (a yes/no line on a plain terminal), or what an agent's status file names."""
    tool: str = ""
    """The tool asking, e.g. ``Bash``; "" when the source does not say."""
    command: str = ""
    """What is approved or asked: a command line, a file, the question's text; or ""."""

    def to_json(self) -> dict[str, str]:
        """The ``waiting_for`` object of ``status --json``, events and the store."""
        return {"kind": self.kind, "tool": self.tool, "command": self.command}

    @classmethod
    def from_json(cls, data: object) -> WaitingFor | None:
        """Rebuild a value written by :meth:`to_json`, as best it can.

        A stored row or event may hold anything (an older release, a hand-edited
        database): a non-object is None, a field that is not a string is "".
        """
        if not isinstance(data, dict):
            return None
        kind, tool, command = (data.get(key) for key in ("kind", "tool", "command"))
        return cls(*(value if isinstance(value, str) else "" for value in (kind, tool, command)))


NOTHING_ASKED = WaitingFor("")
"""Stands in for a missing ``waiting_for`` where only its fields are read: all of them ""."""


@dataclass(frozen=True)
class Activity:
    """One fused activity reading: the state, the signal it came from, and why."""

    state: ActivityState
    source: SignalSource
    since: float
    """Epoch seconds when the session entered this state (not when it was last seen)."""
    detail: str = ""
    """Human-readable reason, e.g. ``Bash: rm -rf build`` for a pending permission prompt."""
    waiting_for: WaitingFor | None = None
    """For ``waiting_input``: what the agent waits for, e.g. a permission for ``Bash``
    to run ``rm -rf build``."""

    def to_json(self) -> dict[str, Any]:
        """The ``activity`` object of ``status --json``."""
        return {
            "state": self.state.value,
            "source": self.source.value,
            "since": self.since,
            "detail": self.detail,
            "waiting_for": None if self.waiting_for is None else self.waiting_for.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Activity:
        """Rebuild an activity stored by :meth:`to_json`."""
        return cls(
            state=ActivityState(data.get("state", "unknown")),
            source=SignalSource(data.get("source", "none")),
            since=float(data.get("since", 0.0)),
            detail=str(data.get("detail", "")),
            waiting_for=WaitingFor.from_json(data.get("waiting_for")),
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
    waiting_for: WaitingFor | None = None
    began: float | None = None
    """When, by the source's own records, the state it reports began, if before ``at``:
    tool call after tool call of one turn, or a permission request and the notification
    repeating it, are one state that began with the first of them."""


CiState = Literal["passing", "failing", "running", "none"]
ReviewState = Literal["approved", "stale", "pending", "changes_requested"]
PRState = Literal[
    "open",
    "draft",
    "review_pending",
    "mergeable",
    "changes_requested",
    "ci_running",
    "ci_failed",
    "conflicts",
    "merged",
    "unknown",
]
"""The one state of a PR the board reads (core.scm.pr_state); ``unknown`` while the host
could not be asked and nothing was known before."""


@dataclass(frozen=True)
class ReviewThread:
    """One unresolved review thread on a PR: where it points, who started it, what it says."""

    path: str
    line: int | None
    author: str
    body: str
    url: str | None = None
    replies: int = 0
    """Comments after the first one."""
    bot: bool = False
    """The first comment is an app's or a bot account's, not a person's."""
    id: str = ""
    """The host's own id for the thread ("" when it gives none)."""

    @property
    def fingerprint(self) -> str:
        """A short hash naming this thread across refreshes (what was forwarded already).

        From the host's :attr:`id` when there is one: replies, edits and a push that moves
        the line leave it as it is. Without one, from the path, line, author and first
        comment: a reply leaves it, but editing that comment or moving the line changes it.
        """
        key = ["id", self.id] if self.id else [self.path, self.line, self.author, self.body]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """One entry of the ``threads`` list of a session's ``pr``."""
        return {
            "path": self.path,
            "line": self.line,
            "author": self.author,
            "body": self.body,
            "url": self.url,
            "replies": self.replies,
            "bot": self.bot,
            "id": self.id or None,
        }

    @classmethod
    def from_json(cls, data: object) -> ReviewThread:
        """A thread as :meth:`to_json` wrote it; ``ValueError`` naming the field if not."""
        fields = _object(data, "thread")
        return cls(
            path=_text(fields, "path", "thread.path"),
            line=_count(fields, "line", "thread.line"),
            author=_text(fields, "author", "thread.author"),
            body=_text(fields, "body", "thread.body"),
            url=_text_or_none(fields, "url", "thread.url"),
            replies=_count(fields, "replies", "thread.replies") or 0,
            bot=_flag(fields, "bot", "thread.bot"),
            id=_text(fields, "id", "thread.id"),
        )


@dataclass(frozen=True)
class SessionPR:
    """A session's PR as the store keeps it and every front end reads it.

    The facts of the last refresh and what they mean (state, blockers, notes), fixed when
    they were stored, so no reader recomputes them and an old row shows what it showed.
    Built by :meth:`core.scm.PRInfo.to_session_pr`; the reconciler writes a bare
    ``unknown`` one when the host could not be asked and nothing was known.
    """

    state: PRState
    number: int | None = None
    url: str | None = None
    ci: CiState = "none"
    review: ReviewState = "pending"
    mergeable: bool = False
    blockers: tuple[str, ...] = ()
    """Why a merge must not happen now, in the order to fix them."""
    notes: tuple[str, ...] = ()
    """Facts beside the blockers that do not stop a merge (and, once merged, what the
    merge did with the worktree)."""
    head_sha: str = ""
    base_sha: str = ""
    ahead: int | None = None
    """Commits ahead of the base; None when no refresh has counted them."""
    behind: int | None = None
    conflicts: tuple[str, ...] = ()
    threads: tuple[ReviewThread, ...] = ()
    """Unresolved review threads (hosts that have them)."""
    problem: str = ""
    """Why this may be out of date (the host failed on the last poll), or ""."""
    merged_sha: str | None = None
    """The base commit the merge made, once merged."""

    def as_merged(self, sha: str | None, notes: Sequence[str]) -> SessionPR:
        """This PR once landed as ``sha``: nothing blocks it any more, ``notes`` say what
        happened to the worktree."""
        return replace(
            self,
            state="merged",
            mergeable=False,
            blockers=(),
            notes=tuple(notes),
            merged_sha=sha,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``pr`` column of the store (the keys PRInfo has always written)."""
        data: dict[str, Any] = {
            "state": self.state,
            "number": self.number,
            "url": self.url,
            "ci": self.ci,
            "review": self.review,
            "mergeable": self.mergeable,
            "blockers": list(self.blockers),
            "notes": list(self.notes),
            "head_sha": self.head_sha,
            "base_sha": self.base_sha,
            "ahead": self.ahead,
            "behind": self.behind,
            "conflicts": list(self.conflicts),
            "threads": [thread.to_json() for thread in self.threads],
            "problem": self.problem or None,
        }
        if self.merged_sha is not None:
            data["merged_sha"] = self.merged_sha
        return data

    @classmethod
    def from_json(cls, data: object) -> SessionPR:
        """A stored ``pr``, from any version's row: keys it lacks take their defaults.

        Raises ``ValueError`` naming the first field that is not what it must be (the
        store reports the session as damaged, with the way to recover).
        """
        fields = _object(data, "pr")
        threads = fields.get("threads")
        if threads is None:
            threads = []
        if not isinstance(threads, list):
            raise ValueError(f"pr.threads: expected a list, got {_kind(threads)}")
        return cls(
            state=_choice(fields, "state", _PR_STATES, "unknown"),
            number=_count(fields, "number", "pr.number"),
            url=_text_or_none(fields, "url", "pr.url"),
            ci=_choice(fields, "ci", _CI_STATES, "none"),
            review=_choice(fields, "review", _REVIEW_STATES, "pending"),
            mergeable=_flag(fields, "mergeable"),
            blockers=_texts(fields, "blockers"),
            notes=_texts(fields, "notes"),
            head_sha=_text(fields, "head_sha", "pr.head_sha"),
            base_sha=_text(fields, "base_sha", "pr.base_sha"),
            ahead=_count(fields, "ahead", "pr.ahead"),
            behind=_count(fields, "behind", "pr.behind"),
            conflicts=_texts(fields, "conflicts"),
            threads=tuple(ReviewThread.from_json(thread) for thread in threads),
            problem=_text(fields, "problem", "pr.problem"),
            merged_sha=_text_or_none(fields, "merged_sha", "pr.merged_sha"),
        )


_PR_STATES: tuple[PRState, ...] = get_args(PRState)
_CI_STATES: tuple[CiState, ...] = get_args(CiState)
_REVIEW_STATES: tuple[ReviewState, ...] = get_args(ReviewState)
_Choice = TypeVar("_Choice", bound=str)

# Readers of stored JSON: a missing key (a row from an older version) takes the default, a
# key of the wrong kind is a ValueError that names it. null reads as missing.


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _object(data: object, name: str) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected an object, got {_kind(data)}")
    return data


def _text(fields: dict[str, object], key: str, name: str) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {_kind(value)}")
    return value


def _text_or_none(fields: dict[str, object], key: str, name: str) -> str | None:
    return _text(fields, key, name) if fields.get(key) is not None else None


def _count(fields: dict[str, object], key: str, name: str) -> int | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected a whole number, got {_kind(value)}")
    return value


def _flag(fields: dict[str, object], key: str, name: str = "") -> bool:
    value = fields.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name or 'pr.' + key}: expected true or false, got {_kind(value)}")
    return value


def _texts(fields: dict[str, object], key: str) -> tuple[str, ...]:
    value = fields.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"pr.{key}: expected a list of text, got {_kind(value)}")
    return tuple(value)


def _choice(
    fields: dict[str, object], key: str, allowed: tuple[_Choice, ...], default: _Choice
) -> _Choice:
    value = fields.get(key)
    if value is None:
        return default
    for choice in allowed:
        if value == choice:
            return choice
    raise ValueError(f"pr.{key}: {value!r} is not one of {', '.join(allowed)}")


ReactionStatus = Literal["acting", "escalated", "suggested"]


@dataclass(frozen=True)
class ReactionMark:
    """What the reaction engine is doing about a session, as its card and zone show it.

    The full history is in the reaction ledger and the event log; this is the one line
    every front end reads from the session's row.
    """

    key: str
    """The reaction key, e.g. ``ci-failed``."""
    status: ReactionStatus
    """``acting``: the agent was sent the facts and is on it; ``escalated``: the operator
    must decide (``reason`` says why); ``suggested``: a message waits for the operator's
    key (suggest mode)."""
    attempts: int = 0
    budget: int | None = None
    """Attempts allowed before escalating; None: bounded by time, not by count."""
    tier: int = 1
    """1: the agent; 2: the orchestrator session; 3: the operator."""
    reason: str = ""
    """In words, e.g. ``CI still failing after 2 fixes: test_login_timeout``."""
    since: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The ``reaction`` object of ``status --json`` and the store."""
        return {
            "key": self.key,
            "status": self.status,
            "attempts": self.attempts,
            "budget": self.budget,
            "tier": self.tier,
            "reason": self.reason,
            "since": self.since,
        }

    @classmethod
    def from_json(cls, data: object) -> ReactionMark | None:
        """A stored mark; None for anything that is not one (never raises on a bad row)."""
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            return None
        status = data.get("status")
        if status not in ("acting", "escalated", "suggested"):
            return None
        budget = data.get("budget")
        return cls(
            key=data["key"],
            status=status,
            attempts=_whole(data.get("attempts"), 0),
            budget=budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
            tier=_whole(data.get("tier"), 1),
            reason=str(data.get("reason") or ""),
            since=float(data["since"]) if isinstance(data.get("since"), int | float) else 0.0,
        )


def _whole(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


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
    pr: SessionPR | None = None
    lifecycle_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Plugin-owned facts that must survive a restart (e.g. the transcript path found)."""
    reaction: ReactionMark | None = None
    """The reaction at work on the session (or escalated to the operator), if any."""
    role: Role = Role.WORKER
    """What the session is for (:class:`Role`)."""


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
