"""The delivery worker: run in the process that holds the engine lease, beside the
reactions, so each notification is sent by one process.

Two halves:

- **follow**: reads the change feed from where the outbox last stopped
  (``notify_cursor``), turns the events that need a person into outbox rows
  (:mod:`core.notify.words`, routed by :func:`core.config_notify.routes`), and records the
  new position in the same transaction: an event is enqueued once, even across a crash.
- **dispatch**: sends the head of every lane (session and notifier) that is due, in
  threads (at most :data:`MAX_PARALLEL` at once, one per lane, so a slow receiver delays
  only its own lane), and sleeps until the next row is due, a new row lands, or a send
  ends. Held rows are released when their quiet hours or digest period end.

The scheduled report (:mod:`core.report.schedule`) is enqueued by the dispatcher when its
slot comes. Each sent or failed row is logged as a ``notification`` event (no secret in
it), so ``events --follow`` and the cockpit see deliveries; ``notify retry`` logs one too,
which is what wakes this worker in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.config_notify import routes
from core.notify.outbox import Outbox, Row
from core.notify.pacing import Pacing
from core.notify.sending import deliver
from core.notify.words import notification_of
from core.report.schedule import ReportClock

if TYPE_CHECKING:
    from core.engine import Engine
    from core.feed import Batch
    from core.notify.model import Notification

KIND = "notification"
"""The event kind of a delivery outcome (and of an operator's retry)."""
MAX_PARALLEL = 4
"""Sends in flight at once; more lanes wait for a free slot."""
SAFETY = 30.0
"""The longest the dispatcher sleeps with nothing due (a missed wake-up costs this much)."""
CURSOR_LAG = 500
"""Events read without news before the position is written anyway (a restart re-reads at
most this many)."""
KEEP_SENT = 7 * 24 * 3600.0
"""How long sent rows are kept (``notify outbox`` shows the recent ones)."""
PRUNE_EVERY = 3600.0


def wanted(config: Any) -> bool:
    """Whether ``config`` routes notifications anywhere (else the worker does not run)."""
    routing = config.notification_routing
    routed = routing is not None and any(
        getattr(routing, p) for p in ("urgent", "action", "warning", "info")
    )
    return bool(config.notifiers or config.defaults.notifiers or routed)


def enqueue_batch(engine: Engine, outbox: Outbox, batch: Batch, written: int) -> int:
    """Enqueue what ``batch`` calls for; the log position now recorded."""
    items: list[tuple[Notification, list[str]]] = []
    config = engine.config
    for change in batch.changes:
        notification = notification_of(change.event, change.session)
        if notification is None:
            continue
        notifiers = routes(config, notification.priority)
        if notifiers:
            items.append((notification, notifiers))
    if not items and batch.last_seq - written < CURSOR_LAG:
        return written  # nothing new to record: no write, no wake-up of every reader
    outbox.enqueue(items, Pacing.of(config), cursor=batch.last_seq)
    return batch.last_seq


async def outbox_loop(
    engine: Engine,
    stop: asyncio.Event,
    *,
    on_error: Callable[[Exception], None] | None = None,
    parallel: int = MAX_PARALLEL,
) -> None:
    """Enqueue and deliver notifications until ``stop``; a failure of one step is handed
    to ``on_error`` (else raised) and the worker goes on."""
    outbox = Outbox(engine.store, clock=engine.clock)
    wake = asyncio.Event()
    busy: set[tuple[str, str]] = set()
    slots = asyncio.Semaphore(parallel)
    tasks: set[asyncio.Task[None]] = set()

    def failed(exc: Exception) -> None:
        if on_error is None:
            raise exc
        on_error(exc)

    async def follow() -> None:
        written = await asyncio.to_thread(outbox.cursor)
        async for batch in engine.feed.batches(written, stop=stop):
            try:
                written = await asyncio.to_thread(enqueue_batch, engine, outbox, batch, written)
            except Exception as exc:
                failed(exc)
            wake.set()

    async def send(row: Row) -> None:
        lane = (row.notifier, row.session_id)
        try:
            async with slots:
                outcome = await asyncio.to_thread(
                    deliver, outbox, row, engine.config, engine.registry
                )
                if outcome in ("sent", "failed"):
                    await asyncio.to_thread(_log, engine, outbox, row.id, outcome)
        except Exception as exc:
            failed(exc)
        finally:
            busy.discard(lane)
            wake.set()

    async def dispatch() -> None:
        pruned = 0.0
        report_clock = ReportClock(engine, outbox)
        to_report: float | None = None
        while not stop.is_set():
            wake.clear()
            now = engine.clock()
            try:
                # The scheduled report (``report.every``) joins the outbox like any row.
                to_report = await asyncio.to_thread(report_clock.tick, now)
                pacing = Pacing.of(engine.config)
                await asyncio.to_thread(outbox.release, pacing)
                if now - pruned > PRUNE_EVERY:
                    await asyncio.to_thread(outbox.prune, now - KEEP_SENT)
                    pruned = now
                heads = await asyncio.to_thread(outbox.heads)
                held = await asyncio.to_thread(outbox.next_held)
            except Exception as exc:
                failed(exc)
                heads, held = [], None
            wait = SAFETY if to_report is None else min(SAFETY, to_report + 0.01)
            for row in heads:
                lane = (row.notifier, row.session_id)
                if lane in busy:
                    continue
                if row.next_at > now:
                    wait = min(wait, row.next_at - now)
                    continue
                busy.add(lane)
                task = asyncio.create_task(send(row))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if held is not None:
                wait = min(wait, max(0.0, held - now) + 0.01)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_either(wake, stop), max(0.01, wait))

    follower = asyncio.create_task(follow())
    try:
        await dispatch()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await follower
        for task in list(tasks):
            with contextlib.suppress(Exception):
                await task


async def _either(wake: asyncio.Event, stop: asyncio.Event) -> None:
    waits = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()


def _log(engine: Engine, outbox: Outbox, row_id: int, outcome: str) -> None:
    """A ``notification`` event for a row's outcome (its reason is already masked)."""
    row = outbox.row(row_id)
    if row is None:
        return
    data: dict[str, Any] = {
        "outcome": outcome,
        "id": row.id,
        "notifier": row.notifier,
        "priority": row.priority,
        "attempts": row.attempts,
        "title": row.notification.title,
    }
    if row.last_error:
        data["reason"] = row.last_error
    engine.store.append_event(row.session_id, KIND, data)
    engine.feed.wake()
