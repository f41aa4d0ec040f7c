"""The cockpit: every agent session on one board, sorted by what it needs from the operator.

The engine runs in this process, but the event loop never waits on it: every engine call
(tmux, git, SQLite) runs in a thread worker that ends by posting a typed message
(:mod:`ao_tui.messages`), and only handlers on the event loop touch widgets. When this
process wins the engine lease it also runs the reconcile loop; otherwise a daemon (or
another cockpit) reconciles and this one follows the event log. Either way each new event
re-reads the sessions it names (woken by a watch on the store's files, or at once by this
process's reconciler) and those rows are diffed into the board; a full reload every few
seconds is only a safety net.

Quitting only stops this process; sessions live in tmux and keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState

from ao_tui.commands import CockpitCommands
from ao_tui.keymap import (
    ALL_COMMANDS,
    APP_COMMANDS,
    DEFAULT_KEYMAP,
    Command,
    KeymapError,
    keys_for,
    resolve_keymap,
)
from ao_tui.messages import (
    ActionDone,
    EngineEvents,
    PaneCaptured,
    PaneUnavailable,
    SessionsLoaded,
)
from ao_tui.screens.ci import CiScreen
from ao_tui.screens.confirm_kill import ConfirmKillScreen, KillChoice
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.diff import DiffScreen
from ao_tui.screens.help import HelpScreen
from ao_tui.screens.merge import MergeScreen
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.send import SendScreen
from ao_tui.widgets.board import Board
from ao_tui.widgets.card import CardPalette
from ao_tui.widgets.config_line import ConfigLine
from ao_tui.widgets.orphan_line import OrphanLine
from ao_tui.widgets.preview import Preview
from ao_tui.widgets.zone_counts import ZoneCounts, count_zones
from ao_tui.workers import WorkerScreen, error_text
from core.activity.watch import watch_dirs
from core.config_reload import ConfigFollower, Reload
from core.daemon import reconcile_loop
from core.engine import Engine
from core.errors import EngineError
from core.humanize import age
from core.inert import inert_session
from core.inventory import take_inventory
from core.lease import EngineLease
from core.models import ActivityState, Event, Lifecycle, Session, Zone
from core.slots import SlotError
from core.store import Store
from core.zones import zone_of

REASON_MAX = 72
"""Longest "why it needs you" text in a toast or notification."""
CAPTURE_INTERVAL = 0.25
"""Seconds between pane captures of the selected session (at most ~4 a second)."""
SAFETY_RELOADS = 10
"""Every this many refresh intervals the sessions are re-read even without an event."""
MAX_CAPTURE_SKIP = 7
"""At most this many capture ticks skipped in a row: an idle pane is still read every 2 s."""
NEWS_GATHER = 0.25
"""Seconds without another arrival in Needs you before the arrivals so far are announced
(together: one reconcile tick moving many sessions is one piece of news)."""
NEWS_MAX_WAIT = 1.0
"""Longest an arrival waits for its announcement while more keep coming."""
STORE_RESYNC = 2.0
"""Seconds after which the event log is read even without a wake-up (a missed watch)."""
ORPHAN_INTERVAL = 15.0
"""Seconds between two inventories of orphaned and half-done sessions (a few git calls)."""

_CLOSED = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})
_SESSION_ACTIONS = frozenset(
    {"attach", "detail", "send", "answer", "kill", "restore", "ci", "diff", "merge", "approve_pr"}
)
_ORDERED_ACTIONS = tuple(sorted(_SESSION_ACTIONS))


def _read_changes(store: Store, seq: int) -> tuple[list[Event], dict[str, Session | None]]:
    """The events after ``seq`` and the current row of every session they name (as shown)."""
    events = store.events_after(seq)
    ids = dict.fromkeys(event.session_id for event in events)
    return events, {session_id: _shown(store.get_session(session_id)) for session_id in ids}


def _shown(session: Session | None) -> Session | None:
    """A session as the cockpit shows it: titles, reasons and PR text made inert.

    The one door through which sessions reach the widgets, so no card, toast, dialog or
    title line can pass an escape from an issue title or a hook to the terminal.
    """
    return None if session is None else inert_session(session)


def _ages(sessions: Iterable[Session], now: float) -> list[str]:
    """The "how long" text of each session at ``now`` (what the board shows of the clock)."""
    return [age(now - s.activity.since) for s in sessions]


def _freeze_heap() -> None:
    """Move everything alive after the first board into the collector's permanent set.

    The board, the theme and the session rows are a large heap that lives as long as the
    cockpit; each full collection walking it took ~80 ms, long enough to delay a card
    move past its budget at random. Frozen, a full collection only walks what came after.
    Undone on unmount (tests build many cockpits in one process).
    """
    gc.freeze()


def osc9(text: str, *, inside_tmux: bool) -> str:
    """The OSC 9 desktop notification for ``text``, wrapped for tmux passthrough if needed.

    Control characters are dropped so a session title can never end the sequence early or
    smuggle another escape into the operator's terminal.
    """
    clean = "".join(ch for ch in text if ch.isprintable())[:200]
    sequence = f"\x1b]9;{clean}\x07"
    if inside_tmux:
        # tmux swallows OSC 9 unless it arrives in a DCS passthrough (allow-passthrough on).
        sequence = "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    return sequence


def same_tmux_server(runtime: Any, tmux_env: str | None) -> bool:
    """Whether this process runs inside the tmux server that holds the agent sessions."""
    if not tmux_env:
        return False
    socket_path = tmux_env.split(",", 1)[0]
    socket_name = getattr(runtime, "socket_name", None) or "default"
    return Path(socket_path).name == socket_name


def matches(session: Session, needle: str) -> bool:
    """Whether the filter text occurs in the session's id, title or branch."""
    needle = needle.lower()
    return any(needle in field.lower() for field in (session.id, session.title, session.branch))


