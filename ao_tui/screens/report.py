"""The morning report in the cockpit: the summary line, one row per session (outcome and
cause, CI cycles, reactions fired, human interventions, time to merge, tokens, cost), and
the evidence behind each failure. The same figures as ``ao-tui report`` (:mod:`core.report`).

It reads the store once when opened (a few indexed queries; no plugin is asked anything),
so what it shows is the report as of that moment; ``g`` reads it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.report import Report, build_report, summary
from core.report.text import HEADERS, cells

if TYPE_CHECKING:
    from core.engine import Engine

HINT = "↑↓ j k PgUp PgDn scroll · g refresh · esc q close"

_OUTCOME_STYLES = {
    "merged": "green",
    "escalated": "bold red",
    "died": "red",
    "killed": "yellow",
    "open": "cyan",
}
"""How an outcome is coloured; others (working, done) keep the text colour."""


def report_table(report: Report) -> Table:
    """Every session's row, coloured by outcome, under the column names."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for index, header in enumerate(HEADERS):
        table.add_column(header, no_wrap=True, justify="right" if 2 <= index <= 4 else "left")
    for line in report.lines:
        row = list(cells(line))
        style = _OUTCOME_STYLES.get(line.outcome, "")
        table.add_row(row[0], Text(row[1], style=style), *row[2:])
    return table


def evidence_table(report: Report) -> Table | None:
    """``app-4  API error (retry 7/10): 401 …`` for each session whose outcome has a why."""
    failed = [line for line in report.lines if line.why]
    if not failed:
        return None
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for line in failed:
        table.add_row(line.session, line.why)
    return table


class ReportScreen(ModalScreen[None]):
    """The report of every session in the store; scrolls; Esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="report.close", tooltip="Back to the board"),
        Binding("g", "refresh_report", "refresh", id="report.refresh"),
        Binding("j", "scroll(1)", "down", show=False),
        Binding("k", "scroll(-1)", "up", show=False),
    ]

    def __init__(self, engine: Engine) -> None:
        """The report read from ``engine``'s store, priced by its config."""
        super().__init__(classes="dialog")
        self.engine = engine
        self.report = self._read()

    def _read(self) -> Report:
        return build_report(self.engine.store, self.engine.config.report)

    def compose(self) -> ComposeResult:
        """Title, the summary, the scrolling table and evidence, the hint line."""
        with Vertical(id="report-box", classes="dialog-box"):
            yield Static(
                Text("Morning report · every session", style="bold"), classes="dialog-title"
            )
            yield Static(summary(self.report), id="report-summary")
            with VerticalScroll(id="report-scroll"):
                yield Static(report_table(self.report), id="report-table")
                yield Static("", id="report-evidence", classes="dialog-note")
            yield Static(HINT, id="report-hint")

    def on_mount(self) -> None:
        """The scrolling body takes the keys; the evidence fills in."""
        self._show_evidence()
        self.query_one("#report-scroll", VerticalScroll).focus()

    def _show_evidence(self) -> None:
        evidence = self.query_one("#report-evidence", Static)
        table = evidence_table(self.report)
        evidence.display = table is not None
        if table is not None:
            evidence.update(table)

    def action_refresh_report(self) -> None:
        """Read the store again."""
        self.report = self._read()
        self.query_one("#report-summary", Static).update(summary(self.report))
        self.query_one("#report-table", Static).update(report_table(self.report))
        self._show_evidence()

    def action_scroll(self, lines: int) -> None:
        """Scroll the body by ``lines`` (j and k)."""
        self.query_one("#report-scroll", VerticalScroll).scroll_relative(y=lines, animate=False)

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
