"""The report on a schedule: the lease holder enqueues it as an ``info`` notification.

Slots fall at ``report.at`` (local time) and every ``report.every`` from there. A slot's
report is enqueued once: its notification id names the slot, so the outbox's idempotency
key refuses a second row even from another process or after a restart. A slot is sent only
within :data:`GRACE` of its time: a daemon started at 10:00 does not send the 08:00 report
late, it waits for the next one.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import TYPE_CHECKING

from core.config_notify import routes
from core.notify.model import Notification
from core.notify.outbox import Outbox
from core.notify.pacing import Pacing
from core.notify.words import DETAIL_LIMIT, TITLE_LIMIT
from core.report.build import build_report
from core.report.text import render, summary

if TYPE_CHECKING:
    from core.config_report import ReportConfig
    from core.engine import Engine

GRACE = 3600.0
"""How late a slot's report may still go out (capped at half of ``every``)."""
TYPE = "report.scheduled"
"""The notification type of a scheduled report."""


def _anchor(config: ReportConfig, now: float) -> float:
    """Today's ``at`` in local time, as epoch seconds."""
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp() + config.at_minutes * 60


def latest_slot(config: ReportConfig, now: float) -> float | None:
    """The newest slot at or before ``now`` (None: no schedule)."""
    every = config.every_seconds
    if every is None:
        return None
    anchor = _anchor(config, now)
    return anchor + math.floor((now - anchor) / every) * every


def due_slot(config: ReportConfig, now: float) -> float | None:
    """The slot whose report is due now: the latest one, if it is at most :data:`GRACE`
    (or half of ``every``) old."""
    slot = latest_slot(config, now)
    every = config.every_seconds
    if slot is None or every is None:
        return None
    return slot if now - slot <= min(GRACE, every / 2) else None


def seconds_to_next(config: ReportConfig, now: float) -> float | None:
    """Seconds until the next slot (None: no schedule)."""
    slot = latest_slot(config, now)
    every = config.every_seconds
    return None if slot is None or every is None else slot + every - now


def report_notification(engine: Engine, slot: float, now: float) -> Notification:
    """The report of every session as of ``now``, as the notification of ``slot``."""
    config = engine.config.report
    every = config.every_seconds or 0.0
    report = build_report(engine.store, config, since=slot - every if every else None, now=now)
    title = f"ao-tui report: {summary(report)}"
    return Notification(
        id=f"report-{int(slot)}",
        type=TYPE,
        priority="info",
        session_id="",
        project_id="",
        timestamp=slot,
        title=title[:TITLE_LIMIT],
        detail=render(report)[:DETAIL_LIMIT],
        command="ao-tui report",
        data={"counts": report.counts(), "total": len(report.lines)},
    )


class ReportClock:
    """Enqueues each due slot's report once; run by the notification worker."""

    def __init__(self, engine: Engine, outbox: Outbox) -> None:
        """Send through ``outbox``, with ``engine``'s config and store."""
        self.engine = engine
        self.outbox = outbox
        self.done: float | None = None

    def tick(self, now: float | None = None) -> float | None:
        """Enqueue the due slot's report if not done yet; seconds until the next slot."""
        now = time.time() if now is None else now
        config = self.engine.config.report
        slot = due_slot(config, now)
        if slot is not None and slot != self.done:
            notifiers = routes(self.engine.config, "info")
            if notifiers:
                notification = report_notification(self.engine, slot, now)
                self.outbox.enqueue([(notification, notifiers)], Pacing.of(self.engine.config))
            self.done = slot
        return seconds_to_next(config, now)
