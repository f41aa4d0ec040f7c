"""The morning report on a schedule: ``report: {every: 24h, at: HH:MM}`` makes the
notification worker (what the lease holder runs) enqueue the report once per slot, as an
``info`` notification, delivered to a real HTTP receiver on 127.0.0.1; a restarted worker
does not send the same slot again. The notifier is the stand-in HTTP notifier of
tests/support/notifiers.py (as in test_notify_delivery.py); store, outbox and feed are real.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.config_report import ReportConfig
from core.notify.worker import outbox_loop
from core.registry import Registry
from core.report.schedule import due_slot, latest_slot
from tests.integration.test_report import SUMMARY, record_night
from tests.support.engine import make_engine, wait_for, write_config
from tests.support.notifiers import HttpNotifier, Receiver


def reports(receiver: Receiver) -> list[dict[str, Any]]:
    """The scheduled reports delivered (the night's escalations are delivered too)."""
    events = [request.body["event"] for request in receiver.delivered()]
    return [event for event in events if event["type"] == "report.scheduled"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1."""
    found = Receiver()
    yield found
    found.close()


def _config(git_repo: Path, receiver: Receiver, at: str) -> Path:
    extra = (
        "notifiers:\n"
        f"  hook: {{plugin: http-test, url: {json.dumps(receiver.url)}}}\n"
        "defaults:\n  notifiers: [hook]\n"
        f"report:\n  every: 24h\n  at: '{at}'\n"
    )
    return write_config(git_repo, git_repo, extra=extra)


async def _run_worker(config: Path, settle: Any) -> None:
    registry = Registry()
    registry.register("notifier", "http-test", HttpNotifier)
    engine = make_engine(config, registry)
    stop = asyncio.Event()
    errors: list[Exception] = []
    worker = asyncio.create_task(outbox_loop(engine, stop, on_error=errors.append))
    try:
        await asyncio.to_thread(settle, engine)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    assert errors == []


async def test_the_due_report_reaches_the_receiver_once_across_a_restart(
    git_repo: Path, receiver: Receiver
) -> None:
    at = datetime.now().strftime("%H:%M")  # the slot began this minute: it is due
    config = _config(git_repo, receiver, at)
    record_night(make_engine(config))

    def first(engine: Any) -> None:
        wait_for(lambda: len(reports(receiver)) == 1, timeout=30)
        for _ in range(3):  # more passes of the dispatcher: still one report
            engine.feed.wake()
            time.sleep(0.2)

    await _run_worker(config, first)
    await _run_worker(config, lambda engine: time.sleep(1.0))  # a restart: nothing new
    delivered = reports(receiver)
    assert len(delivered) == 1
    event = delivered[0]
    assert event["priority"] == "info"
    assert event["title"] == f"ao-tui report: {SUMMARY}"
    assert event["command"] == "ao-tui report"
    assert "app-6" in event["detail"] and "escalated (CI)" in event["detail"]


async def test_no_schedule_sends_nothing(git_repo: Path, receiver: Receiver) -> None:
    extra = (
        "notifiers:\n"
        f"  hook: {{plugin: http-test, url: {json.dumps(receiver.url)}}}\n"
        "defaults:\n  notifiers: [hook]\n"
    )
    config = write_config(git_repo, git_repo, extra=extra)
    record_night(make_engine(config))

    def settle(engine: Any) -> None:
        # The worker delivers the night's three escalations; then a little more time.
        wait_for(lambda: len(receiver.delivered()) == 3, timeout=30)
        time.sleep(0.5)

    await _run_worker(config, settle)
    assert reports(receiver) == []


def test_slots_and_grace() -> None:
    config = ReportConfig(every="24h", at="08:00")
    morning = datetime(2026, 12, 2, 8, 0).timestamp()
    assert latest_slot(config, morning + 60) == morning
    assert due_slot(config, morning + 60) == morning
    assert due_slot(config, morning + 2 * 3600) is None  # too late: wait for tomorrow's
    assert latest_slot(config, morning - 60) == morning - 86400
    assert due_slot(ReportConfig(), morning) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"every": "daily"}, "report.every 'daily' is not a duration between 1m and 365d"),
        ({"every": "10s"}, "report.every '10s' is not a duration between 1m and 365d"),
        ({"at": "8am"}, "report.at '8am' is not a time of day; write HH:MM"),
    ],
)
def test_bad_schedule_says_what_would_fix_it(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReportConfig.model_validate(values)
