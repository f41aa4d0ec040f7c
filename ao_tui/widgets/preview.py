"""The live preview: the selected session's pane, what it waits for when it waits, and the
reaction at work on it.

For a permission prompt the tool and the exact command come from
``activity.waiting_for``, shown in full (wrapped), since that command is what the
operator is about to approve.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ao_tui.widgets.card import CardPalette, glyph, pr_badge, state_word, tokens
from ao_tui.widgets.pane_view import PaneView
from ao_tui.widgets.reaction_mark import preview_text
from core.attention import needs_you_reason, pr_trouble, restored_and_waiting, someone_is_fixing
from core.humanize import age
from core.models import NOTHING_ASKED, ActivityState, Lifecycle, Session

_CLOSED = (Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE)


def waiting_text(session: Session, palette: CardPalette, answer_hint: str) -> Text | None:
    """What the session waits on, or None when it does not need the operator."""
    activity = session.activity
    if session.lifecycle is Lifecycle.EXITED or activity.state is ActivityState.EXITED:
        reason = session.lifecycle_reason or activity.detail or "the agent exited"
        return Text(f"Exited: {reason}", style=f"bold {palette.error}")
    if activity.state is ActivityState.WAITING_INPUT:
        waiting = activity.waiting_for or NOTHING_ASKED
        kind = waiting.kind or "input"
        text = Text(f"Waiting for {kind}", style=f"bold {palette.waiting}")
        tool = waiting.tool
        command = waiting.command
        if tool:
            text.append(f": {tool}", style="bold")
        if command:
            text.append("\n")
            text.append(command, style="bold")
        elif activity.detail:
            text.append(f"\n{activity.detail}")
        if answer_hint:
            text.append(f"\n{answer_hint}", style=palette.muted)
        return text
    if activity.state is ActivityState.ERROR:
        return Text(f"Error: {activity.detail}", style=f"bold {palette.error}")
    if activity.state is ActivityState.RETRYING:
        text = Text(
            activity.detail[:1].upper() + activity.detail[1:], style=f"bold {palette.waiting}"
        )
        text.append("\nthe agent retries on its own; if it goes on, check the API or its key")
        return text
    if session.lifecycle in _CLOSED:
        return None
    if pr_trouble(session) and not someone_is_fixing(session):
        return Text(f"Needs you: {needs_you_reason(session)}", style=f"bold {palette.waiting}")
    if activity.state is ActivityState.IDLE:
        detail = needs_you_reason(session) if restored_and_waiting(session) else activity.detail
        return Text(f"Idle: {detail or 'its turn is over'}", style=palette.idle)
    return None


def update_in_place(widget: Static, content: Text) -> None:
    """Show ``content`` in ``widget``, relayouting the screen only if its height changes.

    A Static's own ``update`` always asks for a layout of the whole screen, which costs
    more than everything else a cursor move does; the waiting panel is as high as its
    text, so the height is measured first and the layout kept for when it differs.
    """
    widget.update(content, layout=False)
    width = widget.content_region.width
    if not widget.is_mounted or not widget.display or width <= 0:
        widget.refresh(layout=True)
        return
    size = widget.app.size
    wanted = widget.get_content_height(size, size, width) + widget.styles.gutter.height
    limit = widget.styles.max_height
    if limit is not None and limit.is_cells:
        wanted = min(wanted, int(limit.value))
    if wanted != widget.region.height:
        widget.refresh(layout=True)


class Preview(Vertical):
    """Title line, waiting panel (only when waiting) and the live pane of one session."""

    def __init__(self, *, id: str | None = None) -> None:
        """An empty preview."""
        super().__init__(id=id)
        self.session_id: str | None = None
        self.heading = Static(id="preview-title")
        self.waiting = Static(id="preview-waiting")
        self.pane = PaneView(id="preview-pane")
        self._replay: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        """Title, waiting panel, pane."""
        yield self.heading
        yield self.waiting
        yield self.pane

    def show_session(
        self,
        session: Session | None,
        now: float,
        palette: CardPalette,
        answer_hint: str = "",
        reactions: str = "on",
    ) -> None:
        """Describe ``session`` (None: nothing selected); the pane follows by capture.

        ``reactions`` says whether they run for it (:meth:`ReactionsView.of`).
        """
        self._replay = partial(self.show_session, session, now, palette, answer_hint, reactions)
        title, waiting = self.heading, self.waiting
        if session is None:
            self.session_id = None
            title.update(Text("No session selected", style=palette.muted), layout=False)
            waiting.display = False
            self.pane.show_placeholder("")
            return
        if session.id != self.session_id:
            self.session_id = session.id
            self.pane.show_placeholder("capturing…")
        head = glyph(session, palette)
        head.append(f" {session.id} ", style="bold")
        head.append(f"{state_word(session)} {age(now - session.activity.since)}  ")
        head.append(session.title, style="bold")
        head.append(f"  {session.agent} · {session.branch}", style=palette.muted)
        badge = pr_badge(session.pr, palette)
        if badge.plain:
            head.append("  ")
            head.append_text(badge)
        usage = tokens(session.extra)
        if usage:
            head.append(f"  {usage}", style=palette.muted)
        head.truncate(max(1, self.size.width), overflow="ellipsis")
        # One line high whatever it says: a repaint, not a relayout of the whole screen.
        title.update(head, layout=False)
        needs = waiting_text(session, palette, answer_hint)
        reaction = preview_text(session.reaction, reactions, palette.style)
        if reaction is not None:
            # Under what the session waits on: the reaction says who is on it, and why.
            needs = reaction if needs is None else Text("\n").join([needs, reaction])
        waiting.display = needs is not None
        if needs is not None:
            update_in_place(waiting, needs)
        if session.lifecycle in _CLOSED or not session.pane_id:
            self.pane.show_placeholder(f"{session.id} is {session.lifecycle.value}; no live pane")

    def on_resize(self) -> None:
        """The title line is cut to the width: redraw it."""
        if self._replay is not None:
            self._replay()

    def show_capture(self, session_id: str, capture: str) -> None:
        """Show a capture if it belongs to the session on display."""
        if session_id == self.session_id:
            self.pane.show_capture(capture)

    def show_unavailable(self, session_id: str, reason: str) -> None:
        """Say why the pane cannot be shown."""
        if session_id == self.session_id:
            self.pane.show_placeholder(reason)
