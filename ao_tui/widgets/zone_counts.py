"""The header line: how many sessions sit in each zone, plus filter and engine status."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual.widgets import Static

from ao_tui.widgets.card import CardPalette
from core.models import ZONE_ORDER, Session, Zone
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
    """Sessions per zone, every zone present."""
    counts = dict.fromkeys(ZONE_ORDER, 0)
    for session in sessions:
        counts[zone_of(session)] += 1
    return counts


class ZoneCounts(Static):
    """``ao-tui  Needs you 2 · Ready 1 · … `` with the filter and who reconciles."""

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
        status: str,
        filter_text: str = "",
        shown: int = 0,
    ) -> None:
        """Render the counts; ``status`` says whether this process or a daemon reconciles."""
        self._replay = partial(
            self.show, counts, palette, status=status, filter_text=filter_text, shown=shown
        )
        line = Text("ao-tui ", style="bold")
        for index, zone in enumerate(ZONE_ORDER):
            count = counts.get(zone, 0)
            if index:
                line.append(" · ", style=palette.muted)
            label = _SHORT[zone] if self.size.width < 120 else zone.value
            style = palette.muted if count == 0 else ""
            if zone is Zone.NEEDS_YOU and count:
                style = f"bold {palette.waiting}"
            line.append(f"{label} {count}", style=style)
        if filter_text:
            line.append(f"  /{filter_text} {shown}/{sum(counts.values())}", style=palette.idle)
        right = Text(status, style=palette.muted)
        room = self.size.width - line.cell_len - right.cell_len
        if room >= 2:
            line.append(" " * room)
            line.append_text(right)
        self.update(line)
