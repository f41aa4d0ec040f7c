"""How a :class:`core.models.Session` is stored: its columns, how each field is encoded
(credentials masked, records as JSON), how a row is decoded, and which fields an update may
change. :class:`core.store.Store` writes and reads sessions through these."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict

from core.models import Activity, Lifecycle, ReactionMark, Role, Session, SessionPR
from core.redact import redact, redact_value
from core.store_sqlite import _decoded
from core.stored_pr import SQL_FUNCTION, pr_from_text, pr_text

_SESSION_COLUMNS = (
    "id, project, agent, title, prompt, branch, base_branch, worktree, tmux, pane_id, "
    "lifecycle, lifecycle_reason, activity, attempt, agent_session_id, issue, pr, extra, "
    "created_at, updated_at, reaction, role"
)

_GUARDED = {"pr": f"{SQL_FUNCTION}(pr)"}
"""Columns an expectation compares through a function rather than as stored text."""


class SessionChanges(TypedDict, total=False):
    """The fields :meth:`Store.update_session` may change, typed as on :class:`Session`
    (and what an expectation of :meth:`Store.update_session_if` may name)."""

    title: str
    prompt: str
    branch: str
    base_branch: str
    worktree: str
    tmux: str
    pane_id: str
    lifecycle: Lifecycle
    lifecycle_reason: str
    activity: Activity
    attempt: int
    agent_session_id: str
    issue: str
    pr: SessionPR | None
    extra: dict[str, Any]
    reaction: ReactionMark | None


_UPDATABLE = SessionChanges.__optional_keys__


def _encode(name: str, value: Any) -> Any:
    if name == "activity":
        assert isinstance(value, Activity)
        return json.dumps(redact_value(value.to_json()))
    if name == "pr":
        assert value is None or isinstance(value, SessionPR)
        return None if value is None else pr_text(value)
    if name == "extra":
        return None if value is None else json.dumps(redact_value(value), sort_keys=True)
    if name == "title":
        return redact(value)
    if name == "reaction":
        assert value is None or isinstance(value, ReactionMark)
        return None if value is None else json.dumps(redact_value(value.to_json()))
    if name == "lifecycle":
        return Lifecycle(value).value
    return value


def _session_row(s: Session) -> tuple[Any, ...]:
    return (
        s.id,
        s.project,
        s.agent,
        redact(s.title),
        s.prompt,  # kept verbatim: a fresh restart must hand the agent the task as given
        s.branch,
        s.base_branch,
        s.worktree,
        s.tmux,
        s.pane_id,
        s.lifecycle.value,
        s.lifecycle_reason,
        json.dumps(redact_value(s.activity.to_json())),
        s.attempt,
        s.agent_session_id,
        s.issue,
        None if s.pr is None else pr_text(s.pr),
        json.dumps(redact_value(s.extra), sort_keys=True),
        s.created_at,
        s.updated_at,
        None if s.reaction is None else json.dumps(redact_value(s.reaction.to_json())),
        s.role.value,
    )


@_decoded("session")
def _session_from_row(row: Sequence[Any]) -> Session:
    return Session(
        id=row[0],
        project=row[1],
        agent=row[2],
        title=row[3],
        prompt=row[4],
        branch=row[5],
        base_branch=row[6],
        worktree=row[7],
        tmux=row[8],
        pane_id=row[9],
        lifecycle=Lifecycle(row[10]),
        lifecycle_reason=row[11],
        activity=Activity.from_json(json.loads(row[12])),
        attempt=int(row[13]),
        agent_session_id=row[14],
        issue=row[15],
        pr=None if row[16] is None else pr_from_text(row[16]),
        extra=json.loads(row[17]),
        created_at=float(row[18]),
        updated_at=float(row[19]),
        reaction=None if row[20] is None else ReactionMark.from_json(json.loads(row[20])),
        role=Role(row[21]),
    )
