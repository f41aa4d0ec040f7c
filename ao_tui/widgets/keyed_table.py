"""A DataTable whose rows are keyed by session id and updated by diff, never rebuilt.

:meth:`KeyedTable.sync` removes the rows that left, adds the ones that came, updates only
the cells whose content changed and re-sorts only when the order changed, all inside one
``batch_update`` so the screen repaints once. The cursor stays on the same session across
updates. Rebuilding instead would cost a full re-measure and repaint of every row on each
one-second refresh, and would throw the operator's cursor back to the top.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist


@dataclass(frozen=True)
class RowSpec:
    """One wanted row: its key, its cells (one per column) and its height in lines."""

    key: str
    cells: tuple[RenderableType, ...]
    height: int = 1


@dataclass(frozen=True)
class KeyedCell:
    """A row's first cell, carrying the row key so :meth:`DataTable.sort` can order by it."""

    row_key: str
    content: RenderableType = field(compare=False)

    def __rich__(self) -> RenderableType:
        """Render as the wrapped content."""
        return self.content


def signature(cell: Any) -> Hashable:
    """What decides whether a cell must be repainted (Text equality ignores the base style)."""
    if isinstance(cell, KeyedCell):
        return ("keyed", cell.row_key, signature(cell.content))
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple(cell.spans), cell.justify)
    return repr(cell)


class KeyedTable(DataTable[Any]):
    """Row-cursor table with fixed columns sized by :meth:`column_widths` on every resize."""

    COLUMNS: tuple[str, ...] = ("main",)
    """Column keys, left to right."""

    def __init__(self, *, id: str | None = None) -> None:
        """Create the table: row cursor, no header (zones title their own tables)."""
        super().__init__(id=id, cursor_type="row", show_header=False)
        self._shown: dict[str, tuple[Hashable, ...]] = {}
        self._position: dict[str, int] = {}
        self._replay: Callable[[], None] | None = None
        self._drawn_width = -1
        self._applied_width = -1

    def on_mount(self) -> None:
        """Add the columns; their widths follow the widget's size."""
        for key in self.COLUMNS:
            self.add_column("", key=key, width=1)

    def column_widths(self, width: int) -> dict[str, int]:
        """Column widths for a table ``width`` cells wide (padding excluded by subclasses)."""
        return {self.COLUMNS[0]: max(1, width - 2 * self.cell_padding)}

    def on_resize(self, event: events.Resize) -> None:
        """Give the columns the new width and redraw rows that were laid out for the old one.

        Rows are cut to the width they were drawn for, and the first draw can come before
        layout has settled, so a width change always redraws (the DataTable drops its own
        render caches itself).

        Textual sends a scrolling widget a Resize on every layout of the screen, size
        changed or not; answering those with a full repaint of every table would make any
        card move repaint the whole board, so only a new width is acted on.
        """
        width = self.content_width()
        if width == self._applied_width:
            return
        self._applied_width = width
        self.apply_widths(width)
        if self._replay is not None and width != self._drawn_width:
            self._replay()

    def remember(self, replay: Callable[[], None]) -> None:
        """Record how to redraw the rows just shown, should the width change."""
        self._replay = replay
        self._drawn_width = self.content_width()

    def content_width(self) -> int:
        """Cells available to the columns: the width less the vertical scrollbar."""
        return max(1, self.size.width - self.styles.scrollbar_size_vertical)

    def apply_widths(self, width: int) -> None:
        """Set every column's width for a table ``width`` cells wide."""
        widths = self.column_widths(width)
        for key, column in self.columns.items():
            column.width = widths.get(str(key.value), column.width)
        total = sum(c.get_render_width(self) for c in self.columns.values())
        self.virtual_size = Size(total, self.virtual_size.height)
        self.refresh()

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return None if row_key.value is None else str(row_key.value)

    def select_key(self, key: str) -> bool:
        """Put the cursor on row ``key``; False when there is no such row."""
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index, animate=False)
        return True

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [str(row.key.value) for row in self.ordered_rows]

    def sync(self, rows: Sequence[RowSpec]) -> None:
        """Make the table show exactly ``rows``, in that order, touching only what changed."""
        keep = self.selected_key
        wanted = {spec.key for spec in rows}
        with self.app.batch_update():
            for key in [k for k in self._shown if k not in wanted]:
                self.remove_row(key)
                del self._shown[key]
            for spec in rows:
                cells = (KeyedCell(spec.key, spec.cells[0]), *spec.cells[1:])
                sig = tuple(signature(cell) for cell in cells)
                old = self._shown.get(spec.key)
                if old is None:
                    self.add_row(*cells, key=spec.key, height=spec.height)
                elif old != sig:
                    for column, cell, before, after in zip(
                        self.COLUMNS, cells, old, sig, strict=False
                    ):
                        if before != after:
                            self.update_cell(spec.key, column, cell)
                self._shown[spec.key] = sig
            order = [spec.key for spec in rows]
            if order != self.row_keys():
                self._position = {key: index for index, key in enumerate(order)}
                self.sort(key=self._sort_key)
            if keep is not None and keep in wanted:
                self.select_key(keep)

    def _sort_key(self, cells: tuple[Any, ...]) -> int:
        first = cells[0]
        return self._position.get(first.row_key, 0) if isinstance(first, KeyedCell) else 0
