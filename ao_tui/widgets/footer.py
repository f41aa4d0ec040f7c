"""The board's footer: the keys that apply now, with help and quit always on screen.

Textual's footer lays the keys out in a row and clips what does not fit, so at 80 columns
the last ones (``? help``, ``q quit``) fell off the right edge. This one measures the keys
first: help and quit always show at the right end, and the other keys fill the room left
in their usual order, the ones that do not fit replaced by ``…``.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer

# Textual exports the footer's items only from its private module.
from textual.widgets._footer import FooterKey, FooterLabel

ESSENTIAL_ACTIONS = frozenset({"help", "quit"})
"""The actions whose keys are never cut: how to learn the rest, and how to leave."""

MORE = "…"


def key_width(widget: Widget) -> int:
    """Cells a footer item takes in the compact footer, its right margin included."""
    if isinstance(widget, FooterKey):
        text = widget.key_display + (f" {widget.description}" if widget.description else "")
        return cell_len(text) + 1
    return 12  # a key group; the cockpit binds none, so this only keeps the sum safe


def fit_keys(widths: list[int], essential: int, room: int) -> int:
    """How many of the other keys (with ``widths``) fit before the essential ones.

    ``essential`` is the width the essential keys take; when some keys must go, the ``…``
    that says so takes two cells too.
    """
    if sum(widths) + essential <= room:
        return len(widths)
    left = room - essential - cell_len(MORE) - 1
    count = 0
    for width in widths:
        if width > left:
            break
        left -= width
        count += 1
    return count


class CockpitFooter(Footer):
    """A compact footer that cuts from the middle, never help or quit."""

    DEFAULT_CSS = """
    CockpitFooter FooterLabel.-more {
        margin: 0 1 0 0;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        """Compact, without the palette key (``?`` lists it)."""
        super().__init__(id=id, compact=True, show_command_palette=False)
        self._laid_out_for = 0

    def compose(self) -> ComposeResult:
        """The keys that fit, ``…`` when some do not, then help and quit."""
        items = list(super().compose())
        essential = [
            item
            for item in items
            if isinstance(item, FooterKey) and item.action.rpartition(".")[2] in ESSENTIAL_ACTIONS
        ]
        others = [item for item in items if not any(item is e for e in essential)]
        # Before the first layout the width is 0: show everything, a resize follows.
        room = self.size.width or 10_000
        self._laid_out_for = self.size.width
        shown = fit_keys([key_width(item) for item in others], sum(map(key_width, essential)), room)
        yield from others[:shown]
        if shown < len(others):
            yield FooterLabel(MORE, classes="-more")
        yield from essential

    def on_resize(self, event: Resize) -> None:
        """Another width may fit other keys: lay them out again."""
        if event.size.width != self._laid_out_for:
            self.call_after_refresh(self.recompose)
