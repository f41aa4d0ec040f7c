"""The cockpit: every agent session on one board, sorted by what it needs from the operator.

The engine runs in this process, but the event loop never waits on it: every engine call
(tmux, git, SQLite) runs in a thread worker that ends by posting a typed message
(:mod:`ao_tui.messages`), and only handlers on the event loop touch widgets. When this
process wins the engine lease it also runs the reconcile loop; otherwise a daemon (or
another cockpit) reconciles and this one follows the event log, trying for the lease every
:data:`~core.lease.LEASE_POLL` seconds so that it takes over the moment the holder goes away
(the header says who watches; :mod:`ao_tui.watching`). Either way each new event
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

from textual import events, on, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.notifications import Notification, Notify, SeverityLevel
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from ao_tui import reaction_actions
from ao_tui.capture import CAPTURE_INTERVAL, CaptureThrottle
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
from ao_tui.messages import ActionDone, PaneCaptured, PaneUnavailable, SessionsLoaded
from ao_tui.news import NeedsYouNews
from ao_tui.orchestrator import LastActions, orchestrator_to_message, pinned_ids
from ao_tui.refusals import pressed_action, why_not
from ao_tui.screens.ci import CiScreen
from ao_tui.screens.confirm_kill import ConfirmKillScreen, KillChoice
from ao_tui.screens.detail import DetailScreen
from ao_tui.screens.diff import DiffScreen
from ao_tui.screens.help import HelpScreen
from ao_tui.screens.merge import MergeScreen
from ao_tui.screens.new_session import NewSessionScreen
from ao_tui.screens.report import ReportScreen
from ao_tui.screens.send import SendScreen
from ao_tui.terminal_sink import CockpitTerminal
from ao_tui.toasts import FactToasts, one_line, toast_margin
from ao_tui.watching import THIS_COCKPIT, UNKNOWN, Watching
from ao_tui.widgets.board import Board
from ao_tui.widgets.card import CardPalette
from ao_tui.widgets.config_line import ConfigLine
from ao_tui.widgets.first_run import FirstRun
from ao_tui.widgets.footer import CockpitFooter
from ao_tui.widgets.orphan_line import OrphanLine
from ao_tui.widgets.preview import Preview
from ao_tui.widgets.reaction_mark import ReactionsView
from ao_tui.widgets.watch_alarm import WatchAlarm
from ao_tui.widgets.zone_counts import ZoneCounts, count_zones
from ao_tui.workers import WorkerScreen, error_text
from core.artifacts import artifacts_stamp
from core.closed import is_closed
from core.config_reload import ConfigFollower, Reload
from core.daemon import reconcile_loop
from core.engine import Engine
from core.errors import EngineError
from core.feed import Batch
from core.humanize import age
from core.inert import inert_session
from core.inventory import take_inventory
from core.lease import LEASE_POLL, EngineLease, LeaseHolder, read_holder, wait_for_lease
from core.models import ActivityState, Event, Lifecycle, Role, Session
from core.notify.terminal import attach as attach_terminal
from core.notify.terminal import osc9
from core.prompts import Prompt, PromptChangedError, not_waiting
from core.slots import NamedServer, SlotError

SAFETY_RELOADS = 10
"""Every this many refresh intervals the sessions are re-read even without an event."""
STORE_RESYNC = 2.0
"""Seconds after which the event log is read even without a wake-up (a missed watch)."""
ORPHAN_INTERVAL = 15.0
"""Seconds between two looks for orphaned and half-done sessions (a stat of where they
appear; the inventory itself, a few git and tmux calls, only when that changed)."""
ORPHAN_SAFETY = 300.0
"""Seconds after which the inventory is taken even with nothing changed (a tmux session a
killed spawn left with nothing else)."""
NOBODY_GRACE = 0.5
"""Seconds nobody must hold the lease before the header says so: a holder's exit and its
successor's takeover (within LEASE_POLL) are not worth an alarm."""

