"""The pinned strip: each project's orchestrator on its own line above the zones.

The orchestrator is the agent that runs the fleet, not a task: it is in no zone and in no
count. Its line says its state (the card's glyph and words), then either what it needs
from the operator (a permission prompt, an exit: the line turns to the Needs-you colour),
or its last action, the newest event it caused through the CLI (``spawned app-4 · 2m
ago``, :mod:`core.actor_log`), or else what it is doing. One line per orchestrator, so
with several projects each has its own; with none the strip takes no room at all.

The line can be selected like a card (``0``, ``k`` from the top of the board, a click):
the preview then shows the orchestrator's pane, and every session key acts on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from rich.text import Text
from textual import events
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from ao_tui.widgets.card import CardPalette, glyph, state_word
from core.activity.retries import retry_attempt
from core.actor_log import action_text, is_action
from core.attention import needs_you_reason
from core.humanize import age
from core.inert import inert
from core.models import ENDED_LIFECYCLES, ActivityState, Event, Lifecycle, Role, Session

REASON_MAX = 60
"""Longest "what it needs" text on the line, before the width cuts it anyway."""


def is_pinned(session: Session) -> bool:
    """Whether ``session`` shows on the pinned strip: an orchestrator not stopped on purpose.

    An orchestrator that exited unasked stays (it needs the operator); one killed
    (``ao-tui stop``) or done leaves the board, as it would leave a zone for Done.
    """
    return session.role is Role.ORCHESTRATOR and session.lifecycle not in ENDED_LIFECYCLES


def needs_operator(session: Session) -> bool:
    """Whether the orchestrator waits on the operator: a prompt or question, an error, an exit.

    An idle orchestrator is not news (it waits for the fleet to change, as it should); a
    worker's zone rules would put it in Needs you.
    """
    if session.lifecycle is Lifecycle.EXITED:
        return True
    return session.activity.state in (
        ActivityState.WAITING_INPUT,
        ActivityState.ERROR,
        ActivityState.EXITED,
    )


def pinned_line(
    session: Session, action: Event | None, now: float, width: int, palette: CardPalette
) -> Text:
    """``● app-orchestrator working 2m · spawned app-4 · 1m ago``, cut to ``width``; while
    it waits on the operator, ``? app-orchestrator needs you 1m · permission: Bash …``."""
    line = glyph(session, palette)
    line.append(f" {session.id}", style="bold")
    when = age(now - session.activity.since)
    if needs_operator(session):
        stopped = session.lifecycle is Lifecycle.EXITED or session.activity.state in (
            ActivityState.ERROR,
            ActivityState.EXITED,
        )
        reason = " ".join(needs_you_reason(session).split())
        if stopped:
            reason = f"{state_word(session)}: {reason}"
        if len(reason) > REASON_MAX:
            reason = reason[: REASON_MAX - 1] + "…"
        style = f"bold {palette.style('error' if stopped else 'waiting')}"
        line.append(" needs you", style=style)
        line.append(f" {when} · ", style=palette.muted)
        line.append(reason, style=style)
    else:
        line.append(f" {state_word(session)} {when} · ", style=palette.muted)
        if action is not None:
            line.append(inert(action_text(action), one_line=True))
            line.append(f" · {age(now - action.ts)} ago", style=palette.muted)
        else:
            line.append(_doing(session), style=palette.muted)
    line.truncate(max(1, width), overflow="ellipsis")
    return line


def _doing(session: Session) -> str:
    """What the orchestrator does when it has done nothing yet (its activity's detail)."""
    activity = session.activity
    if activity.state is ActivityState.RETRYING:
        return f"retrying {retry_attempt(activity.detail)}".strip()
    detail = " ".join(activity.detail.split())
    if detail:
        return detail
    return "no action yet" if activity.state is not ActivityState.WORKING else "thinking"


class PinnedLine(Static):
    """One orchestrator's line; a click selects it."""

    def __init__(self, session_id: str) -> None:
        """The line of ``session_id``."""
        super().__init__(classes="pinned-line")
        self.session_id = session_id


class PinnedStrip(Vertical):
    """The orchestrators' lines, one each; absent (no room taken) when there are none."""

    DEFAULT_CSS = """
    PinnedStrip {
        height: auto;
        display: none;
    }
    PinnedStrip.-shown {
        display: block;
    }
    PinnedStrip .pinned-line {
        height: 1;
        padding: 0 1;
        background: $panel 40%;
        text-wrap: nowrap;
    }
    PinnedStrip .pinned-line.-needs-you {
        background: $warning 20%;
    }
    PinnedStrip .pinned-line.-selected {
        background: $block-cursor-background;
    }
    """

    class Clicked(Message):
        """The operator clicked an orchestrator's line."""

        def __init__(self, session_id: str) -> None:
            """Name the orchestrator clicked."""
            super().__init__()
            self.session_id = session_id

    def __init__(self, *, id: str | None = None) -> None:
        """An empty strip (hidden)."""
        super().__init__(id=id)
        self.sessions: list[Session] = []
        self._replay: Callable[[], None] | None = None

    @property
    def ids(self) -> list[str]:
        """The orchestrators shown, top to bottom."""
        return [s.id for s in self.sessions]

    def show(
        self,
        sessions: Sequence[Session],
        actions: Mapping[str, Event],
        now: float,
        palette: CardPalette,
        selected: str | None,
    ) -> None:
        """Draw one line per orchestrator in ``sessions`` (``actions``: each one's last)."""
        self._replay = partial(self.show, sessions, actions, now, palette, selected)
        self.sessions = list(sessions)
        self.set_class(bool(self.sessions), "-shown")
        lines = list(self.query(PinnedLine))
        if [line.session_id for line in lines] != self.ids:
            for line in lines:
                line.remove()
            lines = [PinnedLine(s.id) for s in self.sessions]
            if lines:
                self.mount_all(lines)
        for line, session in zip(lines, self.sessions, strict=True):
            width = (line.size.width or self.size.width or 80) - 2
            action = actions.get(session.id)
            if action is not None and not is_action(action, session.id):
                action = None
            line.update(pinned_line(session, action, now, width, palette))
            line.set_class(needs_operator(session), "-needs-you")
            line.set_class(session.id == selected, "-selected")

    def on_resize(self) -> None:
        """Lines are cut to the width: redraw them."""
        if self._replay is not None:
            self.call_after_refresh(self._replay)

    def on_click(self, event: events.Click) -> None:
        """A click on a line selects that orchestrator."""
        widget = event.widget
        if isinstance(widget, PinnedLine):
            event.stop()
            self.post_message(self.Clicked(widget.session_id))
