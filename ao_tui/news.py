"""The "needs you" news: which sessions came to need the operator, told once per burst.

Every read of the sessions (a batch of changes, a full reload) is handed to
:meth:`NeedsYouNews.observe`. Sessions that arrived in Needs you since the last read are
gathered for :data:`NEWS_GATHER` seconds (one reconcile tick moving many sessions arrives
as several commits) and then told as one toast line, one bell and one OSC 9 notification.
The line is redrawn on every read, so a session answered meanwhile leaves it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.timer import Timer

from ao_tui.terminal_sink import rings_through_notifier
from ao_tui.widgets.pinned import is_pinned, needs_operator
from core.attention import needs_you_reason as attention_reason
from core.attention import restored_and_waiting
from core.models import Role, Session, Zone
from core.zones import zone_of

if TYPE_CHECKING:
    from ao_tui.app import CockpitApp

REASON_MAX = 72
"""Longest "why it needs you" text in a toast or notification."""
NEWS_GATHER = 0.25
"""Seconds without another arrival in Needs you before the arrivals so far are announced
(together: one reconcile tick moving many sessions is one piece of news)."""
NEWS_MAX_WAIT = 1.0
"""Longest an arrival waits for its announcement while more keep coming."""
NEWS_TIMEOUT = 8.0
"""Seconds the "needs you" line stays (less when every session on it is answered)."""


def needs_you(session: Session) -> bool:
    """Whether ``session`` is news when it arrives: a worker or reviewer in Needs you, or an
    orchestrator waiting on the operator (a prompt, an exit; not merely idle, as it mostly
    is: see :func:`ao_tui.widgets.pinned.needs_operator`)."""
    if session.role is Role.ORCHESTRATOR:
        return is_pinned(session) and needs_operator(session)
    return zone_of(session) is Zone.NEEDS_YOU


def needs_you_reason(session: Session, limit: int = REASON_MAX) -> str:
    """One short line saying why a session landed in Needs you (toasts must stay small
    at 80x24; the preview shows the whole story)."""
    reason = attention_reason(session)
    first = " ".join(reason.strip().splitlines()[0].split()) if reason.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


class NeedsYouNews:
    """The cockpit's news of arrivals in Needs you: gathered, told, kept true."""

    def __init__(self, app: CockpitApp) -> None:
        """Tell the news on ``app``'s toasts and terminal, about ``app.sessions``."""
        self.app = app
        self.needs_you: set[str] | None = None
        """Sessions in Needs you at the last read (None before the first read)."""
        self._news: list[str] = []
        """Sessions that came to need the operator, not yet announced."""
        self._news_timer: Timer | None = None
        self._news_since = 0.0
        self._news_line: list[str] = []
        """Sessions named on the "needs you" toast now shown, in order of arrival."""

    def observe(self, sessions: list[Session]) -> None:
        """The sessions were read: keep the line true, gather the new arrivals."""
        current = {s.id for s in sessions if needs_you(s)}
        previous, self.needs_you = self.needs_you, current
        # Whatever the toasts say must still be true of the sessions just read.
        self.app.toasts.prune()
        self._show_news_line()
        if previous is None:
            return  # the first read is the state we start from, not news
        # A restored agent back at its prompt is what the operator just asked for: shown in
        # Needs you, not announced.
        arrived = [
            s.id for s in sessions if s.id in current - previous and not restored_and_waiting(s)
        ]
        if not arrived:
            return
        # Changes are applied as each commit lands, so one reconcile tick moving many
        # sessions arrives in several pieces: gather them and tell them as one piece of news.
        self._news.extend(i for i in arrived if i not in self._news)
        now = time.monotonic()
        if self._news_timer is None:
            self._news_since = now
            self._news_timer = self.app.set_timer(NEWS_GATHER, self._tell_news, name="news")
        elif now - self._news_since < NEWS_MAX_WAIT:
            self._news_timer.reset()  # more is arriving: wait for the burst to end

    def _tell_news(self) -> None:
        """Toast, bell and OSC 9 for the sessions that came to need the operator."""
        app = self.app
        if self._news_timer is not None:
            self._news_timer.stop()
        self._news_timer = None
        ids, self._news = self._news, []
        waiting = self.needs_you or set()
        # One that left Needs you meanwhile no longer needs telling.
        arrived = [app.sessions[i] for i in ids if i in waiting and i in app.sessions]
        if not arrived:
            return
        # One line for all of it: the sessions still on the line shown, then the new ones.
        shown = self._news_line if app.toasts.text("needs-you") is not None else []
        self._news_line = [*shown, *(s.id for s in arrived if s.id not in shown)]
        self._show_news_line(fresh=True)
        # When the terminal notifier is routed and delivers here, it rings for the news that
        # needs a person (following notificationRouting); ringing here too would ring twice.
        if app.notify_bell and not rings_through_notifier(app):
            first = arrived[0]
            app.ring(f"ao-tui: {first.id} needs you: {needs_you_reason(first)}")

    def _show_news_line(self, *, fresh: bool = False) -> None:
        """The "needs you" toast for the sessions on it that still need the operator.

        Redrawn on every change: a session answered meanwhile leaves the line, and the
        line goes when none is left. Only ``fresh`` news starts its time again.
        """
        app = self.app
        waiting = self.needs_you or set()
        self._news_line = [i for i in self._news_line if i in waiting and i in app.sessions]
        if not self._news_line:
            app.toasts.withdraw("needs-you")
            return
        if not fresh and app.toasts.text("needs-you") is None:
            return  # timed out: nothing to keep true
        sessions = [app.sessions[i] for i in self._news_line]
        if len(sessions) == 1:
            title, message = f"{sessions[0].id} needs you", needs_you_reason(sessions[0])
        else:
            title = f"{len(sessions)} sessions need you"
            message = ", ".join(s.id for s in sessions)
        app.notify(
            message,
            title=title,
            severity="warning",
            timeout=NEWS_TIMEOUT,
            markup=False,  # the agent's command, not markup: "[x]" must show as written
            fact="needs-you",
            keep_age=not fresh,
        )
