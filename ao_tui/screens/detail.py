"""Session detail: the live terminal, the transcript, the review, the events and the facts.

Events and transcript are read in a thread when the screen opens; the terminal follows
the app's capture loop (the app captures the detail's session while this screen shows).
The Review tab shows the stored PR with its unresolved threads; ``f`` forwards them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane, Tabs
from textual.worker import Worker

from ao_tui.messages import Delivered, deliver
from ao_tui.review import review_view
from ao_tui.role_tags import role_tag
from ao_tui.widgets.card import state_word
from ao_tui.widgets.pane_view import PaneView
from ao_tui.widgets.reaction_mark import info_rows
from ao_tui.widgets.transcript import TranscriptView
from ao_tui.workers import WorkerScreen
from core.engine import Engine
from core.errors import AoError
from core.event_summary import summary, waiting_text
from core.humanize import age
from core.inert import inert
from core.models import Event, Role, Session, SessionPR, Turn
from core.review_threads import threads_message
from core.slots import ConversationTurns
from core.zones import zone_of

MAX_EVENTS = 300
"""How many of the session's latest events the timeline shows."""


def session_events(engine: Engine, session_id: str) -> list[Event]:
    """The latest events of one session (blocking: reads the whole log in pages)."""
    found: list[Event] = []
    seq = 0
    while True:
        batch = engine.store.events_after(seq, limit=5000)
        if not batch:
            break
        found.extend(e for e in batch if e.session_id == session_id)
        seq = batch[-1].seq
        del found[:-MAX_EVENTS]
    return found


def zone_shown(session: Session) -> str:
    """The Info tab's zone: the orchestrator is in none (pinned above them); a reviewer's
    says whose head it reviews."""
    if session.role is Role.ORCHESTRATOR:
        return "none: the orchestrator, pinned above the zones"
    tag = role_tag(session)
    return f"{zone_of(session).value} ({tag})" if tag else zone_of(session).value


