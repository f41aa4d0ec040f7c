"""App-wide messages: what thread workers post back to the event loop.

Workers never touch widgets; they end by posting one of these, and the app's handlers
(on the event loop) update the screen. Widget-local messages live as nested classes on
their widget (e.g. ``Board.SelectionChanged``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from ao_tui.widgets.reaction_mark import ReactionsView
from core.engine import Engine
from core.errors import EngineError
from core.models import DeliveryResult, Session
from core.reactions.verbs import send_suggestion


@dataclass
class SessionsLoaded(Message):
    """A fresh read of every session from the store."""

    sessions: list[Session]
    now: float
    """The engine clock when they were read, for the "how long" column."""
    reactions: ReactionsView = field(default_factory=ReactionsView)
    """Whether reactions ran when they were read."""


@dataclass
class PaneCaptured(Message):
    """The selected session's pane, captured with its colours, changed."""

    session_id: str
    text: str

    def can_replace(self, message: Message) -> bool:
        """A newer capture of the same pane makes an older, unshown one moot."""
        return isinstance(message, PaneCaptured) and message.session_id == self.session_id


@dataclass
class PaneUnavailable(Message):
    """The selected session's pane could not be captured (gone, or tmux failed)."""

    session_id: str
    reason: str


@dataclass
class ActionDone(Message):
    """An engine action finished; ``summary`` is the toast text."""

    verb: str
    session_id: str
    summary: str
    severity: str = "information"


@dataclass
class Delivered(Message):
    """A message for an agent was sent (``result``) or refused before sending (None)."""

    result: DeliveryResult | None
    detail: str


def deliver(engine: Engine, session_id: str, text: str) -> Delivered:
    """Send ``text`` to the session's agent (blocking: call it in a thread worker)."""
    try:
        result, detail = engine.send(session_id, text)
    except EngineError as exc:
        return Delivered(None, str(exc))
    return Delivered(result, detail)


def deliver_suggestion(engine: Engine, session_id: str, text: str | None = None) -> Delivered:
    """Send the message suggest mode prepared, or ``text``, the operator's edit of it
    (blocking: call it in a thread worker); recorded as the reaction's send."""
    try:
        result, detail = send_suggestion(engine, session_id, text)
    except EngineError as exc:
        return Delivered(None, str(exc))
    return Delivered(result, detail)
