"""A tmux pane's screen, with its colours, showing the bottom lines that fit.

Agents write at the bottom of their screen, so when the view is shorter than the pane the
last non-blank lines are the ones worth seeing. Lines are cropped, never wrapped: a
wrapped 200-column pane at 80 columns would be unreadable.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def tail(capture: str, height: int) -> Text:
    """The last ``height`` lines of ``capture`` (ANSI SGR kept), trailing blanks dropped."""
    lines = capture.rstrip("\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    shown = lines[-max(1, height) :] if lines else []
    text = Text.from_ansi("\n".join(shown), no_wrap=True, overflow="crop")
    text.no_wrap = True
    return text


class PaneView(Static):
    """Shows the latest capture of one pane; re-crops itself when resized."""

    DEFAULT_CSS = """
    PaneView { height: 1fr; overflow: hidden hidden; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        """An empty view (nothing captured yet)."""
        super().__init__("", id=id, classes=classes)
        self._capture = ""
        self._placeholder = ""

    @property
    def capture(self) -> str:
        """The raw capture shown (empty when a placeholder shows)."""
        return self._capture

    def show_capture(self, capture: str) -> None:
        """Show a new capture (ANSI text as returned by ``tmux capture-pane -e``)."""
        self._capture = capture
        self._placeholder = ""
        self._paint()

    def show_placeholder(self, message: str) -> None:
        """Show why there is no screen (not running, no selection, pane gone)."""
        self._capture = ""
        self._placeholder = message
        self._paint()

    def on_resize(self) -> None:
        """A new height shows a different number of bottom lines."""
        self._paint()

    def _paint(self) -> None:
        # The view's size comes from its container, never from the screen it shows, so a
        # new capture is a repaint: a layout would cost a reflow of the whole screen.
        if self._placeholder or not self._capture:
            self.update(Text(self._placeholder, style="italic"), layout=False)
            return
        self.update(tail(self._capture, self.size.height or 24), layout=False)
