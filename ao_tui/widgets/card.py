"""How one session reads on the board: glyph, age, PR/CI badge, tokens, card and row cells.

Pure functions of a session, the clock and a colour palette taken from the app theme, so
the board can diff their output cell by cell and tests can check them without an app.
Glyphs are single-width characters present in any terminal font (no emoji), since the
cockpit runs over SSH in whatever terminal the operator has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.color import Color

from ao_tui.role_tags import role_tag
from ao_tui.widgets.reaction_mark import mark_text
from core.activity.retries import retry_attempt
from core.humanize import age
from core.models import ENDED_LIFECYCLES, ActivityState, Lifecycle, ReactionMark, Session, SessionPR

_GLYPHS: dict[ActivityState, str] = {
    ActivityState.WORKING: "●",
    ActivityState.RETRYING: "↻",
    ActivityState.WAITING_INPUT: "?",
    ActivityState.IDLE: "○",
    ActivityState.ERROR: "✗",
    ActivityState.EXITED: "■",
    ActivityState.UNKNOWN: "·",
}
_LIFECYCLE_GLYPHS: dict[Lifecycle, str] = {
    Lifecycle.KILLED: "■",
    Lifecycle.MERGED: "✓",
    Lifecycle.DONE: "✓",
    Lifecycle.SPAWNING: "…",
}
_ROLES: dict[ActivityState, str] = {
    ActivityState.WORKING: "working",
    ActivityState.RETRYING: "waiting",
    ActivityState.WAITING_INPUT: "waiting",
    ActivityState.ERROR: "error",
    ActivityState.EXITED: "error",
    ActivityState.IDLE: "idle",
}
"""The palette role colouring each activity glyph (the rest are muted)."""
# PR states as short badges; CI outcome first since that is what the operator acts on.
_PR_BADGES: dict[str, tuple[str, str]] = {
    "draft": ("draft", "muted"),
    "open": ("open", "muted"),
    "ci_running": ("ci …", "muted"),
    "review_pending": ("review", "idle"),
    "ci_failed": ("ci ✗", "error"),
    "changes_requested": ("changes", "waiting"),
    "conflicts": ("conflict", "error"),
    "approved": ("approved", "working"),
    "mergeable": ("ci ✓", "working"),
    "merged": ("merged", "working"),
    "closed": ("closed", "muted"),
    "unknown": ("?", "error"),
}


@dataclass(frozen=True)
class CardPalette:
    """Colours for glyphs and badges, resolved from the app theme (works in 256 colours)."""

    working: str = "#4EBF71"
    waiting: str = "#FEA62B"
    error: str = "#B93C5B"
    idle: str = "#0178D4"
    muted: str = "#8A8A8A"

    @classmethod
    def from_theme(cls, variables: dict[str, str]) -> CardPalette:
        """Pick the theme's success/warning/error/primary and a dimmed foreground."""
        foreground = Color.parse(variables.get("foreground", "#E0E0E0"))
        background = Color.parse(variables.get("background", "#121212"))
        return cls(
            working=variables.get("success", cls.working),
            waiting=variables.get("warning", cls.waiting),
            error=variables.get("error", cls.error),
            idle=variables.get("primary", cls.idle),
            muted=background.blend(foreground, 0.55).hex,
        )

    def style(self, role: str) -> str:
        """The colour for a role name used by the badge table."""
        return str(getattr(self, role, self.muted))


def glyph(session: Session, palette: CardPalette) -> Text:
    """The activity glyph, coloured by what it asks of the operator."""
    state = session.activity.state
    mark = _LIFECYCLE_GLYPHS.get(session.lifecycle) or _GLYPHS.get(state, "·")
    if session.lifecycle in (Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE):
        return Text(mark, style=palette.muted)
    return Text(mark, style=f"bold {palette.style(_ROLES.get(state, 'muted'))}")


