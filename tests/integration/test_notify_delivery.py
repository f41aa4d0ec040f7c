"""Notifications delivered to a real HTTP receiver on 127.0.0.1: the worker in process
(order per session, back-off visible in the receiver's log, Retry-After, fail-fast), and
``ao-tui daemon`` as a real subprocess SIGKILLed mid-delivery and restarted (each
notification reaches the receiver once, by its idempotency key).

The notifier is :class:`tests.support.notifiers.HttpNotifier`, a stand-in for the HTTP
notifiers (built elsewhere); the receiver, the store, the daemon and the feed are real.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.faults import FAULT_ENV
from core.locations import Locations
from core.notify.outbox import Outbox
from core.notify.worker import outbox_loop
from core.registry import Registry
from core.store import Store
from tests.support.engine import make_engine, wait_for, write_config
from tests.support.notifiers import HttpNotifier, Receiver

ROOT = Path(__file__).resolve().parents[2]


def notifier_yaml(url: str) -> str:
    return (
        "notifiers:\n"
        f"  hook: {{plugin: http-test, url: {json.dumps(url)}}}\n"
        "defaults:\n  notifiers: [hook]\n"
        "notifications:\n  dedupeWindow: '0'\n"
    )


def escalate(store: Store, session: str, reason: str) -> None:
    data = {"key": "ci-failed", "outcome": "escalated", "attempt": 2, "tier": 3, "reason": reason}
    store.append_event(session, "reaction", data)


@pytest.fixture
def receiver() -> object:
    found = Receiver()
    yield found
    found.close()


async def run_worker(git_repo: Path, receiver: Receiver, work: object) -> Outbox:
    write_config(git_repo, git_repo, extra=notifier_yaml(receiver.url))
    registry = Registry()
    registry.register("notifier", "http-test", HttpNotifier)
    engine = make_engine(git_repo / "ao.config.yaml", registry)
    stop = asyncio.Event()
    errors: list[Exception] = []
    worker = asyncio.create_task(outbox_loop(engine, stop, on_error=errors.append))
    try:
        await asyncio.to_thread(work, engine)  # type: ignore[arg-type]
    finally:
        stop.set()
        await asyncio.wait_for(worker, 20)
    assert errors == []
    return Outbox(engine.store)


async def test_order_per_session_backoff_and_retry_after_show_at_the_receiver(
    git_repo: Path, receiver: Receiver
) -> None:
    receiver.script = [(503, {"Retry-After": "1"}), (500, {})]

    def work(engine: object) -> None:
        store = engine.store  # type: ignore[attr-defined]
        for n in range(3):
            escalate(store, "app-7", f"failure {n}")
        engine.feed.wake()  # type: ignore[attr-defined]
        wait_for(lambda: len(receiver.delivered()) == 3, timeout=30)

    await run_worker(git_repo, receiver, work)
    log = receiver.requests
    assert [r.status for r in log] == [503, 500, 200, 200, 200]
    assert log[0].key == log[1].key == log[2].key  # one row, retried with its key
    assert log[1].at - log[0].at >= 0.95  # Retry-After: 1
    assert log[2].at - log[1].at >= 2.4  # back-off after a 500 (5 s, jitter down to half)
    titles = [r.body["event"]["title"] for r in receiver.delivered()]
    assert titles == [f"app-7 needs you: failure {n}" for n in range(3)]


async def test_a_401_fails_fast_and_the_row_keeps_the_reason(
    git_repo: Path, receiver: Receiver
) -> None:
    receiver.script = [(401, {})]

    def work(engine: object) -> None:
        escalate(engine.store, "app-7", "stuck")  # type: ignore[attr-defined]
        engine.feed.wake()  # type: ignore[attr-defined]
        box = Outbox(engine.store)  # type: ignore[attr-defined]
        wait_for(lambda: [r for r in box.rows() if r.state == "failed"], timeout=20)

    box = await run_worker(git_repo, receiver, work)
    (row,) = box.rows()
    assert row.state == "failed" and row.last_error == "receiver answered 401"
    assert len(receiver.requests) == 1


def start_daemon(git_repo: Path, plugins: Path, fault: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(plugins)])
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "--config", str(git_repo / "ao.config.yaml"), "daemon"],
        cwd=git_repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("fault", ["notify.claimed", "notify.sent"])
def test_a_daemon_killed_mid_delivery_neither_loses_nor_doubles(
    git_repo: Path, tmp_path: Path, receiver: Receiver, fault: str
) -> None:
    from tests.support.notifiers import install_entry_point

    plugins = install_entry_point(tmp_path / "plugins")
    write_config(git_repo, git_repo, extra=notifier_yaml(receiver.url))
    store = Store(Locations.from_env().database)
    for n in range(3):
        escalate(store, f"app-{n}", f"failure {n}")  # logged while no daemon ran
    crashed = start_daemon(git_repo, plugins, fault)
    try:
        assert crashed.wait(timeout=60) == -signal.SIGKILL
    finally:
        if crashed.poll() is None:
            crashed.kill()
    # Killed after a row was marked sending: before the send, or after the receiver took it
    # (the lanes run in parallel, so up to three may be that far).
    received = {r.key for r in receiver.requests}
    cut_short = [r for r in Outbox(store).rows() if r.state == "sending"]
    assert cut_short
    if fault == "notify.claimed":
        assert received == set()
    else:
        # At least the row whose send the kill followed was taken by the receiver; a row
        # another lane had only marked may not have been sent yet.
        assert received & {r.key for r in cut_short}
    before = len(receiver.requests)
    daemon = start_daemon(git_repo, plugins)
    try:
        box = Outbox(store)
        wait_for(lambda: [r.state for r in box.rows()] == ["sent"] * 3, timeout=60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
    keys = [r.key for r in receiver.delivered()]
    # The one a crash cut short is resent with its own key: the receiver sees it once.
    assert len(set(keys)) == 3
    assert len(keys) == 3 + before
    rows = Outbox(store).rows()
    assert sorted(r.state for r in rows) == ["sent"] * 3
    assert sorted(r.key for r in rows) == sorted(set(keys))
    secret = "s3cr3t-path-token"
    assert secret not in err.decode()
    assert secret not in json.dumps([r.to_json() for r in rows])
    store.close()
