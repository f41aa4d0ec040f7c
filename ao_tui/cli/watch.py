"""Verbs that watch the sessions over time: ``events`` (``--follow``) and ``daemon``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from core.engine import Engine

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    _emit,
    _errors,
    _load_engine,
    fail,
)


@main.command()
@click.argument("session_id", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they happen.")
@click.option(
    "--since",
    type=int,
    default=None,
    help="Start after this sequence number (default: all, or now with --follow).",
)
@click.option(
    "--session",
    "session_option",
    default=None,
    metavar="SESSION_ID",
    help="Only this session's events (the same as giving SESSION_ID).",
)
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one event object per line.")
@click.pass_context
def events(
    ctx: click.Context,
    session_id: str | None,
    follow: bool,
    since: int | None,
    session_option: str | None,
    as_json: bool,
) -> None:
    """The event log (of SESSION_ID only, when given); with --follow, a live stream of every
    state change.

    While no cockpit or daemon watches the sessions, --follow watches them itself (and
    takes over the moment the one that does stops), so the stream never goes quiet.
    """
    import asyncio

    from core.event_summary import summary
    from core.inert import inert
    from core.models import Event

    if session_id is not None and session_option is not None and session_id != session_option:
        fail(
            f"two sessions given ({session_id!r} and --session {session_option!r}); give one",
            EXIT_USAGE,
        )
    session_filter = session_id if session_id is not None else session_option

    def show(event: Event) -> None:
        if session_filter and event.session_id != session_filter:
            return
        if as_json:
            _emit(event.to_json())
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
            # JSON escapes C0 controls but not DEL, C1 or bidi overrides.
            data = inert(json.dumps(event.data, ensure_ascii=False), one_line=True)
            if event.kind == "reaction":  # a decision reads as a sentence; --json has it all
                data = inert(summary(event.kind, event.data), one_line=True)
            click.echo(f"{event.seq:>6} {stamp} {event.session_id:<12} {event.kind:<10} {data}")
        sys.stdout.flush()

    with _errors():
        engine = _load_engine(ctx, acting=False)
        if session_filter is not None and engine.store.get_session(session_filter) is None:
            fail(f"no session {session_filter!r}; list them with `ao-tui status`", EXIT_NOT_FOUND)
        if not follow:
            for event in engine.store.events_after(since or 0, limit=1_000_000):
                show(event)
            return
        try:
            asyncio.run(_follow(engine, since, show))
        except KeyboardInterrupt:
            pass


async def _follow(engine: Engine, since: int | None, show: Callable[[Any], None]) -> None:
    """Stream events; reconcile too whenever no daemon or cockpit holds the engine lease
    (now, or later: the stream takes over the moment the holder goes away)."""
    import asyncio

    from core.lease import EngineLease

    stop = asyncio.Event()
    lease = EngineLease(engine.locations.engine_lock, kind="events")
    watcher = asyncio.create_task(_watch_when_free(engine, lease, stop))
    try:
        async for change in engine.feed.changes(since):
            show(change.event)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await watcher
        lease.close()


async def _watch_when_free(
    engine: Engine,
    lease: Any,
    stop: Any,
    *,
    interval: float = 1.0,
    on_holder: Callable[[Any], None] | None = None,
    on_taken: Callable[[], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> None:
    """Take the engine lease as soon as it is free, then reconcile until ``stop``.

    A failing tick is said once (per distinct error) through ``say`` (default: stderr)
    and the loop carries on; the lease is given back when the loop ends, so another
    process can watch.
    """
    from core.daemon import reconcile_loop
    from core.lease import wait_for_lease

    tell = say or _to_stderr
    last: list[str] = []

    def tick_failed(exc: Exception) -> None:
        text = f"ao-tui: reconcile failed: {exc}"
        if not last or last[-1] != text:
            # Only the latest is kept: a daemon that runs for days must not grow a list.
            last[:] = [text]
            tell(text)

    following = None
    try:
        if await wait_for_lease(lease, stop, on_holder=on_holder):
            if on_taken is not None:
                on_taken()
            # The watcher starts CI runs at new heads, which must run the file's command
            # of now: it follows the config while it watches.
            following = _follow_config(engine, stop, tell)
            await reconcile_loop(engine, stop, interval=interval, on_error=tick_failed, react=True)
    finally:
        if following is not None:
            stop.set()
            with contextlib.suppress(Exception):
                await following
        lease.release()


async def _print_changes(engine: Engine, after: int, show: Callable[[Any], None]) -> None:
    """``show`` every event of the engine's change feed after ``after``, until cancelled."""
    async for change in engine.feed.changes(after):
        show(change.event)


def _to_stderr(text: str) -> None:
    """One line on stderr."""
    click.echo(text, err=True)