_CLOSED = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})
_SESSION_ACTIONS = frozenset(
    {
        *("attach", "detail", "send", "answer", "answer_moot", "kill", "restore"),
        *("ci", "diff", "merge", "approve_pr", "send_orchestrator"),
        *reaction_actions.SESSION_ACTIONS,
    }
)
_ANSWERS = {"session.approve": True, "session.deny": False}
"""The answer keys; each has a hidden twin that says why there is nothing to answer."""


def moot_answer_bindings() -> list[Binding]:
    """y and n when no prompt is shown: not in the footer (it lists what applies), but a
    press says so instead of doing nothing (Textual tries a key's bindings in turn)."""
    return [
        Binding(c.keys, f"answer_moot({_ANSWERS[c.id]})", show=False, id=f"{c.id}.moot")
        for c in APP_COMMANDS
        if c.id in _ANSWERS
    ]


def with_moot_keys(keymap: Mapping[str, str]) -> dict[str, str]:
    """``keymap`` plus the keys of the answer twins, which follow their commands' keys."""
    twins = {
        f"{c.id}.moot": keymap[c.id] for c in APP_COMMANDS if c.id in _ANSWERS and c.id in keymap
    }
    return {**keymap, **twins}


_ORDERED_ACTIONS = tuple(sorted(_SESSION_ACTIONS))


def _shown_rows(batch: Batch) -> dict[str, Session | None]:
    """The rows a batch of changes names, as shown."""
    return {session_id: _shown(row) for session_id, row in batch.rows.items()}


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


def same_tmux_server(runtime: Any, tmux_env: str | None) -> bool:
    """Whether this process runs inside the tmux server that holds the agent sessions."""
    if not tmux_env:
        return False
    socket_path = tmux_env.split(",", 1)[0]
    socket_name = (runtime.socket_name if isinstance(runtime, NamedServer) else None) or "default"
    return Path(socket_path).name == socket_name


def matches(session: Session, needle: str) -> bool:
    """Whether the filter text occurs in the session's id, title or branch."""
    needle = needle.lower()
    return any(needle in field.lower() for field in (session.id, session.title, session.branch))


