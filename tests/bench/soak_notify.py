"""The soak's notification stream and its books: what the daemon decided to tell a person,
what its outbox holds, and what a real receiver on 127.0.0.1 got.

The stream is made the way a fleet makes it: the hook lines the soak writes walk each
session through ``PreToolUse`` → ``PermissionRequest`` → ``PostToolUse``, so every session
waits on a permission prompt once a cycle. The daemon reads that, the ``agent-needs-input``
reaction notifies (an ``urgent`` ``reaction`` event), the outbox enqueues it for the
``soak`` webhook notifier (HMAC-signed) and the delivery worker POSTs it to a
:class:`~tests.support.notify_receivers.NotifyReceiver`, which checks the signature and
logs every request. The dedupe window is off so each decision is one row (dedupe has its
own tests); nothing else is stubbed.

:func:`tally` reconciles the three books at the end:

- **produced**: ``reaction`` events with outcome ``notified`` or ``escalated`` in the log;
- **rows**: outbox rows, by state (all must be ``sent``);
- **received**: the receiver's 2xx answers, by idempotency key and event id.

Exactly once means: every produced event's id arrived (none lost), no key arrived twice
(no duplicate), and there is one row per produced event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.notify.outbox import Outbox
from core.store import Store
from tests.support.notify_receivers import NotifyReceiver, Request

NOTIFIER = "soak"
SECRET = "soak-hmac-secret-7c1e"
"""Signs the bodies; the receiver answers 401 to a bad signature (which would count as lost)."""
CYCLE = ("PreToolUse", "PermissionRequest", "PostToolUse")
"""The hook events each session goes through in turn; the middle one waits on a person."""


def notifier_yaml(url: str) -> str:
    """The config section routing every priority to the receiver, dedupe off."""
    return (
        "notifiers:\n"
        f"  {NOTIFIER}: {{plugin: webhook, url: {json.dumps(url)}, secret: {SECRET}}}\n"
        f"defaults:\n  notifiers: [{NOTIFIER}]\n"
        "notifications:\n  dedupeWindow: '0'\n"
    )


def hook_event(line: int, sessions: int) -> str:
    """The hook event of the ``line``-th line of the stream (sessions take turns)."""
    return CYCLE[(line // sessions) % len(CYCLE)]


@dataclass
class Books:
    """The three books of a soak, and how they compare."""

    produced: list[str] = field(default_factory=list)
    """Event ids (``evt-<seq>``) of the reaction events that need a person."""
    rows: Counter[str] = field(default_factory=Counter)
    """Outbox rows by state."""
    row_keys: set[str] = field(default_factory=set)
    received: list[tuple[str, str]] = field(default_factory=list)
    """(idempotency key, event id) of every request the receiver answered 2xx."""
    refused: int = 0
    """Requests the receiver refused (a bad signature or shape)."""
    latencies: list[float] = field(default_factory=list)
    """Seconds from the event to the row's ``sent_at``."""

    @property
    def duplicates(self) -> int:
        """Deliveries beyond the first of a key."""
        return len(self.received) - len({key for key, _ in self.received})

    @property
    def lost(self) -> int:
        """Produced events whose notification never arrived."""
        return len(set(self.produced) - {event for _, event in self.received})

    @property
    def exactly_once(self) -> bool:
        """Every produced notification arrived once, and the outbox agrees."""
        return (
            bool(self.produced)
            and self.lost == 0
            and self.duplicates == 0
            and len(self.received) == len(self.produced)
            and self.rows == Counter({"sent": len(self.produced)})
            and self.row_keys == {key for key, _ in self.received}
        )


def open_rows(database: Path) -> int:
    """Outbox rows not yet delivered or given up (pending, sending, held)."""
    store = Store(database)
    try:
        found = store.read(
            "SELECT COUNT(*) FROM notify_outbox WHERE state IN ('pending', 'sending', 'held')"
        )
    finally:
        store.close()
    return int(found[0][0])


def drain(database: Path, timeout: float) -> float:
    """Wait until the outbox has nothing left to send; the seconds it took."""
    began = time.monotonic()
    while open_rows(database) and time.monotonic() - began < timeout:
        time.sleep(0.2)
    return time.monotonic() - began


def tally(database: Path, receiver: NotifyReceiver) -> Books:
    """The books of the store at ``database`` and of ``receiver``."""
    books = Books()
    store = Store(database)
    try:
        seq, stamps = 0, {}
        while batch := store.events_after(seq):
            for event in batch:
                if event.kind == "reaction" and event.data.get("outcome") in (
                    "notified",
                    "escalated",
                ):
                    books.produced.append(f"evt-{event.seq}")
                    stamps[f"evt-{event.seq}"] = event.ts
            seq = batch[-1].seq
        for row in Outbox(store).rows(recent=10**9):
            books.rows[row.state] += 1
            books.row_keys.add(row.key)
            if row.sent_at is not None and row.notification.id in stamps:
                books.latencies.append(row.sent_at - stamps[row.notification.id])
    finally:
        store.close()
    for request in list(receiver.requests):
        body = request.json()
        if isinstance(body, dict) and _signed(request):
            books.received.append((str(body.get("idempotencyKey")), str(body["event"]["id"])))
        else:
            books.refused += 1
    return books


def _signed(request: Request) -> bool:
    """Whether the receiver took ``request``: with no faults scripted, it answers 2xx to a
    JSON object whose ``X-Ao-Signature-256`` verifies, which is checked here the same way."""
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    given = request.headers.get("x-ao-signature-256", "")
    return hmac.compare_digest(given, f"sha256={expected}")
