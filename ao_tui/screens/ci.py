"""The CI view of one session: its checks, failing first, and the failing check's log.

Everything the engine does here (reading checks, rerunning CI, sending the excerpt to the
agent) runs in a thread and ends in a message. The full log of a check can be tens of
megabytes: :class:`LogScreen` reads its tail first in a thread, shows it, then the rest,
and draws it with :class:`~ao_tui.screens.diff.LineView`, which only renders what is on
screen.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker

from ao_tui.messages import Delivered, deliver
from ao_tui.screens.diff import REVIEW_CSS, LineStyler, LineView, measure
from ao_tui.workers import WorkerScreen
from core.ci_report import CI_STATE_ORDER, CiReport
from core.engine import Engine
from core.errors import EngineError
from core.inert import inert
from core.models import DeliveryResult, Session
from core.redact import env_secrets, redact

FIRST_TAIL_BYTES = 256 * 1024
"""How much of a log's end is shown first, while the rest is read."""

MAX_LOG_BYTES = 64 * 1024 * 1024
"""How much of a log's end is read at most; older output is left to the file itself."""

RUNNING_REFRESH = 3.0
"""Seconds between re-reads of the checks while one is still running."""

_FAILING_LINE = re.compile(
    r"\b(FAIL(ED|URE|S)?|ERROR|[Ee]rror|Traceback|[Aa]ssert(ion)?|[Ee]xception|panic)\b"
    r"|^E\s|^\s*[✗✘]"
)


def failing_line(line: str) -> bool:
    """Whether a log line reports a failure (error, failed test, traceback, assertion)."""
    return bool(_FAILING_LINE.search(line))


def format_duration(seconds: float | None) -> str:
    """``12.3s``, ``4m 05s``, or ``—`` when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def excerpt_text(excerpt: str, error_colour: str) -> Text:
    """The excerpt with its failing lines in the error colour."""
    text = Text(no_wrap=False)
    lines = inert(excerpt).splitlines()
    for line in lines:
        text.append(line, style=f"bold {error_colour}" if failing_line(line) else "")
        text.append("\n")
    text.rstrip()
    return text if lines else Text("no log excerpt for this check", style="italic")


def send_text(check: dict[str, Any], head_sha: str) -> str:
    """The message that hands a check's excerpt to the agent: one framing line, then it.

    The log is whatever the build printed: inert (``core.inert``), so an escape in it shows
    as ``^[`` instead of ending the paste and typing the rest at the agent.
    """
    state = "failing" if check.get("state") == "failing" else f"{check.get('state')}"
    name = inert(str(check.get("name")), one_line=True)
    framing = f"CI check {name!r} is {inert(state, one_line=True)} on {head_sha[:10]}. "
    framing += "Please fix it; the log excerpt:"
    return f"{framing}\n\n{inert(str(check.get('excerpt') or '')).strip()}\n"


def shown_checks(report: CiReport) -> list[dict[str, Any]]:
    """The report's checks as the view shows them: failing first, then running, passing
    (stable within each), each masked and its excerpt bounded (``CheckRun.to_json``)."""
    ordered = sorted(report.checks, key=lambda check: CI_STATE_ORDER[check.state])
    return [check.to_json() for check in ordered]


def read_log_tail(path: Path, limit: int) -> tuple[list[str], int]:
    """The last ``limit`` bytes of a log as clean, masked lines, and the file size (blocking).

    The log on disk is the CI command's raw output; what a test printed (a token, the
    value of a secret variable of this environment) is masked before it is shown.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        start = max(0, size - limit)
        handle.seek(start)
        data = handle.read()
    # Colours go; any other escape shows as ^[ rather than hiding what the build printed.
    # Masked after: a token split by a colour code is whole again only once it is gone.
    text = redact(inert(data.decode("utf-8", errors="replace")), env_secrets())
    lines = text.splitlines()
    if start and lines:
        lines = lines[1:]  # the first line is cut mid-way
    return lines, size