class CockpitApp(App[None]):
    """The cockpit for one engine (one config): board, preview, detail, dialogs."""

    CSS_PATH = "cockpit.tcss"
    TITLE = "ao-tui"
    AUTO_FOCUS = None  # the board focuses its own table once it knows which view shows
    COMMANDS: ClassVar[set[type[Any] | Callable[[], type[Any]]]] = {CockpitCommands}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = [
        *(command.binding() for command in APP_COMMANDS),
        *moot_answer_bindings(),
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
        watching: Watching | None = None,
        quit_message: str = "",
        config_path: Path | None = None,
    ) -> None:
        """Embed ``engine``; ``keymap`` maps binding ids to keys (see :mod:`ao_tui.keymap`).

        ``reconcile``: take the engine lease when it is free (now or later) and reconcile.
        ``watching``: for a cockpit that does not reconcile, a fixed answer for the header
        instead of looking at the lease (the screenshots and snapshot tests, which must
        not depend on other processes).
        ``quit_message`` replaces the line printed on quit (the demo removes its sessions).
        ``config_path`` is the file ``engine.config`` came from: the cockpit reloads it
        when it changes (:mod:`core.config_reload`).
        """
        super().__init__()
        self.quit_message = quit_message
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
        self.fixed_watching = watching
        self.watching = watching or UNKNOWN
        self._nobody_timer: Timer | None = None
        self._orphan_stamp: tuple[object, ...] | None = None
        """Where artifacts appear, as it was at the last inventory (see _check_orphans)."""
        self._orphan_due = 0.0
        self.lease: EngineLease | None = None
        self._detach_terminal: Callable[[], None] | None = None
        self.detail: DetailScreen | None = None
        self._stop: asyncio.Event | None = None
        self._reload_running = False
        self._reload_again = False
        self._ages_shown: tuple[str, ...] = ()
        self.capture = CaptureThrottle(engine)
        self._binding_state: tuple[Any, ...] = ()
        self._select_after_load: str | None = None
        self._suspended = False
        self._reload_ticket = 0
        self._row_read: dict[str, int] = {}
        """Per session, the ticket of the read its shown row came from."""
        self.news = NeedsYouNews(self)
        self._heap_frozen = False
        self._tick_error = ""
        """The last reconcile failure shown (a loop failing every second toasts once)."""
        self._lease_error = ""
        """The last failure of the lease worker shown (it is retried, and told once)."""
        self.toasts = FactToasts(self._post_notification, self._drop_notification)
        self._answering: set[str] = set()
        """Sessions an answer is on its way to (a second y must not answer the next prompt)."""
        self._loaded = False
        """Whether the sessions were read once (before that, no board is not a first run)."""
        self.reactions = ReactionsView()
        """Whether reactions run, read with the sessions (the header, preview and Info say)."""
        self.last_actions = LastActions()
        """Each orchestrator's last action, for its pinned line."""

    # layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Counts line, filter (hidden), board, preview, footer."""
        # Kept as attributes: App.query_one searches the top screen, which is a dialog
        # whenever one is open.
        self.counts = ZoneCounts(id="counts")
        self.watch_alarm = WatchAlarm(id="watch-alarm")
        self.orphan_line = OrphanLine(id="orphans")
        self.config_line = ConfigLine(id="config-error")
        self.filter_input = Input(
            placeholder="filter: id, title or branch", id="filter", compact=True, disabled=True
        )
        self.filter_input.cursor_blink = self.cursor_blink
        self.board = Board(id="board")
        self.board.selection_listener = self._selection_changed
        self.preview = Preview(id="preview")
        self.first_run = FirstRun(id="first-run")
        yield self.counts
        yield self.watch_alarm
        yield self.orphan_line
        yield self.config_line
        yield self.filter_input
        yield self.board
        yield self.first_run
        yield self.preview
        yield CockpitFooter()

    def on_mount(self) -> None:
        """Apply the keymap and theme, take the lease if free, start following the store."""
        if self.keymap_overrides:
            self.set_keymap(with_moot_keys(self.keymap_overrides))
        self.palette = CardPalette.from_theme(self.theme_variables)
        self.board.palette = self.palette
        by_id = {c.id: c for c in APP_COMMANDS}
        self.first_run.show_keys(
            self.describe_keys(by_id["session.new"]),
            self.describe_keys(by_id["app.help"]),
            self.describe_keys(by_id["app.quit"]),
            self.palette,
        )
        self._stop = asyncio.Event()
        # The terminal notifier rings through this cockpit (when the outbox runs here).
        self._detach_terminal = attach_terminal(CockpitTerminal(self))
        if self.reconcile or self.fixed_watching is None:
            self._start_watch()
        else:
            self.watch_alarm.alarm(self.watching.nobody)
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
        # After every layout (a resize, the preview hidden or shown): the preview's top
        # is where the toasts end, and only a finished layout knows where it is.
        self.screen.screen_layout_refresh_signal.subscribe(self, lambda _: self.place_toasts())
        if self.reconcile:
            self.set_interval(ORPHAN_INTERVAL, self._check_orphans, name="orphans")
            self._check_orphans()

    @work(thread=True, group="orphans", exclusive=True, exit_on_error=False)
    def _check_orphans(self) -> None:
        """Count what no row owns or an interrupted operation left (shown under the counts).

        The inventory lists tmux sessions, branches and worktrees (processes): it is taken
        again only when a stat of where artifacts appear changed, or every
        :data:`ORPHAN_SAFETY` seconds, so an idle cockpit starts no process for it.
        """
        stamp = artifacts_stamp(self.engine)
        now = time.monotonic()
        if stamp is not None and stamp == self._orphan_stamp and now < self._orphan_due:
            return
        findings = take_inventory(self.engine, judge_work=False).findings
        self._orphan_stamp, self._orphan_due = stamp, now + ORPHAN_SAFETY
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
        if self._detach_terminal is not None:
            self._detach_terminal()
        if self._stop is not None:
            self._stop.set()
        if self.lease is not None:
            self.lease.close()
            self.lease = None

    # engine following -----------------------------------------------------------------

    def _start_watch(self) -> None:
        self.run_worker(self._watch_engine(), name="lease", group="engine", exit_on_error=False)

    async def _watch_engine(self) -> None:
        """Reconcile while this cockpit holds the engine lease, taken as soon as it is free.

        Until then (another cockpit, the daemon or ``events --follow`` holds it), or for
        good with ``reconcile`` off, the header names the holder as it changes.
        """
        stop = self._stop
        assert stop is not None
        path = self.engine.locations.engine_lock
        if not self.reconcile:
            while not stop.is_set():
                self._set_watching(Watching(holder=await asyncio.to_thread(read_holder, path)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), LEASE_POLL)
            return
        lease = self.lease = EngineLease(path, kind="cockpit")
        try:
            if await wait_for_lease(lease, stop, on_holder=self._holder_seen):
                self._lease_error = ""
                self._set_watching(THIS_COCKPIT)
                await self._reconcile_loop()
        finally:
            # Ended for any reason but quitting (a failure): let another process watch.
            lease.release()
            if not stop.is_set():
                self._holder_seen(await asyncio.to_thread(read_holder, path))

    def _holder_seen(self, holder: LeaseHolder | None) -> None:
        self._set_watching(Watching(holder=holder))

    def _set_watching(self, watching: Watching) -> None:
        """Say who watches; "nobody" only once it has lasted :data:`NOBODY_GRACE`."""
        if watching.nobody and not self.watching.nobody:
            if self._nobody_timer is None:
                self._nobody_timer = self.set_timer(
                    NOBODY_GRACE, partial(self._show_watching, watching), name="nobody"
                )
            return
        if self._nobody_timer is not None:
            self._nobody_timer.stop()
            self._nobody_timer = None
        self._show_watching(watching)

    def _show_watching(self, watching: Watching) -> None:
        self._nobody_timer = None
        if watching == self.watching:
            return
        self.watching = watching
        self.watch_alarm.alarm(watching.nobody)
        self._show_counts(list(self.sessions.values()))

    async def _reconcile_loop(self) -> None:
        assert self._stop is not None
        await reconcile_loop(
            self.engine,
            self._stop,
            interval=self.refresh_interval,
            on_events=self._post_events,
            on_error=self._tick_failed,
            react=True,
        )

    def _post_events(self, events: list[Event]) -> None:
        self._tick_error = ""

    async def _follow_store(self) -> None:
        """Apply each change to the store, by whichever process, to the sessions it names.

        The engine's change feed (:mod:`core.feed`) brings the new events and only the
        sessions they name, and those rows are updated: a reload of every session per
        change would cost as much again as the change itself.
        """
        feed = self.engine.feed
        try:
            seq = await asyncio.to_thread(feed.last_seq)
        finally:
            self.request_reload()
        async for batch in feed.batches(seq, stop=self._stop):
            self.last_actions.observe(change.event for change in batch.changes)
            self._apply_changes(_shown_rows(batch), batch.order)
            if reaction_actions.pauses_in(batch):
                self.request_reload()  # the header and preview say whether reactions run

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
        self.news.observe(list(self.sessions.values()))
        self.refresh_view()
        shown = self.sessions.get(self.detail.session.id) if self.detail is not None else None
        if self.detail is not None and shown is not None and shown.id in changed:
            self.detail.update_session(shown, self.now)

    def _next_ticket(self) -> int:
        """A number for a read of the store about to begin, larger than any before it.

        A full reload and a per-row read run in different threads and may land in either
        order; per row, what the read that began last saw is what is shown. Taken on the
        event loop, from the feed's counter that also numbers its own reads.
        """
        return self.engine.feed.next_read()

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
        self.last_actions.read(self.engine.store, pinned_ids(sessions))
        reactions = reaction_actions.read_reactions(self.engine)
        self.post_message(SessionsLoaded(sessions, self.clock(), reactions))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        """Diff the fresh sessions into the board; announce new Needs-you sessions."""
        self._reload_running = False
        self._loaded = True
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
            and message.reactions == self.reactions
            and _ages(previous.values(), self.now) == _ages(previous.values(), message.now)
        )
        self.now = message.now
        self.reactions = message.reactions
        if not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(_freeze_heap)
        self.news.observe(list(self.sessions.values()))
        if not unchanged:
            self.refresh_view()
        if self._select_after_load and self.board.focus_session(self._select_after_load):
            self._select_after_load = None
        if self.detail is not None and self.detail.session.id in self.sessions:
            shown = self.sessions[self.detail.session.id]
            self.detail.update_session(shown, self.now, self.reactions.of(shown.id))
        if self._reload_again:
            self._reload_again = False
            self.request_reload()

    def refresh_view(self) -> None:
        """Board, counts and preview from the sessions last read and the filter."""
        every = list(self.sessions.values())
        # The orchestrators are pinned above the zones whatever the filter, and in no count.
        shown = (
            [s for s in every if s.role is Role.ORCHESTRATOR or matches(s, self.filter_text)]
            if self.filter_text
            else every
        )
        with self.batch_update():
            self._show_first_run(self._loaded and not every)
            self.board.show(shown, self.now, self.last_actions.by_actor)
            self._show_counts(every, sum(1 for s in shown if s.role is not Role.ORCHESTRATOR))
            self._show_selected()

    def _show_counts(self, every: list[Session], shown: int | None = None) -> None:
        """The header: counts per zone, the filter, who watches."""
        if shown is None:
            shown = sum(
                1 for s in every if matches(s, self.filter_text) and s.role is not Role.ORCHESTRATOR
            )
        self.counts.show(
            count_zones(every),
            self.palette,
            watching=self.watching,
            filter_text=self.filter_text,
            shown=shown,
            reactions=self.reactions.header(),
        )

    def _show_first_run(self, first_run: bool) -> None:
        """No session at all: the guide takes the board's place and the preview's room."""
        if first_run == self.first_run.display:
            return
        self.first_run.display = first_run
        self.board.display = not first_run
        self.preview.set_class(first_run, "-first-run")

    def _show_selected(self) -> None:
        session = self.selected_session()
        reactions = self.reactions.of(session.id) if session is not None else "on"
        self.preview.show_session(session, self.now, self.palette, self._answer_hint(), reactions)
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

    # toasts ---------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
        fact: str | None = None,
        holds: Callable[[], bool] | None = None,
        keep_age: bool = False,
    ) -> None:
        """Every toast of the cockpit, as one line (see :mod:`ao_tui.toasts`).

        ``fact`` names what the toast says, so a newer toast about it replaces this one
        and :meth:`FactToasts.prune` withdraws it once ``holds()`` is false; toasts about
        a fact are posted on the event loop. Without ``fact`` this is thread-safe, like
        Textual's own.
        """
        text = one_line(title, message, markup=markup and fact is None)
        if timeout is None:
            timeout = self.NOTIFICATION_TIMEOUT
        if fact is not None:
            self.toasts.post(
                fact, text, severity=severity, timeout=timeout, holds=holds, keep_age=keep_age
            )
            return
        self._post_notification(Notification(text, "", severity, timeout, markup=markup))

    def _post_notification(self, notification: Notification) -> None:
        self.post_message(Notify(notification))

    def _drop_notification(self, notification: Notification) -> None:
        # Textual removes a toast only when it times out; this is its own removal path.
        self._unnotify(notification)

    def place_toasts(self) -> None:
        """Put the board's toasts on the rule above the preview, rising over the board."""
        if not self.screen_stack:
            return  # the app is closing: a toast that arrives now has nowhere to go
        board_screen = self.screen_stack[0]
        try:
            rack = board_screen.query_one("#textual-toastrack", Widget)
        except NoMatches:
            return  # notifications are off (tests)
        preview = self.preview
        top = preview.region.y if preview.display and preview.region.height else None
        margin = toast_margin(board_screen.size.height, top)
        if rack.styles.margin.bottom != margin:
            rack.styles.margin = (0, 0, margin, 0)

    # selection and preview ------------------------------------------------------------

    def selected_session(self) -> Session | None:
        """The session under the board's cursor."""
        selected = self.board.selected_id
        return self.sessions.get(selected) if selected else None

    def _selection_changed(self, _session_id: str | None) -> None:
        """The board's selection listener: preview and bindings follow the cursor."""
        self.capture.restart()
        self._show_selected()
        self._capture_tick()

    def _capture_target(self) -> Session | None:
        if self.detail is not None:
            return self.sessions.get(self.detail.session.id, self.detail.session)
        if not self.preview.display:
            return None
        return self.selected_session()

    def _capture_tick(self) -> None:
        session = self._capture_target()
        if self.capture.due(session, time.time()) and session is not None:
            self._capture(session.id, session.pane_id)

    @property
    def _last_capture(self) -> tuple[str, str] | None:
        """The session and screen last painted (tests wait on it for a first paint)."""
        return self.capture.shown

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
        if not self.capture.landed(message.session_id, message.text):
            return
        self.preview.show_capture(message.session_id, message.text)
        detail = self.detail
        if detail is not None and detail.session.id == message.session_id:
            shown = detail.show_capture(message.text)
            if not shown:
                self.capture.shown = None  # the next capture paints it

    def on_pane_unavailable(self, message: PaneUnavailable) -> None:
        """Say why there is no screen."""
        self.capture.failed()
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
            self.capture.running = False
            session = self._capture_target()
            if session is not None:
                self.preview.show_unavailable(session.id, f"capture failed: {error}")
        elif worker.name != "lease" or error != self._lease_error:
            # The lease worker is retried every few seconds: its failure is told once.
            self._lease_error = error if worker.name == "lease" else self._lease_error
            title = f"{worker.name or worker.group} failed"
            self.notify(error, title=title, severity="error", timeout=10, markup=False)
        node = worker.node
        if isinstance(node, WorkerScreen):
            node.show_worker_error(worker, error)
        if worker.name == "events" and self._stop is not None and not self._stop.is_set():
            # Without the follower the board only moves on the slow safety reload.
            self.set_timer(STORE_RESYNC, self._restart_follower, name="follower restart")
        if worker.name == "lease" and self._stop is not None and not self._stop.is_set():
            # Without it nobody may be watching: try again (the header says so meanwhile).
            self.set_timer(STORE_RESYNC, self._restart_watch, name="lease restart")

    def _restart_watch(self) -> None:
        if self._stop is not None and not self._stop.is_set():
            self._start_watch()

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
            self.notify(
                text,
                title="reconcile failed",
                severity="error",
                timeout=10,
                markup=False,
                fact="reconcile",
                holds=lambda: bool(self._tick_error),  # gone once a tick succeeds
            )

    # bindings -------------------------------------------------------------------------

    def applies(self, action: str) -> bool:
        """Whether a session action makes sense for the selected session."""
        session = self.selected_session()
        if action not in _SESSION_ACTIONS:
            if action == "clear_filter":
                return bool(self.filter_text) or isinstance(self.focused, Input)
            return True
        if action == "send_orchestrator":
            return orchestrator_to_message(self.sessions.values(), session) is not None
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
        if action == "answer_moot":
            return not self.applies("answer")
        if action == "kill":
            return session.lifecycle is not Lifecycle.KILLED and not is_closed(session)
        if action == "restore":
            return session.lifecycle in (Lifecycle.EXITED, Lifecycle.KILLED) and not is_closed(
                session
            )
        if action in ("ci", "diff"):
            return session.pr is not None
        if action in reaction_actions.SESSION_ACTIONS:
            return reaction_actions.applies(action, session)
        if action in ("merge", "approve_pr"):
            return (
                session.pr is not None
                and session.pr.state != "merged"
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

    def on_key(self, event: events.Key) -> None:
        """A hidden session key pressed anyway says why it does nothing, when that matters."""
        if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
            return
        action = pressed_action(event.key, APP_COMMANDS, self.keymap_overrides, self.applies)
        reason = why_not(action, self.selected_session()) if action else None
        if reason:
            self.notify(reason, title=f"{action}: not offered", severity="warning", markup=False)

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
        severity: SeverityLevel = "warning" if message.severity == "warning" else "information"
        self.notify(
            message.summary,  # says what was done: the title need not repeat the verb
            title=message.session_id,
            severity=severity,
            markup=False,  # summaries quote blockers and host replies
            fact=f"action:{message.session_id}",
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
        if "display-popup" in argv:
            await self._attach_in_popup(session_id, argv)
            return
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

    async def _attach_in_popup(self, session_id: str, argv: list[str]) -> None:
        """Agents on another tmux server: a popup of the operator's tmux shows the session.

        The cockpit keeps running (and watching) underneath; ``prefix d`` closes the popup
        (its title says so).
        """
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, stderr = await process.communicate()
        if process.returncode:
            reason = " ".join(stderr.decode(errors="replace").split()) or "no reason given"
            attach = " ".join(argv[argv.index("--") + 1 :])
            self.notify(
                f"tmux could not open a popup ({reason}); run {attach} in another window "
                "(prefix twice, then d, leaves a nested tmux)",
                title=f"cannot show {session_id}",
                severity="error",
                timeout=15,
                markup=False,
            )
        self.request_reload()

    def action_detail(self) -> None:
        """Open the session detail (terminal, transcript, events, info)."""
        session = self.selected_session()
        if session is None:
            return
        self.detail = DetailScreen(self.engine, session, self.now, self.reactions.of(session.id))
        self.capture.shown = None
        self.push_screen(self.detail, callback=self._detail_closed)
        self._capture_tick()

    def _detail_closed(self, _: None) -> None:
        self.detail = None
        self.capture.shown = None

    def action_send(self) -> None:
        """Open the message editor for the selected session."""
        session = self.selected_session()
        if session is not None:
            screen = SendScreen(self.engine, session, cursor_blink=self.cursor_blink)
            self.push_screen(screen, callback=lambda _: self.request_reload())

    def action_send_orchestrator(self) -> None:
        """Open the message editor for the orchestrator (of the selected session's project)."""
        target = orchestrator_to_message(self.sessions.values(), self.selected_session())
        if target is not None:
            screen = SendScreen(self.engine, target, cursor_blink=self.cursor_blink)
            self.push_screen(screen, callback=lambda _: self.request_reload())

    def action_answer(self, yes: bool) -> None:
        """Answer the prompt shown for the selected session (y approves, n denies).

        The answer is bound to the prompt on screen: the engine sends nothing when the
        session asks something else by now, and the preview then shows what it asks.
        With no prompt shown, nothing is sent and a toast says what the session does.
        """
        session = self.selected_session()
        if session is None:
            return
        word = "yes" if yes else "no"
        session_id = session.id
        fact = f"action:{session_id}"
        prompt = Prompt.of(session) if session.lifecycle is Lifecycle.RUNNING else None
        if prompt is None:

            def still_not_waiting() -> bool:
                now = self.sessions.get(session_id)
                return now is not None and Prompt.of(now) is None

            self.notify(
                f"{not_waiting(session)}; nothing answered",
                severity="warning",
                markup=False,
                fact=fact,
                holds=still_not_waiting,
            )
            return
        if session_id in self._answering:
            self.notify(
                f"{session_id}: an answer is on its way; wait for the agent to move on",
                severity="warning",
                markup=False,
                fact=fact,
            )
            return
        self._answering.add(session_id)
        expect = prompt.shown

        def run() -> None:
            try:
                after = self.engine.respond(session_id, yes, expect=expect)
            except PromptChangedError as exc:
                what = f"it now asks {exc.now.shown}" if exc.now else "it waits on none now"
                summary = f"nothing answered: the prompt changed; {what}"
                self.post_message(ActionDone(f"answer {word}", session_id, summary, "warning"))
                return
            finally:
                self._answering.discard(session_id)  # one set operation: atomic under the GIL
            summary = f"answered {word}; now {after.activity.state.value}"
            self.post_message(ActionDone(f"answer {word}", session_id, summary))

        self.run_worker(
            run,
            name=f"answer {word} {session_id}",
            group="action",
            thread=True,
            exit_on_error=False,
        )

    def action_answer_moot(self, yes: bool) -> None:
        """y or n with no prompt shown: say what the session does instead (nothing sent)."""
        self.action_answer(yes)

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
            notes = (restored.extra.get("restore") or {}).get("notes") or []
            return "; ".join([f"restored (attempt {restored.attempt})", *map(str, notes)])

        self.run_engine_action("restore", session.id, call)

    def action_pause_reactions(self) -> None:
        """Pause reactions for the selected session, or resume them."""
        reaction_actions.toggle_session(self)

    def action_pause_all_reactions(self) -> None:
        """Pause reactions for every session, or resume them."""
        reaction_actions.toggle_all(self)

    def action_send_suggestion(self) -> None:
        """Send the selected session's suggested message as it is."""
        reaction_actions.send_suggestion(self)

    def action_drop_suggestion(self) -> None:
        """Drop the selected session's suggested message; it stays the operator's."""
        reaction_actions.drop_suggestion(self)

    def action_edit_suggestion(self) -> None:
        """Edit the selected session's suggested message in the send dialog."""
        reaction_actions.edit_suggestion(self)

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
            pr = approved.pr
            blockers = "; ".join(pr.blockers if pr else ()) or "none"
            return f"approved; PR {pr.state if pr else None}; blockers: {blockers}"

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
        self.push_screen(HelpScreen(self.keymap_overrides, displays, self.palette))

    def action_report(self) -> None:
        """The morning report of every session (as ``ao-tui report``)."""
        self.push_screen(ReportScreen(self.engine))

    def action_help_quit(self) -> None:
        """Ctrl+C: on the board it quits as q does; while typing a filter it says how to quit.

        Textual's own answer named Ctrl+Q, a key the cockpit never mentions. A text field
        copies its selected text first: only a press with nothing to copy lands here (and
        dialogs are modal, so there Ctrl+C never reaches the app).
        """
        if self.screen is self.screen_stack[0] and not isinstance(self.focused, Input):
            self.call_next(self.action_quit)
            return
        quit_keys = self.describe_keys(next(c for c in APP_COMMANDS if c.id == "app.quit"))
        self.notify(
            f"Esc leaves the filter, then {quit_keys} quits; sessions keep running",
            title="quit?",
            markup=False,
        )

    async def action_quit(self) -> None:
        """Leave the cockpit; every session keeps running in tmux."""
        if self._stop is not None:
            self._stop.set()
        running = sum(1 for s in self.sessions.values() if s.lifecycle not in _CLOSED)
        self.exit(
            message=self.quit_message
            or f"ao-tui: {running} session(s) keep running; `ao-tui` reopens the cockpit."
        )