def state_word(session: Session) -> str:
    """``waiting``, ``working``, ``retrying 7/10``, ``killed``…: the lifecycle when closed,
    else the activity."""
    if session.lifecycle not in (Lifecycle.RUNNING, Lifecycle.PAUSED):
        return session.lifecycle.value
    state = session.activity.state
    if state is ActivityState.RETRYING:
        attempt = retry_attempt(session.activity.detail)
        return f"retrying {attempt}" if attempt else "retrying"
    return "waiting" if state is ActivityState.WAITING_INPUT else state.value


def pr_badge(pr: SessionPR | None, palette: CardPalette) -> Text:
    """``#12 ci ✗``; empty when the session has no pull request yet; `` !`` marks data the
    host could not refresh (the detail's Review tab says why)."""
    if not pr:
        return Text("")
    label, role = _PR_BADGES.get(pr.state, (pr.state, "muted"))
    number = pr.number
    badge = Text(f"#{number} " if number else "PR ", style=palette.muted)
    badge.append(label, style=palette.style(role))
    if pr.problem:
        # The host could not be asked: what the badge says may be out of date.
        badge.append(" !", style=palette.style("error"))
    return badge


def tokens(extra: dict[str, Any]) -> str:
    """``48.2k tok $0.61`` when the agent reported usage, else empty."""
    raw = extra.get("tokens")
    if isinstance(raw, dict):
        raw = sum(v for v in raw.values() if isinstance(v, int | float))
    parts = []
    if isinstance(raw, int | float) and raw > 0:
        parts.append(f"{raw / 1000:.1f}k tok" if raw >= 1000 else f"{int(raw)} tok")
    cost = extra.get("cost_usd")
    if isinstance(cost, int | float) and cost > 0:
        parts.append(f"${cost:.2f}")
    return " ".join(parts)


def card(session: Session, now: float, width: int, palette: CardPalette) -> Text:
    """The three-line card of the wide board, each line cut to ``width``.

    Line one: glyph, id, state and age, PR badge at the right (the state word goes first
    when room is short); line two: title; line three: a reviewer's ``review of app-3``, the
    reaction at work (``↻ ci 1/2``), tokens, agent and branch.
    """
    width = max(1, width)
    head = glyph(session, palette)
    head.append(f" {session.id}", style="bold")
    when = age(now - session.activity.since)
    badge = pr_badge(session.pr, palette)
    state = f" {state_word(session)} {when}"
    if head.cell_len + len(state) + (badge.cell_len + 1 if badge.plain else 0) > width:
        state = f" {when}"
    head.append(state, style=palette.muted)
    if badge.plain:
        gap = width - head.cell_len - badge.cell_len
        head.append(" " * max(1, gap))
        head.append_text(badge)
    title = Text(session.title)
    usage = tokens(session.extra)
    # The reaction at work leads the third line: what ao-tui is doing about the session.
    foot = _tagged(session, mark_text(_live_mark(session), palette.style), palette)
    if foot.plain:
        foot.append(" · ", style=palette.muted)
    foot.append(
        " · ".join(p for p in (usage, session.agent, session.branch) if p), style=palette.muted
    )
    lines = [head, title, foot]
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join(lines)


def _tagged(session: Session, mark: Text, palette: CardPalette) -> Text:
    """``mark`` after the session's role tag (a reviewer's ``review of app-3``), if any."""
    tag = role_tag(session)
    if not tag:
        return mark
    tagged = Text(tag, style=f"bold {palette.idle}")
    if mark.plain:
        tagged.append(" ")
        tagged.append_text(mark)
    return tagged