def log_styler(colours: dict[str, str]) -> LineStyler:
    """Failing lines of a log in the error colour, the rest plain."""
    failing = Style.parse(colours.get("error", "red")) + Style(bold=True)
    plain = Style()
    return lambda line: failing if failing_line(line) else plain


class CiScreen(WorkerScreen[None]):
    """A session's CI checks; r reruns, s sends the excerpt to the agent, l opens the log."""

    DEFAULT_CSS = (
        REVIEW_CSS
        + """
    #ci-checks {
        height: auto;
        max-height: 40%;
    }
    #ci-excerpt-box {
        height: 1fr;
        padding: 0 1;
        border-top: solid $panel-lighten-1;
    }
    #ci-excerpt {
        height: auto;
    }
    """
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="ci.close", tooltip="Back to the board"),
        Binding("r", "rerun", "rerun", id="ci.rerun", tooltip="Run CI again on this head"),
        Binding("s", "send_excerpt", "send to agent", id="ci.send", tooltip="Send the excerpt"),
        Binding("l", "open_log", "full log", id="ci.log", tooltip="The whole log, scrollable"),
    ]

    class Loaded(Message):
        """The engine's answer to ``ci`` (or why there is none)."""

        def __init__(
            self,
            report: CiReport | None,
            error: str = "",
            verb: str = "",
            checks: list[dict[str, Any]] | None = None,
        ) -> None:
            """``verb`` says what produced it ("rerun" or ""); ``checks`` are the report's
            as shown (:func:`shown_checks`, worked out in the worker's thread)."""
            super().__init__()
            self.report = report
            self.checks = checks or []
            self.error = error
            self.verb = verb

    def __init__(self, engine: Engine, session: Session) -> None:
        """The CI of ``session``'s current head."""
        super().__init__(classes="review-screen")
        self.engine = engine
        self.session = session
        self.report = CiReport.of([], "", None)
        """The engine's last answer (none yet: no checks, no head)."""
        self.checks: list[dict[str, Any]] = []
        """The report's checks as shown (:func:`shown_checks`)."""
        self.loading = False
        self.sending = False

    def compose(self) -> ComposeResult:
        """Title, checks table, excerpt of the highlighted check, status, footer."""
        with Vertical(id="ci-body"):
            yield Static(self._title(), id="ci-title", classes="review-title")
            table: DataTable[Text | str] = DataTable(
                id="ci-checks", cursor_type="row", zebra_stripes=False
            )
            table.add_columns("check", "state", "duration")
            yield table
            with VerticalScroll(id="ci-excerpt-box"):
                yield Static("", id="ci-excerpt")
            yield Static("reading CI…", id="ci-status", classes="review-note")
        yield Footer(compact=True, show_command_palette=False)

    def _title(self) -> Text:
        head = self.report.head_sha
        return Text.assemble(
            ("CI ", "bold"),
            (self.session.id, "bold"),
            f"  {self.session.title}",
            (f"  @ {head[:10]}" if head else "", "dim"),
        )

    def on_mount(self) -> None:
        """Read the checks in a thread; re-read every few seconds while one runs."""
        self.query_one(DataTable).focus()
        self._load(run=False)
        self.set_interval(RUNNING_REFRESH, self._refresh_running, name="ci-refresh")

    def _refresh_running(self) -> None:
        if self.report.state == "running" and not self.loading:
            self._load(run=False)

    def _load(self, *, run: bool) -> None:
        self.loading = True
        self._fetch(run)

    @work(thread=True, group="ci", name="CI", exit_on_error=False)
    def _fetch(self, run: bool) -> None:
        verb = "rerun" if run else ""
        try:
            report = self.engine.ci(self.session.id, run=run)
        except EngineError as exc:
            self.post_message(self.Loaded(None, str(exc), verb))
            return
        # Masking and bounding the excerpts is string work: here, off the event loop.
        self.post_message(self.Loaded(report, verb=verb, checks=shown_checks(report)))

    def on_ci_screen_loaded(self, message: Loaded) -> None:
        """Fill the table (failing first, as the engine sorts them) and the excerpt."""
        self.loading = False
        if message.report is None:
            self._status(f"cannot read CI: {message.error}", error=True)
            return
        self.report = message.report
        self.checks = message.checks
        self.query_one("#ci-title", Static).update(self._title())
        table: DataTable[Text | str] = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        colours = self.app.theme_variables
        state_colour = {
            "failing": colours.get("error", "red"),
            "running": colours.get("warning", "yellow"),
            "passing": colours.get("success", "green"),
        }
        for check in self.checks:
            state = str(check.get("state", "none"))
            table.add_row(
                Text(inert(str(check.get("name", "?")), one_line=True)),
                Text(state, style=f"bold {state_colour.get(state, '')}".strip()),
                format_duration(check.get("duration")),
            )
        if self.checks:
            table.move_cursor(row=min(row, len(self.checks) - 1))
        self._show_excerpt()
        summary = f"CI {self.report.state}"
        if not self.checks:
            summary += " · no checks for this head (is a CI command configured?)"
        changed = self.report.command_changed()
        if changed:
            summary += f" · ci.command changed since (r runs it): {inert(changed, one_line=True)!r}"
        if message.verb == "rerun":
            summary = f"rerun started · {summary}"
        self._status(summary)

    def selected_check(self) -> dict[str, Any] | None:
        """The check under the table's cursor."""
        checks = self.checks
        if not checks:
            return None
        row = self.query_one(DataTable).cursor_row
        return checks[min(max(row, 0), len(checks) - 1)]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_excerpt()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open_log()

    def _show_excerpt(self) -> None:
        check = self.selected_check()
        excerpt = self.query_one("#ci-excerpt", Static)
        if check is None:
            excerpt.update("")
            return
        excerpt.update(
            excerpt_text(str(check.get("excerpt") or ""), self.app.theme_variables["error"])
        )

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#ci-status", Static)
        status.update(Text(text, style="bold" if error else ""))

    def action_rerun(self) -> None:
        """Start a new CI run of the current head (the view follows it)."""
        if self.loading:
            self._status("CI is being read; try again in a moment")
            return
        self._status("starting a new CI run…")
        self._load(run=True)

    def action_send_excerpt(self) -> None:
        """Send the highlighted check's excerpt to the agent as a message."""
        check = self.selected_check()
        if check is None or not str(check.get("excerpt") or "").strip():
            self._status("no excerpt to send")
            return
        if self.sending:
            return
        self.sending = True
        name = inert(str(check.get("name")), one_line=True)
        self._status(f"sending the excerpt of {name} to {self.session.id}…")
        self._send(send_text(check, self.report.head_sha))

    @work(thread=True, group="ci-send", name="CI excerpt", exit_on_error=False)
    def _send(self, text: str) -> None:
        self.post_message(deliver(self.engine, self.session.id, text))

    def on_delivered(self, message: Delivered) -> None:
        """Say whether the agent got it."""
        self.sending = False
        if message.result is None:
            self._status(f"not sent: {message.detail}", error=True)
            self.notify(
                message.detail, title=f"{self.session.id}: not sent", severity="error", markup=False
            )
            return
        summary = f"excerpt {message.result.value}: {message.detail}"
        failed = message.result is DeliveryResult.FAILED
        self._status(summary, error=failed)
        self.notify(
            summary,
            title=f"{self.session.id}: CI excerpt",
            severity="error" if failed else "information",
            markup=False,
        )

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """Reading, rerunning or sending broke: clear the busy flag, say what failed."""
        if worker.group == "ci-send":
            self.sending = False
            self._status(f"not sent: {text}", error=True)
        else:
            self.loading = False
            self._status(f"cannot read CI: {text}", error=True)

    def action_open_log(self) -> None:
        """The highlighted check's whole log, when it has one on disk."""
        check = self.selected_check()
        log = str(check.get("log") or "") if check else ""
        if not log:
            url = inert(str(check.get("url")), one_line=True) if check and check.get("url") else ""
            self._status(f"no local log for this check{f'; see {url}' if url else ''}")
            return
        name = inert(str(check and check.get("name")), one_line=True)
        self.app.push_screen(LogScreen(Path(log), title=f"{self.session.id} · {name}"))

    def action_close(self) -> None:
        """Back to the board."""
        self.dismiss(None)


