"""The narrow board: one list of sessions grouped under zone headers.

Below ~100 columns six zone columns would be unreadable, so every zone becomes a header
row followed by one line per session, in one keyed table. Header rows are keyed
``zone:<index>`` and the cursor steps over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from rich.text import Text

from ao_tui.widgets.card import CardPalette, LineLayout, RenderCache
from ao_tui.widgets.keyed_table import KeyedTable, RowSpec
from core.models import ZONE_ORDER, Session, Zone

HEADER_PREFIX = "zone:"


def header_key(zone: Zone) -> str:
    """The row key of a zone's header."""
    return f"{HEADER_PREFIX}{ZONE_ORDER.index(zone)}"


def is_header(key: str | None) -> bool:
    """Whether a row key is a zone header (not a session)."""
    return key is not None and key.startswith(HEADER_PREFIX)


class GroupedList(KeyedTable):
    """Zone headers with their sessions underneath, diff-updated like every board table."""

    def __init__(self, *, id: str | None = None) -> None:
        """An empty list."""
        super().__init__(id=id)
        self._cache = RenderCache()

    def show(
        self,
        groups: Sequence[tuple[Zone, list[Session]]],
        now: float,
        palette: CardPalette,
        *,
        folded: set[Zone],
    ) -> None:
        """Diff the list to ``groups`` (every zone, in board order, even when empty)."""
        ids = [s.id for _, sessions in groups for s in sessions]
        id_width = min(16, max((len(i) for i in ids), default=6))
        width = max(20, self.content_width() - 2 * self.cell_padding)
        layout = LineLayout.fit(width, id_width)
        rows: list[RowSpec] = []
        for index, (zone, sessions) in enumerate(groups):
            if not sessions:
                continue
            title = Text(f"{index + 1} ", style=palette.muted)
            title.append(zone.value, style="bold underline")
            title.append(f" {len(sessions)}", style=palette.muted)
            if zone in folded:
                title.append("  ▸ z unfolds", style=palette.muted)
            rows.append(RowSpec(header_key(zone), (title,)))
            if zone not in folded:
                rows.extend(
                    RowSpec(s.id, (self._cache.line(s, now, layout, palette),)) for s in sessions
                )
        self.sync(rows)
        if is_header(self.selected_key):
            self.step_off_header(+1)
        self.remember(partial(self.show, groups, now, palette, folded=folded))

    def step_off_header(self, direction: int) -> None:
        """Move the cursor past header rows, in ``direction`` first, then back."""
        keys = self.row_keys()
        row = self.cursor_row
        for step in (direction, -direction):
            index = row
            while 0 <= index < len(keys) and is_header(keys[index]):
                index += step
            if 0 <= index < len(keys):
                self.move_cursor(row=index, animate=False)
                return

    def action_cursor_down(self) -> None:
        """Down, skipping headers."""
        super().action_cursor_down()
        if is_header(self.selected_key):
            self.step_off_header(+1)

    def action_cursor_up(self) -> None:
        """Up, skipping headers (the first header stays out of reach)."""
        super().action_cursor_up()
        if is_header(self.selected_key):
            self.step_off_header(-1)

    def first_row_of(self, zone: Zone) -> int | None:
        """Index of the first session row under ``zone``'s header, None if it has none."""
        keys = self.row_keys()
        try:
            index = keys.index(header_key(zone)) + 1
        except ValueError:
            return None
        return index if index < len(keys) and not is_header(keys[index]) else None

    def zone_at_cursor(self) -> Zone | None:
        """The zone whose group holds the cursor."""
        keys = self.row_keys()
        for index in range(min(self.cursor_row, len(keys) - 1), -1, -1):
            if is_header(keys[index]):
                return ZONE_ORDER[int(keys[index].removeprefix(HEADER_PREFIX))]
        return None
