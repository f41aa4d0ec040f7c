"""One column of the wide board: the zone's title and count over its table of cards."""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from ao_tui.widgets.card import CardPalette, RenderCache
from ao_tui.widgets.keyed_table import KeyedTable, RowSpec
from core.models import Session, Zone

CARD_HEIGHT = 3
"""Lines per card: state line, title, agent and branch."""


class ZoneTable(KeyedTable):
    """The cards of one zone, each a three-line row keyed by session id."""

    def __init__(self, zone: Zone, *, id: str | None = None) -> None:
        """A table for ``zone``."""
        super().__init__(id=id)
        self.zone = zone
        self.cell_padding = 1
        self._cache = RenderCache()

    def show(self, sessions: list[Session], now: float, palette: CardPalette) -> None:
        """Diff the table to ``sessions`` (already in display order)."""
        width = max(1, self.content_width() - 2 * self.cell_padding)
        cache = self._cache
        self.sync(
            [RowSpec(s.id, (cache.card(s, now, width, palette),), CARD_HEIGHT) for s in sessions]
        )
        self.remember(partial(self.show, sessions, now, palette))


class ZoneColumn(Vertical):
    """A zone title (with its count) above the zone's cards; Done can fold to its title."""

    class TitleClicked(Message):
        """The operator clicked a zone title (Done folds on click)."""

        def __init__(self, zone: Zone) -> None:
            """Name the zone clicked."""
            super().__init__()
            self.zone = zone

    def __init__(self, zone: Zone, index: int) -> None:
        """The column for ``zone``, the ``index``-th of the board (its jump key is index+1)."""
        super().__init__(id=f"column-{index}", classes="zone-column")
        self.zone = zone
        self.index = index
        self.table = ZoneTable(zone, id=f"zone-{index}")
        self.title = Static(zone.value, classes="zone-title")

    def compose(self) -> ComposeResult:
        """Title over table."""
        yield self.title
        yield self.table

    def show(
        self, sessions: list[Session], now: float, palette: CardPalette, *, folded: bool
    ) -> None:
        """Update title and cards; a folded column shows only its title and count."""
        title = Text(f"{self.index + 1} ", style=palette.muted)
        title.append(self.zone.value, style="bold")
        title.append(f" {len(sessions)}", style=palette.muted)
        if self.zone is Zone.DONE:
            title.append(" ▸" if folded else " ▾", style=palette.muted)
        # The title is one line in a column sized by CSS: a repaint, not a relayout.
        self.title.update(title, layout=False)
        self.set_class(folded, "-folded")
        self.set_class(not sessions, "-empty")
        self.table.show([] if folded else sessions, now, palette)

    def on_click(self, event: events.Click) -> None:
        """A click on the title (not on a card) toggles folding."""
        if event.widget is not None and event.widget.has_class("zone-title"):
            self.post_message(self.TitleClicked(self.zone))