def _follow_config(engine: Engine, stop: Any, say: Callable[[str], None] = _to_stderr) -> Any:
    """Reload the config file into ``engine`` whenever it changes, until ``stop``; each
    reload is one line through ``say`` (a long-running reconciler starts CI runs and must
    run the file's command of now). The task, or None when the config came from no file."""
    import asyncio

    from ao_tui.keymap import DEFAULT_KEYMAP
    from core.config_reload import ConfigFollower, Reload
    from core.inert import inert

    path = click.get_current_context().obj.get("config_file")
    if path is None:
        return None

    def report(found: Reload) -> None:
        if found.error:
            kept = "not reloaded, the previous config stays in use"
            say(f"ao-tui: {path.name} {kept}: {inert(found.error)}")
        elif found.changed:
            say(f"ao-tui: {path.name} reloaded: {inert(found.summary)}")

    follower = ConfigFollower(engine, path, known_keys=DEFAULT_KEYMAP)
    return asyncio.create_task(follower.follow(stop, report))


@main.group(invoke_without_command=True)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between timer ticks.")
@click.option("--json", "as_json", is_flag=True, help="Print each recorded event as NDJSON.")
@click.option(
    "--log-max-bytes",
    type=click.IntRange(min=1000),
    default=5_000_000,
    show_default=True,
    help="Size at which $AO_TUI_HOME/daemon.log rotates.",
)
@click.option(
    "--log-backups",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Rotated logs kept (daemon.log.1 ...); the oldest is dropped.",
)
@click.pass_context
def daemon(
    ctx: click.Context, interval: float, as_json: bool, log_max_bytes: int, log_backups: int
) -> None:
    """Run the engine headless: reconcile on every agent signal until interrupted.

    Keeps the sessions watched (prompts noticed, CI finished, exits seen) with no cockpit
    open. Only one process watches at a time: while a cockpit (or another daemon) does,
    this one waits, and takes over within a fraction of a second when it stops.

    What it says goes to stderr and to $AO_TUI_HOME/daemon.log (owner-only, rotated by
    size, secrets masked), with every event it sees. SIGTERM stops it cleanly.
    `ao-tui daemon unit` prints a service unit that runs it at login.
    """
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from core.daemon_log import DaemonLog
    from core.daemon_presence import mark_daemon
    from core.event_summary import summary
    from core.lease import EngineLease, LeaseHolder
    from core.models import Event

    with _errors():
        engine = _load_engine(ctx, acting=False)
        log = DaemonLog(engine.locations.home, max_bytes=log_max_bytes, backups=log_backups)
    lease = EngineLease(engine.locations.engine_lock, kind="daemon")
    # Held while it runs, waiting or watching: `ao-tui start` then starts no second one.
    presence = mark_daemon(engine.locations.home)
    log.info(f"ao-tui daemon started (pid {os.getpid()}, state {engine.locations.home})")

    def say(text: str) -> None:
        click.echo(text, err=True)
        log.info(text)

    def show(event: Event) -> None:
        if as_json:
            _emit({"session": event.session_id, "kind": event.kind, "data": event.data})
        else:
            click.echo(f"{event.session_id} {event.kind} {event.data.get('state', '')}")
        sys.stdout.flush()
        log.info(
            f"event {event.seq} {event.session_id} {event.kind}: {summary(event.kind, event.data)}"
        )

    def waiting(holder: LeaseHolder | None) -> None:
        if holder is not None:
            say(
                f"ao-tui daemon: {holder.describe()} is watching the sessions; this daemon "
                "takes over when it stops (Ctrl-C quits)"
            )

    printing: list[asyncio.Task[None]] = []

    def taken() -> None:
        count = len(engine.list())
        say(f"ao-tui daemon: watching {count} sessions; Ctrl-C stops it")
        # Every change from now on, whoever writes it (read before the first tick).
        printing.append(asyncio.create_task(_print_changes(engine, engine.feed.last_seq(), show)))

    why = ["interrupted"]

    async def run() -> None:
        stop = asyncio.Event()

        def terminate() -> None:
            why[0] = "SIGTERM"
            stop.set()

        # SIGTERM (a service manager, `kill`) stops it as Ctrl-C does: the loop ends and the
        # lease is given back. Not SIGINT: a daemon started in the background by a shell
        # inherits SIGINT ignored, as every background job does, and keeps it so.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
        try:
            await _watch_when_free(
                engine, lease, stop, interval=interval, on_holder=waiting, on_taken=taken, say=say
            )
        finally:
            for task in printing:
                task.cancel()

    try:
        with _errors():
            try:
                asyncio.run(run())
            except KeyboardInterrupt:
                pass
    finally:
        lease.close()
        if presence is not None:
            os.close(presence)
        log.info(f"ao-tui daemon stopped ({why[0]}); the lease is given back")
        log.close()
