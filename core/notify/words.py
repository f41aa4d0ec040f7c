"""Which events need a person, and the words they are told in: made here, once.

Two kinds of ``reaction`` event reach a person (see :mod:`core.reactions.reactor`):

- ``escalated``: tier 3, the operator must decide. Always ``urgent``.
- ``notified``: a reaction whose action is to tell; its rule's ``priority`` says how
  pressing. One with no priority (the SCM host not answering) is a ``warning``.

Every message says what happened and what the person can do, the title first
(``app-7 needs you: CI still failing after 2 fixes (test_login_timeout)``), then the
detail, then the command that acts on it. The reason quotes text others wrote (a test
name, a host's reply): it is made inert and masked before it is put in a message.
"""

from __future__ import annotations

import re
from typing import Any

from core.inert import inert
from core.models import Event, Session
from core.notify.model import PRIORITIES, Notification, Priority
from core.redact import redact, redact_value

TITLE_LIMIT = 200
"""Longest title, in characters: a phone shows one line."""
DETAIL_LIMIT = 2000
"""Longest detail: a notification is a pointer, not the log."""


def notification_of(event: Event, session: Session | None) -> Notification | None:
    """The notification ``event`` calls for, or None when it needs no person.

    ``session`` is the event's session as stored now (None: gone); it gives the project
    and the task's title.
    """
    if event.kind != "reaction":
        return None
    outcome = event.data.get("outcome")
    if outcome not in ("escalated", "notified"):
        return None
    key = str(event.data.get("key", ""))
    reason = _clean(str(event.data.get("reason", "")) or _label(key), one_line=True)
    who = event.session_id
    priority: Priority
    if outcome == "escalated":
        priority = "urgent"
        title = f"{who} needs you: {reason}"
        command = f"ao-tui attach {who}"
    else:
        given = event.data.get("priority")
        priority = given if given in PRIORITIES else "warning"
        title = f"{who}: {reason}"
        command = _command_for(key, who)
    detail_lines = []
    if session is not None:
        detail_lines.append(f"task: {_clean(session.title, one_line=True)}")
        if session.pr is not None and session.pr.url:
            detail_lines.append(f"PR: {_clean(session.pr.url, one_line=True)}")
    attempts = event.data.get("attempt")
    if isinstance(attempts, int) and attempts > 0:
        detail_lines.append(f"reaction: {key}, {attempts} attempt{'s' if attempts != 1 else ''}")
    elif key:
        detail_lines.append(f"reaction: {key}")
    return Notification(
        id=f"evt-{event.seq}",
        type=f"reaction.{outcome}",
        priority=priority,
        session_id=who,
        project_id=session.project if session is not None else "",
        timestamp=event.ts,
        title=_cut(title, TITLE_LIMIT),
        detail=_cut("\n".join(detail_lines), DETAIL_LIMIT),
        command=command,
        data=_masked(event.data),
    )


def fact_of(notification: Notification) -> str:
    """What makes two notifications "the same fact" for the dedupe window: the kind, the
    reaction key and the title with its numbers blurred (``stuck for 10m`` and ``stuck for
    12m`` are one fact; another session's or another key's are not)."""
    key = str(notification.data.get("key", ""))
    said = notification.title.removeprefix(notification.session_id)
    blurred = re.sub(r"\d+", "#", said)
    return f"{notification.session_id}|{notification.type}|{key}|{blurred}"[:400]


def trial_notification(name: str, now: float) -> Notification:
    """The message ``ao-tui notify test`` sends through the notifier ``name``."""
    return Notification(
        id=f"test-{int(now * 1000):x}",
        type="notify.test",
        priority="info",
        session_id="",
        project_id="",
        timestamp=now,
        title=f"ao-tui test: notifier {name} reaches you",
        detail="Nothing needs you; this checks the channel. Escalations arrive like this.",
        command="ao-tui notify outbox",
    )


def digest_notification(
    members: list[Notification], *, notifier: str, now: float, first_id: int
) -> Notification:
    """One message that carries ``members`` (oldest first): the digest of a period."""
    count = len(members)
    ranks = [PRIORITIES.index(m.priority) for m in members]
    priority = PRIORITIES[min(ranks)] if ranks else "info"
    sessions = sorted({m.session_id for m in members if m.session_id})
    whom = f" ({', '.join(sessions[:5])}{', …' if len(sessions) > 5 else ''})" if sessions else ""
    lines = [f"- {m.title}" for m in members[:20]]
    if count > 20:
        lines.append(f"- and {count - 20} more: ao-tui notify outbox")
    return Notification(
        id=f"digest-{first_id}",
        type="notify.digest",
        priority=priority,
        session_id="",
        project_id="",
        timestamp=now,
        title=_cut(f"ao-tui digest: {count} notification{'s' if count != 1 else ''}{whom}", 200),
        detail=_cut("\n".join(lines), DETAIL_LIMIT),
        command="ao-tui status",
        data={"count": count, "notifier": notifier, "ids": [m.id for m in members]},
    )


def _command_for(key: str, session_id: str) -> str:
    if key == "all-complete":
        return "ao-tui status"
    if key == "approved-and-green":
        return f"ao-tui merge {session_id}"
    return f"ao-tui attach {session_id}"


def _label(key: str) -> str:
    return key.replace("-", " ") or "something changed"


def _clean(text: str, *, one_line: bool = False) -> str:
    return redact(inert(text, one_line=one_line))


def _masked(data: dict[str, Any]) -> dict[str, Any]:
    masked = redact_value(data)
    return masked if isinstance(masked, dict) else {}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