def info_table(session: Session, now: float, reactions: str = "on") -> Table:
    """Every fact about a session, including the signals behind its current state and the
    reaction at work (``reactions``: whether they run for it, :meth:`ReactionsView.of`)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    activity = session.activity
    rows = [
        ("id", session.id),
        ("title", session.title),
        ("project", session.project),
        ("agent", f"{session.agent} (attempt {session.attempt})"),
        ("zone", zone_shown(session)),
        (
            "lifecycle",
            session.lifecycle.value
            + (f": {session.lifecycle_reason}" if session.lifecycle_reason else ""),
        ),
        ("state", f"{state_word(session)} for {age(now - activity.since)}"),
        ("signal", f"{activity.source.value}: {activity.detail or '-'}"),
        ("waiting for", waiting_text(activity.waiting_for) or "-"),
        ("branch", f"{session.branch} (from {session.base_branch or '?'})"),
        ("worktree", session.worktree),
        ("tmux", f"{session.tmux} pane {session.pane_id or '-'}"),
        ("agent session", session.agent_session_id or "-"),
        ("issue", session.issue or "-"),
        *pr_rows(session.pr),
        *info_rows(session.reaction, reactions, now),  # what is being done about the PR
        ("transcript", str(session.extra.get("transcript_path") or "-")),
        ("created", f"{age(now - session.created_at)} ago"),
    ]
    for name, value in rows:
        # The app hands over sessions already inert; this keeps any other caller safe too.
        table.add_row(name, Text(inert(value)))
    return table


def pr_rows(pr: SessionPR | None) -> list[tuple[str, str]]:
    """The PR as named fields: where, state, CI, review, mergeable, blockers one per line."""
    if pr is None:
        return [("pull request", "- (no commits ahead of the base yet)")]
    where = f"#{pr.number} {pr.url or ''}".strip() if pr.number else "local branch"
    rows = [
        ("pull request", where),
        ("PR state", pr.state),
        ("CI", pr.ci),
        ("review", pr.review),
        ("mergeable", "yes" if pr.mergeable else "no"),
        ("blockers", _bullets(pr.blockers) or "none"),
    ]
    if pr.notes:
        rows.append(("notes", _bullets(pr.notes)))
    if pr.conflicts:
        rows.append(("conflicts", _bullets(pr.conflicts)))
    if pr.ahead is not None or pr.behind is not None:
        head = pr.head_sha[:10] or "?"
        rows.append(("head", f"{head} · {pr.ahead or 0} ahead, {pr.behind or 0} behind the base"))
    if pr.threads:
        rows.append(("review threads", f"{len(pr.threads)} unresolved (Review tab)"))
    if pr.problem:
        rows.append(("host problem", pr.problem))
    return rows


def _bullets(items: Sequence[str]) -> str:
    """A list as one ``• item`` line each."""
    return "\n".join(f"• {item}" for item in items)


def event_time(ts: float, now: float) -> str:
    """When an event happened, in local time: the time of day for the last 20 hours (a
    session's working day), with the date before that."""
    when = time.localtime(ts)
    if now - ts < 20 * 3600:
        return time.strftime("%H:%M:%S", when)
    return time.strftime("%b %d %H:%M", when)


class DetailScreen(WorkerScreen[None]):
    """Tabs Terminal / Transcript / Events / Info for one session; Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "back", id="detail.close", tooltip="Back to the board"),
        Binding(
            "f",
            "forward_threads",
            "forward review",
            id="detail.forward",
            tooltip="Send the unresolved review threads to the agent",
        ),
    ]

    class Loaded(Message):
        """Events and transcript turns, read in a thread."""

        def __init__(
            self,
            events: list[Event],
            turns: list[Turn] | None,
            error: str,
            problems: list[str] | None = None,
            speaker: str = "agent",
        ) -> None:
            """``turns`` is None when the session has no transcript; ``problems`` lists the
            transcript lines that could not be read; ``speaker`` labels the agent's turns."""
            super().__init__()
            self.events = events
            self.turns = turns
            self.speaker = speaker
            self.error = error
            self.problems = problems or []

    def __init__(self, engine: Engine, session: Session, now: float, reactions: str = "on") -> None:
        """Detail of ``session``; ``now`` is the engine clock for ages; ``reactions`` whether
        they run for it."""
        super().__init__(classes="detail")
        self.engine = engine
        self.session = session
        self.now = now
        self.reactions = reactions
        self.forwarding = False

    def compose(self) -> ComposeResult:
        """Title, tabs, footer."""
        with Vertical(id="detail-body"):
            title = inert(self.session.title, one_line=True)
            yield Static(Text(f"{self.session.id}  {title}", style="bold"), id="detail-title")
            with TabbedContent(id="detail-tabs"):
                with TabPane("Terminal", id="tab-terminal"):
                    yield PaneView(id="detail-pane")
                with TabPane("Transcript", id="tab-transcript"):
                    yield Static("reading…", id="transcript-status")
                with TabPane("Review", id="tab-review"):
                    yield Static(review_view(self.session.pr), id="detail-review")
                    yield Static("", id="review-status")
                with TabPane("Events", id="tab-events"):
                    yield DataTable(id="detail-events", cursor_type="row")
                with TabPane("Info", id="tab-info"), VerticalScroll(id="info-scroll"):
                    # Longer than 80x24 allows once a PR has blockers: it scrolls.
                    yield Static(
                        info_table(self.session, self.now, self.reactions), id="detail-info"
                    )
        yield Footer()

    def on_mount(self) -> None:
        """Start reading events and transcript."""
        table = self.query_one("#detail-events", DataTable)
        table.add_columns("time", "event", "what happened")
        self.query_one(PaneView).show_placeholder("capturing…")
        # Focus on the tab strip: left/right switch tabs without a mouse.
        self.query_one(Tabs).focus()
        self._load()

    def _turn_reader(self) -> ConversationTurns | None:
        """The session's agent plugin, if it can read its conversation file."""
        try:
            agent = self.engine.agent(self.session.agent)
        except AoError:
            return None  # an agent no longer installed: the tab says there is no transcript
        return agent if isinstance(agent, ConversationTurns) else None

    @work(thread=True, exclusive=True, group="detail-load", name="detail", exit_on_error=False)
    def _load(self) -> None:
        events = session_events(self.engine, self.session.id)
        raw = self.session.extra.get("transcript_path")
        turns: list[Turn] | None = None
        error = ""
        problems: list[str] = []
        reader = self._turn_reader()
        if raw and reader is not None:
            try:
                turns = reader.read_turns(Path(str(raw)), problems)
            except OSError as exc:
                error = f"cannot read {raw}: {exc.strerror or exc}"
        speaker = reader.speaker if reader is not None else "agent"
        self.post_message(self.Loaded(events, turns, error, problems, speaker))

    def on_detail_screen_loaded(self, message: Loaded) -> None:
        """Fill the timeline and the transcript."""
        table = self.query_one("#detail-events", DataTable)
        for event in message.events:
            # Commands, titles and host replies in the data: inert before the terminal.
            what = inert(summary(event.kind, event.data), one_line=True)
            kind = inert(event.kind, one_line=True)
            when = event_time(event.ts, self.now)
            table.add_row(when, kind, what, key=str(event.seq))
        status = self.query_one("#transcript-status", Static)
        if message.turns is None:
            status.update(
                Text(message.error or f"{self.session.agent} keeps no transcript we know")
            )
            return
        if message.problems:
            # Skipped lines are said, not hidden: the turns shown may miss what they held.
            status.update(Text(f"lines skipped: {'; '.join(message.problems)}", style="italic"))
        else:
            status.display = False
        self.query_one("#tab-transcript", TabPane).mount(
            TranscriptView(message.turns, speaker=message.speaker)
        )

    def show_capture(self, capture: str) -> bool:
        """The app's capture loop delivers the live terminal here; False when the screen
        has no terminal view yet (a capture started as it opened landed first)."""
        views = list(self.query(PaneView))
        for view in views:
            view.show_capture(capture)
        return bool(views)

    def show_unavailable(self, reason: str) -> None:
        """The pane cannot be captured."""
        for view in self.query(PaneView):
            view.show_placeholder(reason)

    def update_session(self, session: Session, now: float, reactions: str | None = None) -> None:
        """Keep the Info tab current as the session (or whether reactions run) changes."""
        self.session, self.now = session, now
        self.reactions = self.reactions if reactions is None else reactions
        self.query_one("#detail-info", Static).update(info_table(session, now, self.reactions))
        self.query_one("#detail-review", Static).update(review_view(session.pr))

    def action_forward_threads(self) -> None:
        """Send every unresolved review thread to the agent as one message."""
        status = self.query_one("#review-status", Static)
        text = threads_message(self.session.pr)
        if not text:
            status.update("no unresolved review threads to forward")
            return
        if self.forwarding:
            return
        self.forwarding = True
        status.update(f"forwarding the review threads to {self.session.id}…")
        self._forward(text)

    @work(thread=True, group="detail-forward", name="review forward", exit_on_error=False)
    def _forward(self, text: str) -> None:
        self.post_message(deliver(self.engine, self.session.id, text))

    def on_delivered(self, message: Delivered) -> None:
        """Say whether the agent got the threads."""
        self.forwarding = False
        status = self.query_one("#review-status", Static)
        if message.result is None:
            status.update(Text(f"not forwarded: {message.detail}", style="bold"))
            return
        status.update(Text(f"review threads {message.result.value}: {message.detail}"))

    def show_worker_error(self, worker: Worker[object], text: str) -> None:
        """Say which part could not be read or forwarded."""
        if worker.group == "detail-forward":
            self.forwarding = False
            self.query_one("#review-status", Static).update(
                Text(f"not forwarded: {text}", style="bold")
            )
        else:
            self.query_one("#transcript-status", Static).update(f"cannot read: {text}")

    def action_close(self) -> None:
        """Back to the board."""
        self.dismiss(None)