def needs_you_reason(session: Session, limit: int = REASON_MAX) -> str:
    """One short line saying why a session landed in Needs you (toasts must stay small
    at 80x24; the preview shows the whole story)."""
    activity = session.activity
    waiting = activity.waiting_for or {}
    if activity.state is ActivityState.WAITING_INPUT and waiting.get("tool"):
        command = waiting.get("command")
        reason = f"permission: {waiting['tool']}" + (f" {command}" if command else "")
    elif session.lifecycle is Lifecycle.EXITED:
        reason = session.lifecycle_reason or "the agent exited"
    else:
        reason = activity.detail or activity.state.value
    first = " ".join(reason.strip().splitlines()[0].split()) if reason.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


class CockpitApp(App[None]):
    """The cockpit for one engine (one config): board, preview, detail, dialogs."""

    CSS_PATH = "cockpit.tcss"
    TITLE = "ao-tui"
    AUTO_FOCUS = None  # the board focuses its own table once it knows which view shows
    COMMANDS: ClassVar[set[type[Any] | Callable[[], type[Any]]]] = {CockpitCommands}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        command.binding() for command in APP_COMMANDS
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        notify_bell: bool = True,
        reconcile: bool = True,
        keymap: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        cursor_blink: bool = True,
        refresh_interval: float = 1.0,
        config_path: Path | None = None,
    ) -> None:
        """Embed ``engine``; ``keymap`` maps binding ids to keys (see :mod:`ao_tui.keymap`).

        ``config_path`` is the file ``engine.config`` came from: the cockpit reloads it
        when it changes (:mod:`core.config_reload`).
        """
        super().__init__()
        self.engine = engine
        self.config_path = config_path
        self.notify_bell = notify_bell
        self.reconcile = reconcile
        self.keymap_overrides = resolve_keymap(keymap)
        self.clock = clock or engine.clock
        self.cursor_blink = cursor_blink
        self.refresh_interval = refresh_interval
        self.sessions: dict[str, Session] = {}
        self.now = 0.0
        self.filter_text = ""
        self.palette = CardPalette()
        self.status = "following"
        self.lease: EngineLease | None = None
        self.detail: DetailScreen | None = None
        self._stop: asyncio.Event | None = None
        self._needs_you: set[str] | None = None
        self._reload_running = False
        self._reload_again = False
        self._capture_running = False
        self._ages_shown: tuple[str, ...] = ()
        self._capture_skip = 0
        """Capture ticks still to skip: a screen that stopped changing is read less often."""
        self._capture_backoff = 0
        self._last_capture: tuple[str, str] | None = None
        self._capture_started: tuple[str, float] | None = None
        self._captured: tuple[str, float] | None = None
        """The session whose screen was last captured, and when that capture began."""
        self._binding_state: tuple[Any, ...] = ()
        self._select_after_load: str | None = None
        self._suspended = False
        self._store_changed = asyncio.Event()
        self._tickets = 0
        self._reload_ticket = 0
        self._row_read: dict[str, int] = {}
        """Per session, the ticket of the read its shown row came from."""
        self._news: list[str] = []
        """Sessions that came to need the operator, not yet announced."""
        self._news_timer: Timer | None = None
        self._news_since = 0.0
        self._heap_frozen = False
        self._tick_error = ""
        """The last reconcile failure shown (a loop failing every second toasts once)."""

    # layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Counts line, filter (hidden), board, preview, footer."""
        # Kept as attributes: App.query_one searches the top screen, which is a dialog
        # whenever one is open.
        self.counts = ZoneCounts(id="counts")
        self.orphan_line = OrphanLine(id="orphans")
        self.config_line = ConfigLine(id="config-error")
        self.filter_input = Input(
            placeholder="filter: id, title or branch", id="filter", compact=True, disabled=True
        )
        self.filter_input.cursor_blink = self.cursor_blink
        self.board = Board(id="board")
        self.board.selection_listener = self._selection_changed
        self.preview = Preview(id="preview")
        yield self.counts
        yield self.orphan_line
        yield self.config_line
        yield self.filter_input
        yield self.board
        yield self.preview
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Apply the keymap and theme, take the lease if free, start following the store."""
        if self.keymap_overrides:
            self.set_keymap(self.keymap_overrides)
        self.palette = CardPalette.from_theme(self.theme_variables)
        self.board.palette = self.palette
        self._stop = asyncio.Event()
        if self.reconcile:
            self.lease = EngineLease(self.engine.locations.engine_lock)
            if self.lease.acquire():
                self.status = "reconciling"
                self.run_worker(
                    self._reconcile_loop(), name="reconcile", group="engine", exit_on_error=False
                )
            else:
                self.lease = None
                self.status = "following the daemon"
        # The follower reads the sessions once it knows where the event log ends, so no
        # change can fall between that first read and the events it follows.
        self.run_worker(self._follow_store(), name="events", group="engine", exit_on_error=False)
        if self.config_path is not None:
            follower = ConfigFollower(self.engine, self.config_path, known_keys=DEFAULT_KEYMAP)
            self.run_worker(
                follower.follow(self._stop, self._config_reloaded),
                name="config",
                group="engine",
                exit_on_error=False,
            )
        # Changes arrive as events (this process's and, through the store's files, any
        # other's); the slow reload is only a safety net. Ages tick from the cached rows.
        self.set_interval(
            self.refresh_interval * SAFETY_RELOADS, self.request_reload, name="reload"
        )
        self.set_interval(self.refresh_interval, self._tick_ages, name="ages")
        self.set_interval(CAPTURE_INTERVAL, self._capture_tick, name="capture")
        if self.reconcile:
            self.set_interval(ORPHAN_INTERVAL, self._check_orphans, name="orphans")
            self._check_orphans()

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def _check_orphans(self) -> None:
        """Count what no row owns or an interrupted operation left (shown under the counts)."""
        findings = take_inventory(self.engine, judge_work=False).findings
        self.post_message(OrphanLine.Found(findings))

    def on_orphan_line_found(self, message: OrphanLine.Found) -> None:
        """Show or hide the orphan line."""
        self.orphan_line.show(message.findings)

    def _config_reloaded(self, found: Reload) -> None:
        self.post_message(ConfigLine.Reloaded(found))

    def on_config_line_reloaded(self, message: ConfigLine.Reloaded) -> None:
        """The config file changed: say what changed, or why it is not used (line + toast)."""
        found = message.reload
        self.config_line.show(found.error)
        name = self.config_path.name if self.config_path is not None else "config"
        if found.error:
            self.notify(
                found.error,
                title=f"{name} not reloaded: previous config kept",
                severity="error",
                timeout=10,
                markup=False,
            )
            return
        if found.config is None:
            return
        self.notify_bell = found.config.cockpit.bell
        try:
            self.set_keymap(resolve_keymap(dict(found.config.cockpit.keys)))
        except KeymapError as exc:
            self.config_line.show(f"cockpit.keys: {exc}")
        self.notify(found.summary, title=f"{name} reloaded", markup=False)

    def on_unmount(self) -> None:
        """Stop reconciling and give the lease back; sessions are not touched."""
        if self._heap_frozen:
            gc.unfreeze()
        if self._stop is not None:
            self._stop.set()
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    # engine following -----------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        assert self._stop is not None
        await reconcile_loop(
            self.engine,
            self._stop,
            interval=self.refresh_interval,
            on_events=self._post_events,
            on_error=self._tick_failed,
        )

    def _post_events(self, events: list[Event]) -> None:
        self._tick_error = ""
        self.post_message(EngineEvents(events))

    async def _follow_store(self) -> None:
        """Apply each change to the store, by whichever process, to the sessions it names.

        A watch on the database files wakes this the moment another process commits;
        this process's reconciler wakes it directly. It reads the new events and only the
        sessions they name (one thread hop for both), and updates those rows: a reload of
        every session per change would cost as much again as the change itself.
        """
        store = self.engine.store
        wake = self._store_changed
        stop = self._stop
        assert stop is not None
        try:
            seq = await asyncio.to_thread(store.last_event_seq)
        finally:
            self.request_reload()
        names = {store.path.name, store.path.name + "-wal"}
        watcher = asyncio.create_task(
            watch_dirs(
                lambda: [store.path.parent],
                wake.set,
                stop,
                recursive=False,
                accept=names.__contains__,
            )
        )
        try:
            while not stop.is_set():
                # Cleared before reading: a commit landing during the read wakes us again.
                wake.clear()
                ticket = self._next_ticket()
                events, changed = await asyncio.to_thread(_read_changes, store, seq)
                if events:
                    seq = events[-1].seq
                    self._apply_changes(changed, ticket)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), STORE_RESYNC)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def on_engine_events(self, message: EngineEvents) -> None:
        """This process's reconciler wrote: have the follower read it now."""
        self._store_changed.set()

    def _apply_changes(self, changed: Mapping[str, Session | None], ticket: int) -> None:
        """Put freshly read sessions in place and show them; older reads never win."""
        if not changed:
            return
        for session_id, session in changed.items():
            if self._row_read.get(session_id, -1) > ticket:
                continue  # a read that began later has already shown this row
            self._row_read[session_id] = ticket
            if session is None:
                self.sessions.pop(session_id, None)
            else:
                self.sessions[session_id] = session
        self.now = self.clock()
        self._announce_needs_you(list(self.sessions.values()))
        self.refresh_view()
        shown = self.sessions.get(self.detail.session.id) if self.detail is not None else None
        if self.detail is not None and shown is not None and shown.id in changed:
            self.detail.update_session(shown, self.now)

    def _next_ticket(self) -> int:
        """A number for a read of the store about to begin, larger than any before it.

        A full reload and a per-row read run in different threads and may land in either
        order; per row, what the read that began last saw is what is shown. Taken on the
        event loop, so the order is that of the reads, whatever the clocks say.
        """
        self._tickets += 1
        return self._tickets

    def request_reload(self) -> None:
        """Read every session in a thread; requests during a read coalesce into one more."""
        if self._reload_running:
            self._reload_again = True
            return
        self._reload_running = True
        self._reload_ticket = self._next_ticket()
        self._reload()

    def _tick_ages(self) -> None:
        """Redraw "how long" texts from the sessions already read (no database read)."""
        if not self.sessions:
            return
        now = self.clock()
        # Ages show whole minutes: most ticks change no text, and then nothing is redrawn.
        shown = tuple(age(now - s.activity.since) for s in self.sessions.values())
        if shown == self._ages_shown:
            return
        self._ages_shown = shown
        self.now = now
        self.refresh_view()

    @work(thread=True, group="reload", exit_on_error=False)
    def _reload(self) -> None:
        sessions = [inert_session(session) for session in self.engine.list()]
        self.post_message(SessionsLoaded(sessions, self.clock()))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        """Diff the fresh sessions into the board; announce new Needs-you sessions."""
        self._reload_running = False
        previous, self.sessions = self.sessions, {}
        ticket = self._reload_ticket
        for session in message.sessions:
            self.sessions[session.id] = session
            known = previous.get(session.id)
            if known is not None and self._row_read.get(session.id, -1) > ticket:
                self.sessions[session.id] = known  # the follower already showed a newer row
            else:
                self._row_read[session.id] = ticket
        # The safety reload mostly finds what the events already brought: then the board,
        # whose diff alone costs milliseconds for a big fleet, is left as it is.
        unchanged = (
            self._heap_frozen  # not the first read
            and self.sessions == previous
            and _ages(previous.values(), self.now) == _ages(previous.values(), message.now)
        )
        self.now = message.now
        if not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(_freeze_heap)
        self._announce_needs_you(list(self.sessions.values()))
        if not unchanged:
            self.refresh_view()
        if self._select_after_load and self.board.focus_session(self._select_after_load):
            self._select_after_load = None
        if self.detail is not None and self.detail.session.id in self.sessions:
            self.detail.update_session(self.sessions[self.detail.session.id], self.now)
        if self._reload_again:
            self._reload_again = False
            self.request_reload()

    def refresh_view(self) -> None:
        """Board, counts and preview from the sessions last read and the filter."""
        every = list(self.sessions.values())
        shown = [s for s in every if matches(s, self.filter_text)] if self.filter_text else every
        with self.batch_update():
            self.board.show(shown, self.now)
            self.counts.show(
                count_zones(every),
                self.palette,
                status=self.status,
                filter_text=self.filter_text,
                shown=len(shown),
            )
            self._show_selected()

    def _show_selected(self) -> None:
        session = self.selected_session()
        self.preview.show_session(session, self.now, self.palette, self._answer_hint())
        # Which session keys apply, not which session is selected: a refresh of the
        # bindings recomposes the footer and relayouts the screen, far too slow for
        # every cursor move.
        state = tuple(self.applies(action) for action in _ORDERED_ACTIONS)
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def _answer_hint(self) -> str:
        by_id = {c.id: c for c in APP_COMMANDS}
        yes = self.describe_keys(by_id["session.approve"])
        no = self.describe_keys(by_id["session.deny"])
        return f"{yes} approves · {no} denies"

    def _announce_needs_you(self, sessions: list[Session]) -> None:
        current = {s.id for s in sessions if zone_of(s) is Zone.NEEDS_YOU}
        previous, self._needs_you = self._needs_you, current
        if previous is None:
            return  # the first read is the state we start from, not news
        arrived = [s.id for s in sessions if s.id in current - previous]
        if not arrived:
            return
        # Changes are applied as each commit lands, so one reconcile tick moving many
        # sessions arrives in several pieces: gather them and tell them as one piece of news.
        self._news.extend(i for i in arrived if i not in self._news)
        now = time.monotonic()
        if self._news_timer is None:
            self._news_since = now
            self._news_timer = self.set_timer(NEWS_GATHER, self._tell_news, name="news")
        elif now - self._news_since < NEWS_MAX_WAIT:
            self._news_timer.reset()  # more is arriving: wait for the burst to end

    def _tell_news(self) -> None:
        """Toast, bell and OSC 9 for the sessions that came to need the operator."""
        if self._news_timer is not None:
            self._news_timer.stop()
        self._news_timer = None
        ids, self._news = self._news, []
        waiting = self._needs_you or set()
        # One that left Needs you meanwhile no longer needs telling.
        arrived = [self.sessions[i] for i in ids if i in waiting and i in self.sessions]
        for session in arrived[:3]:
            self.notify(
                needs_you_reason(session),
                title=f"{session.id} needs you",
                severity="warning",
                timeout=8,
                markup=False,  # the agent's command, not markup: "[x]" must show as written
            )
        if len(arrived) > 3:
            self.notify(f"and {len(arrived) - 3} more", title="Needs you", severity="warning")
        if arrived and self.notify_bell:
            first = arrived[0]
            self.ring(f"ao-tui: {first.id} needs you: {needs_you_reason(first)}")

    def ring(self, text: str) -> None:
        """Bell plus an OSC 9 notification that reaches the operator's terminal over SSH."""
        self.bell()
        self.write_raw(osc9(text, inside_tmux=bool(os.environ.get("TMUX"))))

    def write_raw(self, sequence: str) -> None:
        """Write an escape sequence to the real terminal (through the driver's writer)."""
        driver = self._driver
        if driver is None or self.is_headless or self._suspended:
            return
        driver.write(sequence)
        driver.flush()

    # selection and preview ------------------------------------------------------------

    def selected_session(self) -> Session | None:
        """The session under the board's cursor."""
        selected = self.board.selected_id
        return self.sessions.get(selected) if selected else None

    def _selection_changed(self, _session_id: str | None) -> None:
        """The board's selection listener: preview and bindings follow the cursor."""
        self._last_capture = None
        self._capture_skip = self._capture_backoff = 0
        self._show_selected()
        self._capture_tick()

    def _capture_target(self) -> Session | None:
        if self.detail is not None:
            return self.sessions.get(self.detail.session.id, self.detail.session)
        if not self.preview.display:
            return None
        return self.selected_session()

    def _capture_tick(self) -> None:
        if self._capture_running:
            return
        if self._capture_skip > 0:
            self._capture_skip -= 1
            return
        session = self._capture_target()
        if session is None or not session.pane_id or session.lifecycle in _CLOSED:
            return
        if self._pane_quiet(session):
            return
        self._capture_running = True
        self._capture_started = (session.id, time.time())
        self._capture(session.id, session.pane_id)

    def _pane_quiet(self, session: Session) -> bool:
        """Whether the screen shown for ``session`` is still its pane's screen.

        The runtime may know (tmux lists each window's last output on every reconcile
        tick) that nothing was written since the last capture began; then capturing again,
        a tmux fork each time, would only return the same screen.
        """
        shown, captured = self._last_capture, self._captured
        if shown is None or shown[0] != session.id or captured is None:
            return False
        if captured[0] != session.id:
            return False
        quiet_since = getattr(self.engine.runtime, "quiet_since", None)
        return quiet_since is not None and bool(quiet_since(session.pane_id, captured[1]))

    @work(thread=True, group="capture", exit_on_error=False)
    def _capture(self, session_id: str, pane_id: str) -> None:
        try:
            text = self.engine.runtime.capture(pane_id, ansi=True)
        except SlotError as exc:
            self.post_message(PaneUnavailable(session_id, f"pane unavailable: {exc}"))
            return
        self.post_message(PaneCaptured(session_id, text))

    def on_pane_captured(self, message: PaneCaptured) -> None:
        """Repaint the pane only when its screen changed."""
        self._capture_running = False
        if self._capture_started is not None and self._capture_started[0] == message.session_id:
            self._captured = self._capture_started
        key = (message.session_id, message.text)
        if key == self._last_capture:
            # Unchanged: back off up to 2 s between reads (each costs a tmux fork); any
            # change, or another selection, goes back to four reads a second.
            self._capture_backoff = min(self._capture_backoff * 2 or 1, MAX_CAPTURE_SKIP)
            self._capture_skip = self._capture_backoff
            return
        self._capture_skip = self._capture_backoff = 0
        self._last_capture = key
        self.preview.show_capture(message.session_id, message.text)
        if self.detail is not None and self.detail.session.id == message.session_id:
            self.detail.show_capture(message.text)

    def on_pane_unavailable(self, message: PaneUnavailable) -> None:
        """Say why there is no screen."""
        self._capture_running = False
        self._last_capture = None
        self.preview.show_unavailable(message.session_id, message.reason)
        if self.detail is not None and self.detail.session.id == message.session_id:
            self.detail.show_unavailable(message.reason)

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        """The app's own workers report here; dialogs hand theirs to :meth:`worker_failed`."""
        if event.state is WorkerState.ERROR:
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """The one place worker failures surface: shown, flags reset, the cockpit runs on.

        A dialog's worker also gets its error back in the dialog's own status line.
        """
        error = error_text(worker.error)
        if worker.group == "reload":
            self._reload_running = False
            self.notify(error, title="cannot read sessions", severity="error", markup=False)
        elif worker.group == "capture":
            self._capture_running = False
            session = self._capture_target()
            if session is not None:
                self.preview.show_unavailable(session.id, f"capture failed: {error}")
        else:
            title = f"{worker.name or worker.group} failed"
            self.notify(error, title=title, severity="error", timeout=10, markup=False)
        node = worker.node
        if isinstance(node, WorkerScreen):
            node.show_worker_error(worker, error)
        if worker.name == "events" and self._stop is not None and not self._stop.is_set():
            # Without the follower the board only moves on the slow safety reload.
            self.set_timer(STORE_RESYNC, self._restart_follower, name="follower restart")

    def _restart_follower(self) -> None:
        if self._stop is not None and not self._stop.is_set():
            self.run_worker(
                self._follow_store(), name="events", group="engine", exit_on_error=False
            )

    def _tick_failed(self, error: Exception) -> None:
        """A reconcile tick failed; the loop carries on. Said once per distinct error."""
        text = error_text(error)
        if text != self._tick_error:
            self._tick_error = text
            self.notify(text, title="reconcile failed", severity="error", timeout=10, markup=False)

    # bindings -------------------------------------------------------------------------

    def applies(self, action: str) -> bool:
        """Whether a session action makes sense for the selected session."""
        session = self.selected_session()
        if action not in _SESSION_ACTIONS:
            if action == "clear_filter":
                return bool(self.filter_text) or isinstance(self.focused, Input)
            return True
        if session is None:
            return False
        if action == "attach":
            return session.lifecycle not in _CLOSED
        if action == "send":
            return session.lifecycle in (Lifecycle.RUNNING, Lifecycle.PAUSED)
        if action == "answer":
            return (
                session.activity.state is ActivityState.WAITING_INPUT
                and session.lifecycle is Lifecycle.RUNNING
            )
        if action == "kill":
            return session.lifecycle is not Lifecycle.KILLED
        if action == "restore":
            return session.lifecycle in (Lifecycle.EXITED, Lifecycle.KILLED)
        if action in ("ci", "diff"):
            return session.pr is not None
        if action in ("merge", "approve_pr"):
            return (
                session.pr is not None
                and session.pr.get("state") != "merged"
                and session.lifecycle is not Lifecycle.MERGED
            )
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys that do not apply (y/n only when waiting, r only when stopped…)."""
        if action in _SESSION_ACTIONS or action == "clear_filter":
            if self.screen is not self.screen_stack[0]:
                return False  # a dialog is open; Enter belongs to it
            if action != "clear_filter" and isinstance(self.focused, Input):
                return False  # typing a filter; Enter submits it
            return self.applies(action)
        return True

    def command_applies(self, command: Command) -> bool:
        """Whether the palette should offer ``command`` now."""
        if command.id.startswith("board."):
            return True
        return self.applies(command.action.split("(", 1)[0])

    async def run_palette_command(self, target: str, action: str) -> None:
        """Run a palette choice as if its key had been pressed."""
        namespace = self.board if target == "board" else self
        await self.run_action(action, namespace)

    def describe_keys(self, command: Command) -> str:
        """The keys of ``command`` under the keymap in force, as the footer shows them."""
        keys = keys_for(command, self.keymap_overrides).split(",")
        return "/".join(self.get_key_display(Binding(key, "")) for key in keys)

    # session actions ------------------------------------------------------------------

    def run_engine_action(self, verb: str, session_id: str, call: Callable[[], str]) -> None:
        """Run one engine call in a thread; its summary becomes a toast."""

        def run() -> None:
            summary = call()
            self.post_message(ActionDone(verb, session_id, summary))

        self.run_worker(
            run, name=f"{verb} {session_id}", group="action", thread=True, exit_on_error=False
        )

    def on_action_done(self, message: ActionDone) -> None:
        """Show what the action did and read the new state."""
        self.notify(
            message.summary,
            title=f"{message.session_id}: {message.verb}",
            severity="information",
            markup=False,  # summaries quote blockers and host replies
        )
        self.request_reload()

    def action_attach(self) -> None:
        """Put this terminal on the session's tmux pane (switch-client inside tmux)."""
        session = self.selected_session()
        if session is not None:
            self._attach_to_session(session.id)

    @work(group="attach", name="attach", exclusive=True, exit_on_error=False)
    async def _attach_to_session(self, session_id: str) -> None:
        argv = await asyncio.to_thread(self.engine.attach_argv, session_id)
        runtime = self.engine.runtime
        tmux_env = os.environ.get("TMUX")
        if "switch-client" in argv and same_tmux_server(runtime, tmux_env):
            # The client moves to the agent's session; this app keeps running in its own.
            await asyncio.to_thread(subprocess.run, argv, check=False, capture_output=True)
            self.notify(
                "prefix L (last session) switches back here", title=f"switched to {session_id}"
            )
            return
        argv = ["attach-session" if part == "switch-client" else part for part in argv]
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        try:
            # batch_update: a repaint while suspended deadlocks the in-process engine's UI.
            with self.batch_update(), self.suspend():
                self._suspended = True
                try:
                    process = await asyncio.create_subprocess_exec(*argv, env=env)
                    await process.wait()
                finally:
                    self._suspended = False
        except SuspendNotSupported:
            self.notify(" ".join(argv), title="cannot hand over this terminal; run")
            return
        self.request_reload()

    def action_detail(self) -> None:
        """Open the session detail (terminal, transcript, events, info)."""
        session = self.selected_session()
        if session is None:
            return
        self.detail = DetailScreen(self.engine, session, self.now)
        self._last_capture = None
        self.push_screen(self.detail, callback=self._detail_closed)
        self._capture_tick()

    def _detail_closed(self, _: None) -> None:
        self.detail = None
        self._last_capture = None

    def action_send(self) -> None:
        """Open the message editor for the selected session."""
        session = self.selected_session()
        if session is not None:
            screen = SendScreen(self.engine, session, cursor_blink=self.cursor_blink)
            self.push_screen(screen, callback=lambda _: self.request_reload())

    def action_answer(self, yes: bool) -> None:
        """Answer the pending permission prompt (y approves, n denies)."""
        session = self.selected_session()
        if session is None:
            return
        word = "yes" if yes else "no"

        def call() -> str:
            after = self.engine.respond(session.id, yes)
            return f"answered {word}; now {after.activity.state.value}"

        self.run_engine_action(f"answer {word}", session.id, call)

    def action_new_session(self) -> None:
        """Open the spawn form."""
        screen = NewSessionScreen(
            self.engine, list(self.sessions.values()), cursor_blink=self.cursor_blink
        )
        self.push_screen(screen, callback=self._spawned)

    def _spawned(self, session: Session | None) -> None:
        if session is None:
            return
        self.notify(f"on {session.branch}", title=f"spawned {session.id}")
        self._select_after_load = session.id
        self.request_reload()

    def action_kill(self) -> None:
        """Confirm, then kill (saving uncommitted work unless the operator discards it)."""
        session = self.selected_session()
        if session is not None:
            self.push_screen(ConfirmKillScreen(session), callback=partial(self._kill, session))

    def _kill(self, session: Session, choice: KillChoice | None) -> None:
        if choice is None:
            return
        discard = choice is KillChoice.DISCARD

        def call() -> str:
            killed, wip = self.engine.kill(session.id, discard=discard)
            # A merged session stays merged: the kill only removed what it left behind.
            done = "killed" if killed.lifecycle is Lifecycle.KILLED else "leftovers removed"
            if wip:
                return f"{done}; uncommitted work saved as {wip[:10]} on {killed.branch}"
            if discard:
                return f"{done}; uncommitted work discarded, branch {killed.branch} kept"
            return f"{done}; nothing uncommitted, branch {killed.branch} kept"

        self.run_engine_action("kill", session.id, call)

    def action_restore(self) -> None:
        """Restart an exited or killed session in place."""
        session = self.selected_session()
        if session is None:
            return

        def call() -> str:
            restored = self.engine.restore(session.id)
            return f"restored (attempt {restored.attempt})"

        self.run_engine_action("restore", session.id, call)

    # review actions -------------------------------------------------------------------

    def action_ci(self) -> None:
        """The selected session's CI checks and the failing log."""
        session = self.selected_session()
        if session is not None:
            self.push_screen(
                CiScreen(self.engine, session), callback=lambda _: self.request_reload()
            )

    def action_diff(self) -> None:
        """The selected session's branch against its base."""
        session = self.selected_session()
        if session is not None:
            self.push_screen(DiffScreen(self.engine, session))

    def action_merge(self) -> None:
        """Confirm (showing every blocker), then merge the selected session's branch."""
        session = self.selected_session()
        if session is None:
            return
        try:
            method = self.engine.project(session.project).merge.method
        except EngineError:
            method = "merge"
        screen = MergeScreen(self.engine, session, method=method)
        self.push_screen(screen, callback=partial(self._merged, session))

    def _merged(self, session: Session, sha: str | None) -> None:
        if sha:
            self.notify(
                f"merged as {sha[:10]} into {session.base_branch or 'base'}",
                title=f"{session.id}: merged",
            )
        self.request_reload()

    def action_approve_pr(self) -> None:
        """Approve the selected session's PR at its current head."""
        session = self.selected_session()
        if session is None:
            return

        def call() -> str:
            approved = self.engine.approve(session.id)
            pr = approved.pr or {}
            blockers = "; ".join(pr.get("blockers") or []) or "none"
            return f"approved; PR {pr.get('state')}; blockers: {blockers}"

        self.run_engine_action("approve", session.id, call)

    # view actions ---------------------------------------------------------------------

    def action_filter(self) -> None:
        """Show the filter line and type into it."""
        field = self.filter_input
        field.add_class("-active")
        field.disabled = False
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.refresh_view()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        field = self.filter_input
        field.set_class(bool(self.filter_text), "-active")
        field.disabled = not self.filter_text
        self.board.active_table().focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and go back to the board."""
        field = self.filter_input
        field.value = ""
        field.remove_class("-active")
        field.disabled = True
        self.filter_text = ""
        self.refresh_view()
        self.board.active_table().focus()

    def action_toggle_preview(self) -> None:
        """Show or hide the preview (more rows for the board at 80x24)."""
        self.preview.display = not self.preview.display

    def action_help(self) -> None:
        """Every key, as mapped now."""
        displays = {}
        for command in ALL_COMMANDS:
            for key in keys_for(command, self.keymap_overrides).split(","):
                displays[key] = self.get_key_display(Binding(key, ""))
        self.push_screen(HelpScreen(self.keymap_overrides, displays))

    async def action_quit(self) -> None:
        """Leave the cockpit; every session keeps running in tmux."""
        if self._stop is not None:
            self._stop.set()
        running = sum(1 for s in self.sessions.values() if s.lifecycle not in _CLOSED)
        self.exit(
            message=f"ao-tui: {running} session(s) keep running; `ao-tui` reopens the cockpit."
        )