class LogScreen(WorkerScreen[None]):
    """One CI log, scrollable; its end shows first, the rest arrives from a thread."""

    DEFAULT_CSS = REVIEW_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "close", id="log.close", tooltip="Back to the checks"),
    ]

    class Chunk(Message):
        """Lines of the log's end, read in a thread (``complete`` once all is read)."""

        def __init__(
            self, lines: list[str], width: int, size: int, complete: bool, error: str = ""
        ) -> None:
            """``size`` is the file's size in bytes."""
            super().__init__()
            self.lines = lines
            self.width = width
            self.size = size
            self.complete = complete
            self.error = error

    def __init__(self, path: Path, *, title: str) -> None:
        """The log at ``path``."""
        super().__init__(classes="review-screen")
        self.path = path
        self.log_title = title
        self.complete = False

    def compose(self) -> ComposeResult:
        """Title, the log, a note on how much of it shows."""
        with Vertical(id="log-body"):
            yield Static(
                Text.assemble(("Log ", "bold"), self.log_title, (f"  {self.path}", "dim")),
                classes="review-title",
            )
            yield Static("reading the log…", id="log-note", classes="review-note")
            yield LineView(log_styler(self.app.theme_variables), id="log-lines")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Start reading; the view takes keys at once."""
        self.query_one(LineView).focus()
        self._read()

    @work(thread=True, exclusive=True, group="log", name="CI log", exit_on_error=False)
    def _read(self) -> None:
        try:
            lines, size = read_log_tail(self.path, FIRST_TAIL_BYTES)
            complete = size <= FIRST_TAIL_BYTES
            self.post_message(self.Chunk(lines, measure(lines), size, complete))
            if not complete:
                lines, size = read_log_tail(self.path, MAX_LOG_BYTES)
                self.post_message(self.Chunk(lines, measure(lines), size, True))
        except OSError as exc:
            self.post_message(self.Chunk([], 0, 0, True, str(exc)))

    def on_log_screen_chunk(self, message: Chunk) -> None:
        """Show what was read, keeping the operator's place if they scrolled."""
        note = self.query_one("#log-note", Static)
        if message.error:
            note.update(Text(f"cannot read the log: {message.error}", style="bold"))
            return
        view = self.query_one(LineView)
        at_end = not view.lines or view.at_end
        offset_from_end = len(view.lines) - int(view.scroll_offset.y)
        top = max(0, len(message.lines) - offset_from_end)
        view.set_lines(message.lines, message.width, scroll_end=at_end, top=top)
        self.complete = message.complete
        size = _megabytes(message.size)
        if not message.complete:
            note.update(f"{len(message.lines):,} lines of the end of {size}; reading the rest…")
        elif message.size > MAX_LOG_BYTES:
            note.update(
                f"the last {_megabytes(MAX_LOG_BYTES)} of {size} ({len(message.lines):,} lines)"
            )
        else:
            note.update(f"{len(message.lines):,} lines · {size}")

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """The log could not be read."""
        note = self.query_one("#log-note", Static)
        note.update(Text(f"cannot read the log: {text}", style="bold"))

    def action_close(self) -> None:
        """Back to the checks."""
        self.dismiss(None)


def _megabytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
