"""A notification as every notifier receives it, and how a notifier says it failed.

A notification is made from one event of the log (a reaction that escalated to the
operator, or notified them): its words are written once, here, so Slack, a phone and the
desktop all say the same thing. Text someone else wrote in it (a CI excerpt, a reason that
quotes a test name) is already inert; nothing in it is a secret (events are masked).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import AoError

Priority = Literal["urgent", "action", "warning", "info"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "action", "warning", "info")
"""Most pressing first."""


@dataclass(frozen=True)
class Notification:
    """One fact worth a person's attention."""

    id: str
    """Stable for the fact: the same event always gives the same id (``evt-<seq>``)."""
    type: str
    """What happened, in AO's event-type style: ``reaction.escalated``, ``reaction.notified``,
    ``notify.test``."""
    priority: Priority
    session_id: str
    """"" for a fact about no one session (all-complete, a test)."""
    project_id: str
    timestamp: float
    """When the fact was recorded (epoch seconds)."""
    title: str
    """One line that says what happened and to whom: ``app-7 needs you: CI still failing
    after 2 fixes (test_login_timeout)``."""
    detail: str = ""
    """More, on the following lines (may be empty)."""
    command: str = ""
    """The command that acts on it: ``ao-tui attach app-7``."""
    data: dict[str, Any] = field(default_factory=dict)
    """The event's own data (masked), for receivers that read it (the webhook's ``data``)."""

    def text(self) -> str:
        """The whole message as plain text: the title, the detail, then the command."""
        parts = [self.title]
        if self.detail:
            parts.append(self.detail)
        if self.command:
            parts.append(f"→ {self.command}")
        return "\n".join(parts)


class NotifierError(AoError):
    """A notifier could not deliver: whether to try again, and when.

    ``retry`` False fails the row at once (a 4xx other than 429: a bad URL or token will not
    get better by waiting), keeping the reason. ``retry_after`` is the receiver's own
    ``Retry-After`` in seconds, which the outbox honours over its back-off.
    The message must name no secret (no token, no webhook URL): it is stored and shown.
    """

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        """Say why, and whether waiting may help."""
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after
