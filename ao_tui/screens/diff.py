"""The diff of a session branch against its base: files changed with counts, then the diff.

Both are read in a thread (``git diff`` of a big branch takes a while). The diff is shown
by :class:`LineView`, which styles only the lines on screen, so a 50,000-line diff opens as
fast as a ten-line one; past :data:`MAX_DIFF_LINES` it is cut, with a note saying where the
rest is. The CI log view reuses :class:`LineView` for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Static
from textual.worker import Worker

from ao_tui.workers import WorkerScreen
from core.engine import Engine
from core.errors import EngineError
from core.inert import inert
from core.models import Session

MAX_DIFF_LINES = 200_000
"""Lines of diff shown at most; the rest is left to ``ao-tui diff ID``."""

MAX_LINE_CELLS = 1_000
"""Cells of one line shown at most (minified files would make the view miles wide)."""

LineStyler = Callable[[str], Style]


def measure(lines: Sequence[str]) -> int:
    """The widest line in cells, capped at :data:`MAX_LINE_CELLS` (blocking: run in a thread)."""
    widest = 0
    for line in lines:
        # len() first: cell_len is slow, and only a long line can be the widest.
        if len(line) > widest:
            widest = max(widest, min(cell_len(line), MAX_LINE_CELLS))
    return widest


class LineView(ScrollView, can_focus=True):
    """A read-only view of many lines that renders (and styles) only the visible ones."""

    DEFAULT_CSS = """
    LineView {
        height: 1fr;
    }
    """

    def __init__(
        self,
        styler: LineStyler | None = None,
        *,
        id: str | None = None,
    ) -> None:
        """An empty view; ``styler`` picks each line's style from its text."""
        super().__init__(id=id)
        self.lines: list[str] = []
        self.pending_end = False
        self.styler = styler

    def set_lines(
        self, lines: list[str], width: int, *, scroll_end: bool = False, top: int = 0
    ) -> None:
        """Show ``lines`` (``width`` from :func:`measure`) from line ``top``, or at the end."""
        self.lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()
        self.pending_end = scroll_end

        def place() -> None:
            # After the refresh: until then the scroll limits are the old content's.
            self.pending_end = False
            if scroll_end:
                self.scroll_end(animate=False, immediate=True)
            else:
                self.scroll_to(y=top, animate=False, immediate=True)

        self.call_after_refresh(place)

    @property
    def at_end(self) -> bool:
        """Scrolled to the last line, or asked to be and about to be (the scroll lands
        only after the next refresh, and new lines may arrive before it)."""
        return self.pending_end or self.is_vertical_scroll_end

    def render_line(self, y: int) -> Strip:
        """One visible row: the line under it, styled, cut to the viewport."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        line = self.lines[index].expandtabs(4)[:MAX_LINE_CELLS]
        style = base + self.styler(line) if self.styler is not None else base
        strip = Strip([Segment(line, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, base)


def diff_styler(colours: dict[str, str]) -> LineStyler:
    """Unified-diff colouring from theme colours: additions, removals, hunks, file headers."""
    added = Style.parse(colours.get("success", "green"))
    removed = Style.parse(colours.get("error", "red"))
    hunk = Style.parse(colours.get("accent", "cyan"))
    header = Style(bold=True)
    plain = Style()

    def style(line: str) -> Style:
        if line.startswith(("diff --git", "+++", "---", "index ", "new file", "deleted file")):
            return header
        if line.startswith("+"):
            return added
        if line.startswith("-"):
            return removed
        if line.startswith("@@"):
            return hunk
        return plain

    return style


def stat_text(stat: str, colours: dict[str, str]) -> Text:
    """``git diff --stat`` output with its +/- bars coloured."""
    text = Text(no_wrap=True, overflow="ellipsis")
    added = colours.get("success", "green")
    removed = colours.get("error", "red")
    for line in stat.rstrip("\n").splitlines() or ["no changes against the base"]:
        name, bar, counts = line.partition("|")
        if not bar:
            text.append(line + "\n", style="bold")
            continue
        text.append(name + bar)
        for char in counts:
            text.append(char, style=added if char == "+" else removed if char == "-" else "")
        text.append("\n")
    text.rstrip()
    return text


REVIEW_CSS = """
.review-screen {
    background: $background;
}
.review-screen .review-title {
    height: 1;
    padding: 0 1;
    background: $panel;
}
.review-screen .review-note {
    height: auto;
    padding: 0 1;
    color: $text-muted;
}
.review-screen LineView {
    height: 1fr;
    padding: 0 1;
}
"""
"""Styles shared by the full-screen review views (diff, CI, log)."""


class DiffScreen(WorkerScreen[None]):
    """The session branch against its base; Esc closes, ]/[ jump between files."""

    DEFAULT_CSS = (
        REVIEW_CSS
        + """
    #diff-stat-box {
        height: auto;
        max-height: 35%;
        padding: 0 1;
        border-bottom: solid $panel-lighten-1;
    }
    #diff-stat {
        height: auto;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="diff.close", tooltip="Back to the board"),
        Binding(
            "right_square_bracket", "file(1)", "next file", id="diff.next_file", key_display="]"
        ),
        Binding(
            "left_square_bracket", "file(-1)", "prev file", id="diff.previous_file", key_display="["
        ),
    ]

    class Loaded(Message):
        """The stat and the diff, read and split (or why not)."""

        def __init__(
            self,
            stat: str,
            lines: list[str],
            width: int,
            total: int,
            error: str = "",
            file_starts: list[int] | None = None,
        ) -> None:
            """``total`` is the diff's full line count, ``lines`` at most the cap."""
            super().__init__()
            self.file_starts = file_starts or []
            self.stat = stat
            self.lines = lines
            self.width = width
            self.total = total
            self.error = error

    def __init__(self, engine: Engine, session: Session) -> None:
        """The diff of ``session``'s branch."""
        super().__init__(classes="review-screen")
        self.engine = engine
        self.session = session
        self.loaded = False
        self.file_starts: list[int] = []

    def compose(self) -> ComposeResult:
        """Title, stat (scrolls on its own), the diff, footer."""
        with Vertical(id="diff-body"):
            yield Static(
                Text.assemble(
                    ("Diff ", "bold"),
                    (self.session.id, "bold"),
                    f"  {self.session.branch} against {self.session.base_branch or 'base'}",
                ),
                id="diff-title",
                classes="review-title",
            )
            with VerticalScroll(id="diff-stat-box"):
                yield Static("reading the diff…", id="diff-stat")
            yield Static("", id="diff-note", classes="review-note")
            colours = self.app.theme_variables
            yield LineView(diff_styler(colours), id="diff-lines")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Read the diff in a thread; keys work meanwhile."""
        self.query_one(LineView).focus()
        self._load()

    @work(thread=True, exclusive=True, group="diff", name="diff", exit_on_error=False)
    def _load(self) -> None:
        try:
            stat = self.engine.diff(self.session.id, stat=True)
            diff = self.engine.diff(self.session.id)
        except EngineError as exc:
            self.post_message(self.Loaded("", [], 0, 0, str(exc)))
            return
        # The agent wrote these files: an escape in them must show, not reach the terminal.
        stat, lines = inert(stat), inert(diff).splitlines()
        total = len(lines)
        del lines[MAX_DIFF_LINES:]
        starts = [i for i, line in enumerate(lines) if line.startswith("diff ")]
        self.post_message(self.Loaded(stat, lines, measure(lines), total, file_starts=starts))

    def on_diff_screen_loaded(self, message: Loaded) -> None:
        """Show the stat and the diff (cut at the cap, saying so)."""
        self.loaded = True
        stat = self.query_one("#diff-stat", Static)
        note = self.query_one("#diff-note", Static)
        if message.error:
            stat.update(Text(f"cannot read the diff: {message.error}", style="bold"))
            return
        stat.update(stat_text(message.stat, self.app.theme_variables))
        self.file_starts = message.file_starts
        if message.total > len(message.lines):
            note.update(
                f"showing the first {len(message.lines):,} of {message.total:,} lines; "
                f"`ao-tui diff {self.session.id}` prints it all"
            )
        else:
            note.update(f"{message.total:,} lines · ]/[ next/previous file · PgUp/PgDn pages")
        self.query_one(LineView).set_lines(message.lines, message.width)

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """The diff could not be read: say so where the stat would be."""
        self.loaded = True
        self.query_one("#diff-stat", Static).update(
            Text(f"cannot read the diff: {text}", style="bold")
        )

    def action_file(self, step: int) -> None:
        """Scroll to the next (1) or previous (-1) file's header."""
        view = self.query_one(LineView)
        top = int(view.scroll_offset.y)
        if step > 0:
            targets = [i for i in self.file_starts if i > top]
        else:
            targets = [i for i in reversed(self.file_starts) if i < top]
        if targets:
            view.scroll_to(y=targets[0], animate=False)

    def action_close(self) -> None:
        """Back to the board."""
        self.dismiss(None)
