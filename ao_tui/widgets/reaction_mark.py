"""How a session's reaction reads in the cockpit: the short mark on its card or row, the
line in the preview, and the rows of the detail's Info tab.

All of it comes from the session's :class:`~core.models.ReactionMark` (one column of its
row) and from whether reactions are paused, which the app reads with the sessions
(:class:`ReactionsView`), so nothing here touches the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.text import Text

from core.humanize import age
from core.models import ReactionMark

SHORT_KEYS: dict[str, str] = {
    "ci-failed": "ci",
    "changes-requested": "review",
    "bugbot-comments": "bot",
    "merge-conflicts": "conflict",
    "approved-and-green": "merge",
    "agent-stuck": "stuck",
    "agent-needs-input": "input",
    "agent-exited": "restore",
    "pr-closed": "closed",
    "all-complete": "done",
    "orchestrator": "orch",
    "agent-review": "reviewer",
}
"""Reaction keys in a word, for a card a third of 80 columns wide."""

_GLYPHS: dict[str, tuple[str, str]] = {
    "acting": ("↻", "idle"),
    "escalated": ("⚠", "error"),
    "suggested": ("✉", "waiting"),
}
"""Per mark status, its glyph and the palette role colouring it."""

_TIERS: dict[int, str] = {1: "the agent", 2: "the orchestrator", 3: "you"}
"""Who a reaction's tier puts on the case."""


@dataclass(frozen=True)
class ReactionsView:
    """Whether reactions run, as the header and the session views show it.

    ``state`` is :func:`core.reactions.verbs.state`'s answer (``on``, ``paused``,
    ``off (why)``); ``paused`` the session ids paused one by one.
    """

    state: str = "on"
    paused: frozenset[str] = field(default_factory=frozenset)

    def of(self, session_id: str) -> str:
        """For one session: ``on``, ``paused for this session``, ``paused``, ``off (why)``."""
        if self.state != "on":
            return self.state
        return "paused for this session" if session_id in self.paused else "on"

    def header(self) -> list[str]:
        """What the header says, longest first; nothing when reactions are on."""
        if self.state == "on":
            return []
        if self.state.startswith("off"):
            return [f"reactions {self.state}", "reactions off", "react off"]
        return [f"reactions {self.state}", "react paused"]


def short_key(key: str) -> str:
    """``ci`` for ``ci-failed``; an unknown key as it is."""
    return SHORT_KEYS.get(key, key)


def mark_text(mark: ReactionMark | None, colour: Callable[[str], str]) -> Text:
    """``↻ ci 1/2`` acting, ``⚠ ci`` escalated, ``✉ ci`` suggested; empty without a mark.

    ``colour`` gives a palette role's colour (``CardPalette.style``).
    """
    if mark is None:
        return Text("")
    glyph, role = _GLYPHS.get(mark.status, ("·", "muted"))
    text = Text(f"{glyph} {short_key(mark.key)}", style=colour(role))
    if mark.status == "acting" and mark.attempts:
        text.append(f" {mark.attempts}" + (f"/{mark.budget}" if mark.budget else ""))
    return text


def legend_marks(colour: Callable[[str], str]) -> list[tuple[Text, str]]:
    """One example mark per status, coloured as on the board, with its status."""
    examples = (
        ReactionMark("ci-failed", "acting", 1, 2),
        ReactionMark("ci-failed", "escalated"),
        ReactionMark("ci-failed", "suggested"),
    )
    return [(mark_text(mark, colour), mark.status) for mark in examples]


def attempts_text(mark: ReactionMark) -> str:
    """``attempt 1 of 2``, ``attempt 1 (bounded by time)`` or ``no attempt yet``."""
    if not mark.attempts:
        return "no attempt yet"
    if mark.budget:
        return f"attempt {mark.attempts} of {mark.budget}"
    return f"attempt {mark.attempts} (bounded by time)"


def mark_summary(mark: ReactionMark) -> str:
    """``ci-failed: acting, attempt 1 of 2`` — the mark in one line, without its reason;
    ``with the orchestrator`` for an episode handed to it (tier 2)."""
    status = "with the orchestrator" if mark.tier == 2 else mark.status
    return f"{mark.key}: {status}, {attempts_text(mark)}"


def info_rows(mark: ReactionMark | None, reactions: str, now: float) -> list[tuple[str, str]]:
    """The Info tab's rows: the reaction at work, why, since when, and whether they run."""
    rows: list[tuple[str, str]] = []
    if mark is not None:
        since = f", for {age(now - mark.since)}" if mark.since else ""
        rows.append(("reaction", f"{mark_summary(mark)}{since}"))
        rows.append(("reaction tier", f"{mark.tier}: {_TIERS.get(mark.tier, 'unknown')}"))
        rows.append(("reaction why", mark.reason or "-"))
    rows.append(("reactions", reactions))
    return rows


def preview_text(
    mark: ReactionMark | None, reactions: str, colour: Callable[[str], str]
) -> Text | None:
    """The preview's reaction line(s); None when no reaction is at work and none is paused
    for the session alone (reactions off or paused for all is the header's to say)."""
    paused = reactions == "paused for this session"
    if mark is None and not paused:
        return None
    text = Text("")
    if mark is not None:
        text.append_text(mark_text(mark, colour))
        text.append(f"  {mark_summary(mark)}")
        if mark.reason:
            text.append(f" — {mark.reason}")
        if mark.status == "suggested":
            text.append(" · S sends it, e edits it, D drops it", style=colour("muted"))
    if paused:
        if text.plain:
            text.append("\n")
        text.append("reactions paused for this session", style=colour("muted"))
    return text