@dataclass(frozen=True)
class LineLayout:
    """Column widths of the grouped list's one-line rows (title takes what is left)."""

    id: int
    title: int
    agent: int
    age: int = 6
    branch: int = 0
    pr: int = 0

    @classmethod
    def fit(cls, width: int, id_width: int) -> LineLayout:
        """Share ``width`` cells out: title first, then branch and PR badge as room allows."""
        fixed = 2 + id_width + 1 + 6 + 1
        room = max(10, width - fixed)
        # The agent is also in the preview's title line, so it is the first to go.
        agent = 12 if room >= 64 else 0
        room -= agent + (1 if agent else 0)
        pr = 10 if room >= 40 else 0
        branch = min(26, (room - pr) // 3) if room - pr >= 30 else 0
        title = max(8, room - pr - branch - (1 if branch else 0) - (1 if pr else 0))
        return cls(id=id_width, title=title, agent=agent, branch=branch, pr=pr)


def _cell(text: Text, width: int) -> Text:
    """``text`` cut with an ellipsis or padded to exactly ``width`` cells."""
    cell = text.copy()
    cell.truncate(width, overflow="ellipsis", pad=True)
    return cell


def line(session: Session, now: float, layout: LineLayout, palette: CardPalette) -> Text:
    """One row of the grouped list: glyph, id, (reaction,) title (+ tokens), agent, age,
    branch, PR."""
    # The role tag and the reaction mark go before the title, so a narrow row cuts the
    # title, not them.
    title = _tagged(session, mark_text(_live_mark(session), palette.style), palette)
    if title.plain:
        title.append(" ")
    title.append(session.title)
    usage = tokens(session.extra)
    if usage and title.cell_len + 2 + len(usage) <= layout.title:
        title.append(f"  {usage}", style=palette.muted)
    parts = [
        glyph(session, palette),
        Text(" "),
        _cell(Text(session.id, style="bold"), layout.id),
        Text(" "),
        _cell(title, layout.title),
    ]
    if layout.agent:
        parts += [Text(" "), _cell(Text(session.agent, style=palette.muted), layout.agent)]
    parts += [
        Text(" "),
        _cell(Text(age(now - session.activity.since).rjust(layout.age)), layout.age),
    ]
    if layout.branch:
        parts += [Text(" "), _cell(Text(session.branch, style=palette.muted), layout.branch)]
    if layout.pr:
        parts += [Text(" "), _cell(pr_badge(session.pr, palette), layout.pr)]
    return Text("").join(parts)


class RenderCache:
    """Rendered cards or lines by session id, reused while nothing they show has changed.

    The board re-renders every second; most sessions and their age text (minute
    resolution past the first minute) stay the same, so most renders are skipped.
    """

    def __init__(self) -> None:
        """An empty cache."""
        self._rendered: dict[str, tuple[tuple[Any, ...], Text]] = {}

    def card(self, session: Session, now: float, width: int, palette: CardPalette) -> Text:
        """:func:`card`, from the cache when nothing it shows changed."""
        key = (session, age(now - session.activity.since), width, palette)
        return self._get(session.id, key, lambda: card(session, now, width, palette))

    def line(self, session: Session, now: float, layout: LineLayout, palette: CardPalette) -> Text:
        """:func:`line`, from the cache when nothing it shows changed."""
        key = (session, age(now - session.activity.since), layout, palette)
        return self._get(session.id, key, lambda: line(session, now, layout, palette))

    def _get(self, session_id: str, key: tuple[Any, ...], render: Callable[[], Text]) -> Text:
        cached = self._rendered.get(session_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        text = render()
        self._rendered[session_id] = (key, text)
        return text


def legend_marks(palette: CardPalette) -> list[tuple[Text, ActivityState | Lifecycle]]:
    """Every glyph a card can start with, coloured as on the board, with what it stands for."""
    marks: list[tuple[Text, ActivityState | Lifecycle]] = [
        (Text(mark, style=f"bold {palette.style(_ROLES.get(state, 'muted'))}"), state)
        for state, mark in _GLYPHS.items()
    ]
    marks += [(Text(mark, style=palette.muted), life) for life, mark in _LIFECYCLE_GLYPHS.items()]
    return marks


def legend_badges(palette: CardPalette) -> list[tuple[Text, str]]:
    """Every PR badge a card can show, coloured as on the board, with its PR state."""
    return [
        (Text(label, style=palette.style(role)), state)
        for state, (label, role) in _PR_BADGES.items()
    ]


def _live_mark(session: Session) -> ReactionMark | None:
    """The reaction mark a card shows: none once the session ended (a merged card in Done
    keeps no "↻ merge 1": what the reaction did is in its events and the report)."""
    return None if session.lifecycle in ENDED_LIFECYCLES else session.reaction
