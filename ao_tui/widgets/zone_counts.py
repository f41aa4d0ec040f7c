"""The header line: how many sessions sit in each zone, the filter, who watches them, and
whether reactions run (said only when they do not)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from rich.text import Text
from textual.widgets import Static

from ao_tui.watching import Watching
from ao_tui.widgets.card import CardPalette
from core.models import ZONE_ORDER, Role, Session, Zone
from core.zones import zone_of

_SHORT: dict[Zone, str] = {
    Zone.NEEDS_YOU: "Needs you",
    Zone.READY_TO_MERGE: "Ready",
    Zone.FIXING: "Fixing",
    Zone.IN_REVIEW: "Review",
    Zone.WORKING: "Working",
    Zone.DONE: "Done",
}
"""Labels short enough for every count to fit in 80 columns next to the status."""


def count_zones(sessions: list[Session]) -> dict[Zone, int]:
    """Sessions per zone, every zone present; the orchestrators, pinned above the zones,
    are in none."""
    counts = dict.fromkeys(ZONE_ORDER, 0)
    for session in sessions:
        if session.role is not Role.ORCHESTRATOR:
            counts[zone_of(session)] += 1
    return counts


_LAYOUTS: tuple[tuple[str, str], ...] = (("ao-tui ", " · "), ("", " · "), ("", "  "), ("", " "))
"""Ways to write the counts, roomiest first: at 80 columns the name and the dots give way
before who is watching does."""


_JOIN = " · "


def right_texts(reactions: Sequence[str], watching: Sequence[str]) -> list[list[str]]:
    """The header's right part: whether reactions run, then who watches; each list longest
    first, the second tried only where nothing of the first fits.

    Every way to write both first; then the reactions alone: at 80 columns the watcher
    (which has its own alarm line when nobody watches) gives way before the reactions do.
    """
    if not reactions:
        return [list(watching)]
    both = [f"{said}{_JOIN}{who}" for said in reactions for who in watching]
    return [sorted(both, key=len, reverse=True), [reactions[-1]]]


class ZoneCounts(Static):
    """``ao-tui  Needs you 2 · Ready 1 · …   watching: this cockpit`` (and the filter)."""

    _replay: Callable[[], None] | None = None

    def on_resize(self) -> None:
        """Labels and the status depend on the width: redraw with the last counts."""
        if self._replay is not None:
            self._replay()

    def show(
        self,
        counts: dict[Zone, int],
        palette: CardPalette,
        *,
        watching: Watching,
        filter_text: str = "",
        shown: int = 0,
        reactions: Sequence[str] = (),
    ) -> None:
        """Render the counts and, at the right, who watches the sessions (see
        :mod:`ao_tui.watching`); loud in the error colour when nobody does.

        ``reactions``: ways to say that reactions do not run, longest first
        (:meth:`ReactionsView.header`); empty, as it is while they run, says nothing.
        """
        self._replay = partial(
            self.show,
            counts,
            palette,
            watching=watching,
            filter_text=filter_text,
            shown=shown,
            reactions=reactions,
        )
        width = self.size.width
        style = f"bold {palette.error}" if watching.nobody else palette.muted
        line = right = None
        for texts in right_texts(reactions, watching.texts()):
            # The roomiest way to write the counts next to which who-watches still fits: a
            # longer text only where the counts need not shrink for it.
            for brand, separator in _LAYOUTS:
                line = self._counts(counts, palette, brand, separator, filter_text, shown)
                right = next((t for t in texts if line.cell_len + 2 + len(t) <= width), None)
                if right is not None or not texts:
                    break
            if right is not None or not texts:
                break
        assert line is not None
        if right is None and texts:
            # Not even the shortest fits (a long filter): the counts and the filter win,
            # written as roomily as they fit; "nobody" has its own line below the counts.
            for brand, separator in _LAYOUTS:
                line = self._counts(counts, palette, brand, separator, filter_text, shown)
                if line.cell_len <= width:
                    break
        if right is not None:
            line.append(" " * (width - line.cell_len - len(right)))
            said, sep, rest = right.partition(_JOIN) if reactions else ("", "", right)
            line.append(said, style=f"bold {palette.waiting}")
            line.append(sep, style=palette.muted)
            line.append(rest, style=style)
        self.update(line)

    def _counts(
        self,
        counts: dict[Zone, int],
        palette: CardPalette,
        brand: str,
        separator: str,
        filter_text: str,
        shown: int,
    ) -> Text:
        """The left part: the name (if room), each zone's count, the filter."""
        line = Text(brand, style="bold")
        for index, zone in enumerate(ZONE_ORDER):
            count = counts.get(zone, 0)
            if index:
                line.append(separator, style=palette.muted)
            label = _SHORT[zone] if self.size.width < 120 else zone.value
            style = palette.muted if count == 0 else ""
            if zone is Zone.NEEDS_YOU and count:
                style = f"bold {palette.waiting}"
            line.append(f"{label} {count}", style=style)
        if filter_text:
            line.append(f"  /{filter_text} {shown}/{sum(counts.values())}", style=palette.idle)
        return line
