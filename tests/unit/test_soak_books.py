"""The soak's books (tests/bench/soak_notify.py) over a real store, the real webhook
notifier and a real receiver on 127.0.0.1: they balance when each notification arrived
once, and they catch a duplicate, a loss, an unsent row and a forged signature. Also the
slope and its standard error the soak reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.notify.outbox import Outbox
from core.notify.pacing import Pacing
from core.notify.words import notification_of
from core.store import Store
from plugins.notifier.webhook import WebhookNotifier
from tests.bench.bench_soak import second_half_growth_mb, slope_error_per_hour, slope_per_hour
from tests.bench.soak_notify import CYCLE, NOTIFIER, SECRET, hook_event, tally
from tests.support.notify_receivers import NotifyReceiver


@pytest.fixture
def receiver() -> Iterator[NotifyReceiver]:
    with NotifyReceiver("webhook", secret=SECRET) as found:
        yield found


def produce(database: Path, count: int) -> list[tuple[int, str]]:
    """``count`` notified reaction events, each enqueued for the soak notifier; (row id,
    key) of each row."""
    store = Store(database)
    outbox = Outbox(store)
    made = []
    for n in range(count):
        data = {"key": "agent-needs-input", "outcome": "notified", "priority": "urgent"}
        event = store.append_event(f"app-{n}", "reaction", {**data, "reason": f"prompt {n}"})
        store.append_event(
            f"app-{n}", "reaction", {"key": "agent-needs-input", "outcome": "cleared"}
        )
        notification = notification_of(event, None)
        assert notification is not None
        (row_id,) = outbox.enqueue([(notification, [NOTIFIER])], Pacing())
        row = outbox.row(row_id)
        assert row is not None
        made.append((row_id, row.key))
    store.close()
    return made


def deliver(database: Path, receiver: NotifyReceiver, row_id: int, *, secret: str = SECRET) -> None:
    """POST the row through the real webhook notifier, and mark it sent."""
    store = Store(database)
    outbox = Outbox(store)
    row = outbox.row(row_id)
    assert row is not None
    options = {"url": receiver.url, "secret": secret}
    try:
        WebhookNotifier().send(row.notification, options, key=row.key)
    except Exception:
        pass  # a refused request is what the books must see
    outbox.sent(row_id)
    store.close()


def test_the_books_balance_when_each_notification_arrived_once(
    tmp_path: Path, receiver: NotifyReceiver
) -> None:
    database = tmp_path / "state.db"
    for row_id, _ in produce(database, 3):
        deliver(database, receiver, row_id)
    books = tally(database, receiver)
    assert len(books.produced) == 3 and len(books.received) == 3
    assert (books.lost, books.duplicates, books.refused) == (0, 0, 0)
    assert books.exactly_once
    assert len(books.latencies) == 3


def test_the_books_catch_a_duplicate_a_loss_an_unsent_row_and_a_forgery(
    tmp_path: Path, receiver: NotifyReceiver
) -> None:
    database = tmp_path / "state.db"
    made = produce(database, 3)
    deliver(database, receiver, made[0][0])
    deliver(database, receiver, made[0][0])  # the same key twice
    books = tally(database, receiver)
    assert books.duplicates == 1 and books.lost == 2 and not books.exactly_once
    assert books.rows["pending"] == 2
    deliver(database, receiver, made[1][0], secret="not-the-secret")
    assert tally(database, receiver).refused == 1


def test_the_stream_walks_every_session_through_a_permission_prompt() -> None:
    sessions = 4
    kinds = [hook_event(line, sessions) for line in range(3 * sessions)]
    assert kinds == [kind for kind in CYCLE for _ in range(sessions)]


def test_slope_and_its_standard_error() -> None:
    rising = [(t * 60.0, 1000 + t * 10) for t in range(10)]  # 10 kB a minute
    assert slope_per_hour(rising) == pytest.approx(600 / 1024)
    assert slope_error_per_hour(rising) == pytest.approx(0.0, abs=1e-9)
    noisy = [(t * 5.0, 40_000 + (512 if t % 2 else -512)) for t in range(120)]
    assert abs(slope_per_hour(noisy)) < 1.0
    assert slope_error_per_hour(noisy) > 0.1  # ±0.5 MB of noise over 10 min blurs it


def test_second_half_growth_ignores_the_warm_up() -> None:
    warm = [(t * 5.0, 40_000 + min(t, 12) * 2048) for t in range(121)]  # +24 MB, then flat
    assert second_half_growth_mb(warm) == 0.0
    leaking = [(t * 5.0, 40_000 + t * 100) for t in range(121)]  # 100 kB per sample
    assert second_half_growth_mb(leaking) == pytest.approx(60 * 100 / 1024)
