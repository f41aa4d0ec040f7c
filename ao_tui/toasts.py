"""Toasts that stay small and true: one line each, one per fact, gone when it is not.

At 80x24 a three-line toast stack covered the preview, where the command the operator is
about to approve is shown, and outlived what it said ("app-7 needs you" after app-7 was
answered). So every cockpit toast is one line (title and message joined, whitespace
flattened, cut with "…"), the main screen's toasts sit on the rule above the preview (see
:func:`toast_margin`), and a toast about a fact is posted under that fact's key:
a new toast for the same fact replaces the old one, and :meth:`FactToasts.prune` withdraws
every toast whose fact no longer holds each time the sessions change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len
from textual.markup import escape
from textual.notifications import Notification, SeverityLevel

TOAST_MAX = 120
"""Longest toast text in cells; CSS cuts it again to the width the screen has."""


def one_line(title: str, message: str, *, markup: bool = False, limit: int = TOAST_MAX) -> str:
    """``title: message`` on one line, cut with "…" to ``limit`` cells.

    With ``markup`` the message is content markup (Textual's own toasts): the title is
    escaped and nothing is cut here, since a cut could split a tag; CSS still cuts it.
    """
    flat = " ".join(message.split())
    head = " ".join(title.split())
    if markup:
        return f"{escape(head)}: {flat}" if head and flat else escape(head) or flat
    text = f"{head}: {flat}" if head and flat else head or flat
    if cell_len(text) <= limit:
        return text
    while cell_len(text) > limit - 1:
        text = text[:-1]
    return text.rstrip() + "…"


def toast_margin(screen_height: int, preview_top: int | None, footer: int = 1) -> int:
    """Lines between the screen's bottom and the toast stack's last line.

    With the preview showing, its first line (the rule above it) is where the stack ends:
    toasts then rise over the board, never over the preview's waiting text. Without it,
    the stack sits on the footer's top.
    """
    if preview_top is None or preview_top <= 0 or preview_top >= screen_height:
        return footer
    return screen_height - preview_top - 1


@dataclass
class _Shown:
    notification: Notification
    holds: Callable[[], bool] | None


class FactToasts:
    """The toasts posted about a fact, by fact key; ``post`` shows and ``withdraw`` hides."""

    def __init__(
        self, show: Callable[[Notification], None], hide: Callable[[Notification], None]
    ) -> None:
        """``show`` posts a notification, ``hide`` removes one already posted."""
        self._show = show
        self._hide = hide
        self._by_fact: dict[str, _Shown] = {}

    def post(
        self,
        fact: str,
        text: str,
        *,
        severity: SeverityLevel = "information",
        timeout: float = 5.0,
        holds: Callable[[], bool] | None = None,
        keep_age: bool = False,
    ) -> None:
        """Show ``text`` as the one toast about ``fact``, replacing the one before.

        ``holds`` says whether the fact is still true (checked by :meth:`prune`).
        ``keep_age``: the replacement expires when the one it replaces would have (an
        update of the same news, not new news).
        """
        before = self._by_fact.get(fact)
        live = before is not None and not before.notification.has_expired
        notification = Notification(text, "", severity, timeout, markup=False)
        if before is not None and live and keep_age:
            notification.raised_at = before.notification.raised_at
        if before is not None:
            if live and before.notification.message == text and keep_age:
                before.holds = holds
                return  # the same line: leave it where it is
            self._expire(before.notification)
        self._by_fact[fact] = _Shown(notification, holds)
        self._show(notification)

    def text(self, fact: str) -> str | None:
        """The text shown about ``fact`` now, None when no live toast is about it."""
        shown = self._by_fact.get(fact)
        if shown is None or shown.notification.has_expired:
            return None
        return shown.notification.message

    def withdraw(self, fact: str) -> None:
        """Remove the toast about ``fact``, if any."""
        shown = self._by_fact.pop(fact, None)
        if shown is not None:
            self._expire(shown.notification)

    def prune(self) -> None:
        """Withdraw every toast whose fact no longer holds; forget the expired ones."""
        for fact, shown in list(self._by_fact.items()):
            if shown.notification.has_expired:
                del self._by_fact[fact]
            elif shown.holds is not None and not shown.holds():
                self.withdraw(fact)

    def _expire(self, notification: Notification) -> None:
        # Expired at once, so a Notify still in the queue cannot show it after all.
        notification.timeout = 0
        self._hide(notification)
