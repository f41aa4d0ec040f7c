"""The outbox over a real store: which events become notifications and in what words,
routing, idempotent enqueue, dedupe, quiet hours, the digest, back-off, Retry-After,
fail-fast, lane order and the resend of a row a crash left ``sending``.

The notifier is :class:`tests.support.notifiers.RecordingNotifier`, a stand-in registered
in a real Registry (the HTTP notifiers are tested against a local receiver in
tests/integration/test_notify_delivery.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from core.config import load_config_text
from core.config_models import Config
from core.config_notify import routes
from core.errors import ConfigError
from core.models import Event
from core.notify.model import Notification, NotifierError
from core.notify.outbox import Outbox
from core.notify.pacing import Pacing
from core.notify.sending import BASE_DELAY, MAX_ATTEMPTS, deliver, scrub
from core.notify.words import fact_of, notification_of
from core.registry import Registry
from core.store import Store
from tests.support.notifiers import RecordingNotifier

ROOT = Path(__file__).resolve().parents[2]


def config(**sections: Any) -> Config:
    return Config.model_validate(
        {
            "projects": {"app": {"path": "/tmp"}},
            "notifiers": {"rec": {"plugin": "rec", "url": "https://hooks.example/T0/S3CRET"}},
            "defaults": {"notifiers": ["rec"]},
            **sections,
        }
    )


def escalated(seq: int, session: str = "app-7", reason: str = "CI still failing") -> Event:
    data = {"key": "ci-failed", "outcome": "escalated", "attempt": 2, "tier": 3, "reason": reason}
    return Event(seq, 1000.0 + seq, session, "reaction", data)


def notified(seq: int, priority: str | None = "action", session: str = "app-7") -> Event:
    data: dict[str, Any] = {"key": "approved-and-green", "outcome": "notified", "reason": "PR ok"}
    if priority is not None:
        data["priority"] = priority
    return Event(seq, 1000.0 + seq, session, "reaction", data)


class Box:
    """A store, a clock, the outbox and a registry holding the recording stand-in."""

    def __init__(self, tmp_path: Path, **sections: Any) -> None:
        self.store = Store(tmp_path / "state.db")
        self.now = 1_000_000.0
        self.outbox = Outbox(self.store, clock=lambda: self.now)
        self.notifier = RecordingNotifier()
        self.registry = Registry(discover=False)
        self.registry.register("notifier", "rec", lambda: self.notifier)
        self.config = config(**sections)

    def pacing(self, hour: int = 12) -> Pacing:
        local = time.struct_time((2026, 12, 2, hour, 0, 0, 2, 336, 0))
        return Pacing.of(self.config, localtime=lambda _now: local)

    def add(self, *events: Event, hour: int = 12) -> list[int]:
        items = []
        for event in events:
            found = notification_of(event, None)
            assert found is not None
            items.append((found, routes(self.config, found.priority)))
        return self.outbox.enqueue(items, self.pacing(hour), cursor=events[-1].seq)

    def deliver_due(self) -> list[str]:
        return [
            deliver(self.outbox, row, self.config, self.registry, rng=lambda: 1.0)
            for row in self.outbox.heads()
            if row.next_at <= self.now
        ]


def test_an_escalation_is_urgent_and_says_who_what_and_the_command() -> None:
    found = notification_of(escalated(5, reason="CI still failing after 2 fixes (test_x)"), None)
    assert found is not None
    assert found.priority == "urgent"
    assert found.title == "app-7 needs you: CI still failing after 2 fixes (test_x)"
    assert found.command == "ao-tui attach app-7"
    assert found.text().splitlines()[0] == found.title
    assert found.text().splitlines()[-1] == "→ ao-tui attach app-7"


def test_a_notice_keeps_its_rule_priority_and_one_without_is_a_warning() -> None:
    assert notification_of(notified(1, "info"), None).priority == "info"  # type: ignore[union-attr]
    assert notification_of(notified(1, None), None).priority == "warning"  # type: ignore[union-attr]
    other = Event(3, 1.0, "app-7", "reaction", {"key": "ci-failed", "outcome": "delivered"})
    assert notification_of(other, None) is None
    assert notification_of(Event(4, 1.0, "app-7", "lifecycle", {}), None) is None


def test_a_handoff_to_the_orchestrator_pages_nobody_its_escalation_by_hand_does() -> None:
    handed = {"key": "ci-failed", "outcome": "orchestrator", "tier": 2, "to": "app-orchestrator"}
    assert notification_of(Event(3, 1.0, "app-7", "reaction", handed), None) is None
    by_hand = {
        "key": "orchestrator",
        "outcome": "escalated",
        "tier": 3,
        "by": "app-orchestrator",
        "reason": "two agents fix one bug (escalated by app-orchestrator)",
    }
    found = notification_of(Event(4, 1.0, "app-7", "reaction", by_hand), None)
    assert found is not None and found.priority == "urgent"
    assert found.title == "app-7 needs you: two agents fix one bug (escalated by app-orchestrator)"


def test_words_quote_others_text_inert_and_masked() -> None:
    token = "ghp_" + "a" * 36
    found = notification_of(escalated(5, reason=f"\x1b[31mred\x1b[0m {token}\nline"), None)
    assert found is not None
    assert "\x1b" not in found.title and token not in found.title
    assert "\n" not in found.title


def test_routing_uses_the_priority_route_else_the_defaults() -> None:
    chosen = config(notificationRouting={"urgent": ["rec", "desktop", "rec"], "info": []})
    assert routes(chosen, "urgent") == ["rec", "desktop"]
    assert routes(chosen, "info") == []  # an empty route silences the priority
    assert routes(chosen, "action") == ["rec"]  # no route: defaults.notifiers


def test_a_route_to_an_unknown_notifier_is_a_config_error_with_its_line() -> None:
    text = (
        f"projects:\n  app: {{path: {ROOT}}}\n"
        "notifiers:\n  team: {plugin: slack, webhookUrl: x}\n"
        "notificationRouting:\n  urgent: [team, desktop, teem]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, filename="ao.config.yaml", base_dir=ROOT, known_agents=["shell"])
    message = str(caught.value)
    assert "ao.config.yaml:6:" in message
    assert "notificationRouting.urgent.2: no notifier named 'teem'" in message
    assert "desktop" not in message.split("named")[1].split("(")[0]  # built-ins are fine


def test_enqueue_is_idempotent_and_records_the_log_position(tmp_path: Path) -> None:
    box = Box(tmp_path, notificationRouting={"urgent": ["rec", "desktop"]})
    first = box.add(escalated(5))
    again = box.add(escalated(5))
    assert len(first) == 2 and again == []
    assert box.outbox.cursor() == 5
    keys = {row.key for row in box.outbox.rows()}
    assert len(keys) == 2


def test_repeats_inside_the_window_collapse_into_one(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.add(escalated(1))
    box.now += 60
    assert box.add(escalated(2)) == []  # the same fact, a minute later
    assert box.add(escalated(3, session="app-8")) != []  # another session's
    rows = box.outbox.rows()
    assert [(row.session_id, row.repeats) for row in rows] == [("app-7", 1), ("app-8", 0)]
    box.now += 601  # the window (10m default) is over: told again
    assert box.add(escalated(4)) != []


def test_quiet_hours_hold_all_but_urgent_until_they_end(tmp_path: Path) -> None:
    box = Box(tmp_path, notifications={"quietHours": {"start": "22:00", "end": "07:00"}})
    box.add(notified(1), escalated(2, session="app-8"), hour=23)
    rows = {row.session_id: row for row in box.outbox.rows()}
    assert rows["app-7"].state == "held" and rows["app-7"].hold == "quiet"
    assert rows["app-8"].state == "pending"
    assert rows["app-7"].next_at == box.now + 8 * 3600  # 23:00 -> 07:00
    assert box.deliver_due() == ["sent"]  # only the urgent one
    box.outbox.release(box.pacing(hour=6))
    assert box.outbox.row(rows["app-7"].id).state == "held"  # type: ignore[union-attr]
    box.outbox.release(box.pacing(hour=7))
    assert box.deliver_due() == ["sent"]
    assert [n.session_id for n, _, _ in box.notifier.sent] == ["app-8", "app-7"]


def test_the_digest_batches_info_and_action_into_one_message(tmp_path: Path) -> None:
    box = Box(tmp_path, notifications={"digest": {"every": "30m"}, "dedupeWindow": "0"})
    box.add(notified(1, "info"), notified(2, "action", "app-8"), escalated(3))
    assert box.deliver_due() == ["sent"]  # the urgent one goes at once
    box.outbox.release(box.pacing())
    assert box.deliver_due() == []  # the period is not over
    box.now = 1_001_700.0  # the next multiple of 30 minutes
    box.outbox.release(box.pacing())
    assert box.deliver_due() == ["sent"]
    digest = box.notifier.sent[-1][0]
    assert digest.type == "notify.digest"
    assert digest.title == "ao-tui digest: 2 notifications (app-7, app-8)"
    states = sorted(row.state for row in box.outbox.rows())
    assert states == ["batched", "batched", "sent", "sent"]


def test_back_off_grows_and_retry_after_is_honoured(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.notifier.failures = [
        NotifierError("receiver answered 500", retry=True),
        NotifierError("receiver answered 500", retry=True),
        NotifierError("receiver answered 429", retry=True, retry_after=42),
    ]
    (row_id,) = box.add(escalated(1))
    waits = []
    for _ in range(3):
        start = box.now
        assert box.deliver_due() == ["retry"]
        row = box.outbox.row(row_id)
        assert row is not None and row.state == "pending"
        waits.append(row.next_at - start)
        assert box.deliver_due() == []  # nothing goes during a back-off
        box.now = row.next_at
    assert waits == [BASE_DELAY, 2 * BASE_DELAY, 42]
    assert box.deliver_due() == ["sent"]
    assert box.notifier.calls == 4


def test_jitter_keeps_the_wait_between_half_and_all_of_it(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.notifier.failures = [NotifierError("down", retry=True)]
    (row_id,) = box.add(escalated(1))
    row = box.outbox.heads()[0]
    deliver(box.outbox, row, box.config, box.registry, rng=lambda: 0.0)
    assert box.outbox.row(row_id).next_at == box.now + BASE_DELAY / 2  # type: ignore[union-attr]


def test_a_4xx_fails_fast_keeps_the_row_and_masks_the_reason(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.notifier.failures = [
        NotifierError("401 from https://hooks.example/T0/S3CRET: bad token", retry=False)
    ]
    (row_id,) = box.add(escalated(1))
    assert box.deliver_due() == ["failed"]
    row = box.outbox.row(row_id)
    assert row is not None and row.state == "failed"
    assert "401" in row.last_error and "S3CRET" not in row.last_error
    assert box.notifier.calls == 1
    box.now += 3600
    assert box.deliver_due() == []  # failed stays failed...
    assert box.outbox.retry(row_id) is not None  # ...until retried
    assert box.deliver_due() == ["sent"]


def test_a_row_that_never_gets_through_gives_up(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.notifier.failures = [NotifierError("down", retry=True)] * MAX_ATTEMPTS
    (row_id,) = box.add(escalated(1))
    for _ in range(MAX_ATTEMPTS):
        box.deliver_due()
        box.now += 10_000
    row = box.outbox.row(row_id)
    assert row is not None and row.state == "failed"
    assert row.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_a_lane_goes_in_order_and_a_back_off_holds_the_rows_behind(tmp_path: Path) -> None:
    box = Box(tmp_path, notifications={"dedupeWindow": "0"})
    box.notifier.failures = [NotifierError("down", retry=True)]
    box.add(escalated(1, reason="first"), escalated(2, reason="second"))
    box.add(escalated(3, session="app-8", reason="other"))
    assert box.deliver_due() == ["retry", "sent"]  # app-7's first backs off; app-8 goes
    assert box.deliver_due() == []  # app-7's second waits behind its first
    box.now += 10
    assert box.deliver_due() == ["sent"]
    assert box.deliver_due() == ["sent"]
    titles = [n.title for n, _, _ in box.notifier.sent]
    assert titles == ["app-8 needs you: other", "app-7 needs you: first", "app-7 needs you: second"]


def test_a_row_a_crash_left_sending_is_sent_again_with_the_same_key(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.add(escalated(1))
    row = box.outbox.heads()[0]
    claimed = box.outbox.claim(row)  # the crash came after this, before the outcome
    assert claimed is not None and claimed.state == "sending"
    again = Outbox(box.store, clock=lambda: box.now)  # a new process
    assert [r.id for r in again.heads()] == [row.id]
    assert box.deliver_due() == ["sent"]
    assert box.notifier.sent[0][2] == row.key


def test_a_row_read_while_its_attempt_was_in_flight_waits_for_its_back_off(
    tmp_path: Path,
) -> None:
    # The worker's next pass read the row (due, sending) while the first attempt was in
    # flight; the attempt then backed off. The stale read must not resend it at once.
    box = Box(tmp_path)
    box.add(escalated(1))
    first = box.outbox.claim(box.outbox.heads()[0])
    assert first is not None
    stale = box.outbox.heads()[0]  # read during the send: state sending, due
    box.outbox.back_off(first.id, box.now + 1.0, "503 Service Unavailable")
    assert box.outbox.claim(stale) is None
    box.now += 1.0
    assert box.outbox.claim(box.outbox.heads()[0]) is not None


def test_an_unusable_notifier_fails_the_row_with_the_fix(tmp_path: Path) -> None:
    box = Box(tmp_path, notificationRouting={"urgent": ["gone"]})
    box.add(escalated(1))
    assert box.deliver_due() == ["failed"]
    assert "no notifier named 'gone'" in box.outbox.rows()[0].last_error
    box.config = config(notifiers={"rec": {"plugin": "rec", "url": "${NOT_SET_ANYWHERE}"}})
    box.add(escalated(2, reason="again"))
    assert box.deliver_due() == ["failed"]
    assert "'NOT_SET_ANYWHERE' is not set" in box.outbox.rows()[-1].last_error


def test_scrub_masks_every_option_value_and_any_url() -> None:
    options = {"url": "https://hooks.slack.com/services/T0/B0/XYZ", "token": "abcd1234"}
    text = scrub("failed at https://hooks.slack.com/services/T0/B0/XYZ with abcd1234", options)
    assert "XYZ" not in text and "abcd1234" not in text


def test_the_fact_blurs_numbers_but_keeps_the_session_and_key() -> None:
    one = notification_of(escalated(1, reason="stuck for 10m"), None)
    two = notification_of(escalated(2, reason="stuck for 12m"), None)
    other = notification_of(escalated(3, session="app-8", reason="stuck for 12m"), None)
    assert one and two and other
    assert fact_of(one) == fact_of(two) != fact_of(other)


def test_payloads_keep_no_secret(tmp_path: Path) -> None:
    box = Box(tmp_path)
    token = "ghp_" + "b" * 36
    box.add(escalated(1, reason=f"push refused with {token}"))
    raw = box.store.read("SELECT payload, last_error FROM notify_outbox")
    assert token not in str(raw)


def test_a_notification_round_trips_through_its_payload(tmp_path: Path) -> None:
    box = Box(tmp_path)
    box.add(escalated(1))
    stored = box.outbox.rows()[0].notification
    assert isinstance(stored, Notification) and stored.id == "evt-1"
    assert stored.data["key"] == "ci-failed"
