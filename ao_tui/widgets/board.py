"""The board: sessions by what they need from the operator, wide columns or one list.

At 100 columns and more each zone is a column of cards; below that the zones become one
list grouped under headers, so 80x24 over SSH stays fully usable. Whichever view shows
is diff-updated (see :mod:`ao_tui.widgets.keyed_table`); the other is left alone until a
resize brings it back. The board owns movement keys and reports the selected session
with :class:`Board.SelectionChanged`.

There is one selection, a session id, whichever view shows. Only the operator moves it
(keys, clicks, a jump); a redraw puts the cursor back on it wherever its card went: into
another zone after an action (an answered prompt goes to Working, a kill to Done, which
unfolds), or into the other view across a resize. Otherwise the cursor would stay on the
row it was on, and the next key would act on the card that slid under it. Only when the
session is no longer shown (filtered out, gone) does the cursor pick a neighbour.

The orchestrators are not in a zone: they sit on the pinned strip above the zones
(:mod:`ao_tui.widgets.pinned`). The selection moves onto the strip with ``0``, with ``k``
from the top of the board, or a click, and back down with ``j``; while it is there the
tables hide their cursor, so only one thing looks selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable

from ao_tui.keymap import BOARD_COMMANDS
from ao_tui.widgets.card import CardPalette
from ao_tui.widgets.grouped_list import GroupedList, is_header
from ao_tui.widgets.keyed_table import KeyedTable
from ao_tui.widgets.pinned import PinnedStrip, is_pinned
from ao_tui.widgets.zone_column import ZoneColumn, ZoneTable
from core.models import ZONE_ORDER, Event, Lifecycle, Role, Session, Zone
from core.prompts import Prompt
from core.zones import by_zone

WIDE_AT = 100
"""Below this many columns the board is one grouped list."""


def group(sessions: list[Session]) -> list[tuple[Zone, list[Session]]]:
    """Sessions by zone, in board order (the order :func:`core.zones.by_zone` decides)."""
    return by_zone(sessions)


class Board(Vertical):
    """Zone columns (wide) or the grouped list (narrow), plus the movement keys."""

    BINDINGS: ClassVar[list[BindingType]] = [command.binding() for command in BOARD_COMMANDS]

    class SelectionChanged(Message):
        """The session under the cursor changed (None: nothing selected)."""

        def __init__(self, session_id: str | None) -> None:
            """Name the newly selected session."""
            super().__init__()
            self.session_id = session_id

    def __init__(self, *, id: str | None = None) -> None:
        """An empty board; :meth:`show` fills it."""
        super().__init__(id=id)
        self.palette = CardPalette()
        self.folded: set[Zone] = {Zone.DONE}
        self._groups: list[tuple[Zone, list[Session]]] = [(z, []) for z in ZONE_ORDER]
        self._now = 0.0
        self._pinned: list[Session] = []
        self._actions: Mapping[str, Event] = {}
        self._pin: str | None = None
        """The orchestrator selected on the pinned strip (None: the selection is a card)."""
        self._zone_index = 0
        self._selected: str | None = None
        self._reported: str | None = None
        """The selection last told to the listener and in a SelectionChanged."""
        self._switching = False
        """True from a switch of view until its first redraw: the new view's cursor is
        stale then, and must not be taken for the operator's choice."""
        self.selection_listener: Callable[[str | None], None] | None = None
        """Called at once with each new selection, before :class:`SelectionChanged` is
        posted: a listener that repaints (the preview) lands in the same screen update
        as the moved cursor instead of a frame later."""

    def compose(self) -> ComposeResult:
        """Both views; CSS shows one by the ``-wide`` class."""
        # Kept as attributes: queries fail while the app tears the tree down, and a
        # reload can land right then.
        self.columns = [ZoneColumn(zone, index) for index, zone in enumerate(ZONE_ORDER)]
        self.grouped = GroupedList(id="grouped")
        self.strip = PinnedStrip(id="pinned")
        yield self.strip
        with Horizontal(id="zone-columns"):
            yield from self.columns
        yield self.grouped

    # state ----------------------------------------------------------------------------

    @property
    def wide(self) -> bool:
        """Whether the zone columns (not the grouped list) are showing."""
        return self.has_class("-wide")

    @property
    def selected_id(self) -> str | None:
        """The selected session's id."""
        return self._selected

    def active_table(self) -> KeyedTable:
        """The table the cursor keys act on."""
        if self.wide:
            return self.columns[self._zone_index].table
        return self.grouped

    def show(
        self, sessions: list[Session], now: float, actions: Mapping[str, Event] | None = None
    ) -> None:
        """Show ``sessions`` (already filtered), diffing the visible view; orchestrators go
        to the pinned strip (``actions``: each one's last action), the rest to the zones."""
        self._pinned = [s for s in sessions if is_pinned(s)]
        self._groups = group([s for s in sessions if s.role is not Role.ORCHESTRATOR])
        if actions is not None:
            self._actions = actions
        self._now = now
        self._redraw()

    @property
    def pinned_ids(self) -> list[str]:
        """The orchestrators on the pinned strip, top to bottom."""
        return [s.id for s in self._pinned]

    def on_resize(self) -> None:
        """Switch views at :data:`WIDE_AT` columns and re-fit rows once children have sized."""
        wide = self.size.width >= WIDE_AT
        if wide != self.wide:
            self._switching = True
            self.set_class(wide, "-wide")
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        if not self.is_attached or not self.grouped.is_attached:
            return
        self._unfold_selected()
        if self._pin not in self.pinned_ids:
            self._pin = None  # stopped, or gone: the selection goes back to the cards
        if self._pin is None and self._pinned and not any(s for _, s in self._groups):
            self._pin = self._pinned[0].id  # no card to select: the orchestrator is it
        self._paint_pin()
        if self.wide:
            for column in self.columns:
                sessions = self._groups[column.index][1]
                column.show(sessions, self._now, self.palette, folded=column.zone in self.folded)
        else:
            self.grouped.show(self._groups, self._now, self.palette, folded=self.folded)
        self._cursor_to_selected()
        self._ensure_cursor_home()
        self._switching = False
        self._update_selection()

    def _zone_index_of(self, session_id: str | None) -> int | None:
        """Index of the zone whose shown sessions include ``session_id``."""
        if session_id is None:
            return None
        for index, (_, sessions) in enumerate(self._groups):
            if any(s.id == session_id for s in sessions):
                return index
        return None

    def _unfold_selected(self) -> None:
        """The selected card moved into a folded zone (a kill, a merge): unfold it."""
        index = self._zone_index_of(self._selected)
        if index is not None:
            self.folded.discard(self._groups[index][0])

    def _cursor_to_selected(self) -> None:
        """Put the visible view's cursor on the selected session, in whichever zone it is."""
        index = self._zone_index_of(self._selected)
        if index is None or self._selected is None:
            return  # not shown any more: the cursor stays where the diff left it
        if self.wide:
            self._zone_index = index
        self.active_table().select_key(self._selected)

    def _ensure_cursor_home(self) -> None:
        """Keep focus on the visible view, on a zone that has cards when the current has none."""
        if self.wide and self.active_table().row_count == 0:
            for index, (zone, sessions) in enumerate(self._groups):
                if sessions and zone not in self.folded:
                    self._zone_index = index
                    break
        self._focus_table(self.active_table())

    def _focus_table(self, table: KeyedTable) -> None:
        """Give ``table`` the focus unless the operator is typing elsewhere (the filter)."""
        focused = self.screen.focused
        typing = focused is not None and not isinstance(focused, KeyedTable)
        if not typing and focused is not table and table.display:
            table.focus()

    def _update_selection(self) -> None:
        if self._switching:
            return
        for column in self.columns:
            column.set_class(column.index == self._zone_index, "-active")
        key = self.active_table().selected_key
        selected = None if is_header(key) else key
        if self._pin is not None:
            selected = self._pin
        self._selected = selected
        if selected != self._reported:
            self._reported = selected
            if self.selection_listener is not None:
                self.selection_listener(selected)
            self.post_message(self.SelectionChanged(selected))

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # Every zone table reports a highlight when it gets its first row; only the one
        # the operator is in decides the selection.
        if event.data_table is self.active_table():
            self._update_selection()

    def on_descendant_focus(self) -> None:
        """Clicking or tabbing into a zone table makes it the active one."""
        focused = self.screen.focused
        if isinstance(focused, ZoneTable) and not self._switching:
            self._zone_index = ZONE_ORDER.index(focused.zone)
            self._update_selection()

    def on_click(self, event: events.Click) -> None:
        """A click on a card takes the selection off the pinned strip (the table has moved
        its cursor to the card by now)."""
        if self._pin is not None and isinstance(event.widget, KeyedTable):
            self._pin_to(None)

    @on(PinnedStrip.Clicked)
    def _pinned_clicked(self, event: PinnedStrip.Clicked) -> None:
        event.stop()
        self._pin_to(event.session_id)

    def _pin_to(self, session_id: str | None) -> None:
        """Select an orchestrator's line (None: back to the card under the table's cursor)."""
        self._pin = session_id
        self._paint_pin()
        self._focus_table(self.active_table())
        self._update_selection()

    def _paint_pin(self) -> None:
        """Draw the pinned strip; the tables show their cursor only while it has no selection."""
        self.strip.show(self._pinned, self._actions, self._now, self.palette, self._pin)
        for table in (*(column.table for column in self.columns), self.grouped):
            table.show_cursor = self._pin is None

    def _at_top(self) -> bool:
        """Whether the cursor is on the first card of the view (nothing above it but headers)."""
        table = self.active_table()
        keys = table.row_keys()
        first = next((index for index, key in enumerate(keys) if not is_header(key)), None)
        return first is None or table.cursor_row <= first

    @on(ZoneColumn.TitleClicked)
    def _title_clicked(self, event: ZoneColumn.TitleClicked) -> None:
        if event.zone is Zone.DONE:
            self.action_toggle_done()

    # actions --------------------------------------------------------------------------

    def action_cursor_down(self) -> None:
        """Next session in the current zone (or list); from the pinned strip, its next line
        or back to the cards."""
        if self._pin is not None:
            ids = self.pinned_ids
            index = ids.index(self._pin) + 1
            self._pin_to(ids[index] if index < len(ids) else None)
            return
        self.active_table().action_cursor_down()
        # At once, not when the table's RowHighlighted arrives: the screen update that
        # paints the moved cursor must already carry the new selection (the preview
        # follows it), else the key waits a whole extra frame.
        self._update_selection()

    def action_cursor_up(self) -> None:
        """Previous session; from the top of the board, up onto the pinned strip."""
        ids = self.pinned_ids
        if self._pin is not None:
            index = ids.index(self._pin)
            if index:
                self._pin_to(ids[index - 1])
            return
        if ids and self._at_top():
            self._pin_to(ids[-1])
            return
        self.active_table().action_cursor_up()
        self._update_selection()

    def action_next_zone(self) -> None:
        """The next zone that has sessions."""
        self._step_zone(+1)

    def action_previous_zone(self) -> None:
        """The previous zone that has sessions."""
        self._step_zone(-1)

    def _current_zone_index(self) -> int:
        if self.wide:
            return self._zone_index
        zone = self.grouped.zone_at_cursor()
        return ZONE_ORDER.index(zone) if zone else 0

    def _step_zone(self, step: int) -> None:
        start = self._current_zone_index()
        for offset in range(1, len(ZONE_ORDER) + 1):
            index = (start + step * offset) % len(ZONE_ORDER)
            zone, sessions = self._groups[index]
            if sessions and zone not in self.folded:
                self.action_jump_zone(index)
                return

    def action_jump_zone(self, index: int) -> None:
        """Put the cursor on the first session of zone ``index`` (unfolding Done)."""
        zone, sessions = self._groups[index]
        if not sessions:
            self.notify(f"Nothing in {zone.value}", timeout=2)
            return
        if self._pin is not None:
            self._pin_to(None)
        if zone in self.folded:
            self.folded.discard(zone)
            self._redraw()
        if self.wide:
            self._zone_index = index
            table = self.active_table()
            table.focus()
            if table.row_count:
                table.move_cursor(row=0, animate=False)
        else:
            row = self.grouped.first_row_of(zone)
            if row is not None:
                self.grouped.move_cursor(row=row, animate=False)
        self._update_selection()

    def action_next_prompt(self) -> None:
        """Select the next session waiting on a prompt, in Needs-you order, cycling."""
        waiting = [
            s.id
            for s in self._groups[ZONE_ORDER.index(Zone.NEEDS_YOU)][1]
            if s.lifecycle is Lifecycle.RUNNING and Prompt.of(s) is not None
        ]
        if not waiting:
            self.notify("No session is waiting on a prompt", timeout=3)
            return
        if self._selected in waiting:
            if len(waiting) == 1:
                self.notify(f"{self._selected} is the only session waiting on a prompt", timeout=3)
                return
            target = waiting[(waiting.index(self._selected) + 1) % len(waiting)]
        else:
            target = waiting[0]
        self.focus_session(target)

    def action_toggle_done(self) -> None:
        """Fold or unfold the Done zone (folding moves the selection out of it first)."""
        done = ZONE_ORDER.index(Zone.DONE)
        if Zone.DONE not in self.folded and self._zone_index_of(self._selected) == done:
            self._selected = self._last_before(done)
        self.folded ^= {Zone.DONE}
        self._redraw()

    def _last_before(self, index: int) -> str | None:
        """The last session of the nearest non-empty, unfolded zone before zone ``index``."""
        for zone, sessions in reversed(self._groups[:index]):
            if sessions and zone not in self.folded:
                return sessions[-1].id
        return None

    def action_select_pinned(self) -> None:
        """Select the orchestrator on the pinned strip (the next one, with several)."""
        ids = self.pinned_ids
        if not ids:
            self.notify("No orchestrator is running (ao-tui start starts one)", timeout=3)
            return
        index = ids.index(self._pin) + 1 if self._pin in ids else 0
        self._pin_to(ids[index % len(ids)])

    def focus_session(self, session_id: str) -> bool:
        """Select ``session_id`` wherever it is (unfolding Done, or on the pinned strip);
        False when it is not shown."""
        if session_id in self.pinned_ids:
            self._pin_to(session_id)
            return True
        if self._zone_index_of(session_id) is None:
            return False
        self._pin = None
        self._selected = session_id
        self._redraw()
        return self._selected == session_id
