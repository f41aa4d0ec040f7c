"""The outbox: every notification, one row per notifier, in the store.

A row is written before anything is sent, with an **idempotency key** (unique) that the
notifier hands the receiver; it moves ``pending`` → ``sending`` (just before the send) →
``sent``, or back to ``pending`` with a later ``next_at`` (a back-off), or ``failed`` with
the reason. A crash leaves a ``sending`` row, which the next worker sends again with the
SAME key: the receiver sees one message. ``held`` rows wait for quiet hours to end or for
their digest; a digested row becomes ``batched`` once its digest row is written.

Enqueueing is idempotent (the key is made from the event and the notifier), and records
how far into the event log it has read in the same transaction: after a restart the
worker picks up exactly where it stopped.

Delivery is ordered per session and notifier (a **lane**): only the oldest unsent row of
a lane may go, so a row backing off holds the ones behind it.

Payloads are masked (:mod:`core.redact`) and hold no notifier option: URLs and tokens are
read from the config when a row is sent, never stored.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from core.notify.model import Notification
from core.notify.pacing import Pacing
from core.notify.words import digest_notification, fact_of
from core.redact import redact, redact_value
from core.store import Store

RowState = Literal["pending", "sending", "sent", "failed", "held", "batched"]
CURSOR = "outbox"
"""The name of the outbox's position in the event log (``notify_cursor``)."""
ERROR_LIMIT = 500
"""Longest reason kept for a row."""

_COLUMNS = (
    "id, key, notifier, session_id, priority, fact, payload, state, hold, attempts, repeats, "
    "next_at, last_error, digest_id, created_at, sent_at"
)
_OPEN = "('pending', 'sending')"


@dataclass(frozen=True)
class Row:
    """One notification on its way through one notifier."""

    id: int
    key: str
    notifier: str
    session_id: str
    priority: str
    fact: str
    notification: Notification
    state: RowState
    hold: str
    """Why a held row waits: ``quiet`` (quiet hours) or ``digest``."""
    attempts: int
    repeats: int
    """Repeats of the same fact that collapsed into this row."""
    next_at: float
    last_error: str
    digest_id: int | None
    created_at: float
    sent_at: float | None

    def to_json(self) -> dict[str, Any]:
        """One row of ``notify outbox --json`` (nothing secret is stored to show)."""
        return {
            "id": self.id,
            "key": self.key,
            "notifier": self.notifier,
            "session": self.session_id,
            "priority": self.priority,
            "state": self.state,
            "hold": self.hold or None,
            "attempts": self.attempts,
            "repeats": self.repeats,
            "next_at": self.next_at,
            "last_error": self.last_error or None,
            "digest": self.digest_id,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "type": self.notification.type,
            "title": self.notification.title,
        }


def idempotency_key(notification: Notification, notifier: str) -> str:
    """The key of ``notification`` on ``notifier``: the same for the same event (so a
    replayed event is not enqueued twice), another for a new database's event of the same
    number (its timestamp differs)."""
    seed = f"{notification.id}|{notification.timestamp!r}|{notifier}"
    return "ao-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32]


class Outbox:
    """The outbox tables of one store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        """Read and write the outbox of ``store``."""
        self.store = store
        self.clock = clock

    # writing -------------------------------------------------------------------------

    def enqueue(
        self,
        items: Iterable[tuple[Notification, list[str]]],
        pacing: Pacing,
        *,
        cursor: int | None = None,
    ) -> list[int]:
        """Record each notification for each of its notifiers, in one transaction, and
        move the log position to ``cursor`` (when given); the ids of the new rows.

        A notification already recorded is skipped; one repeating a fact recorded for the
        same session within ``pacing.window`` only counts as a repeat of it.
        """
        now = self.clock()
        made: list[int] = []
        with self.store.transaction() as db:
            for notification, notifiers in items:
                fact = fact_of(notification)
                if pacing.window > 0 and notification.session_id:
                    keys = [idempotency_key(notification, name) for name in notifiers]
                    marks = ",".join("?" * len(keys)) or "''"
                    cur = db.execute(
                        "UPDATE notify_outbox SET repeats=repeats+1 WHERE session_id=? AND "
                        f"fact=? AND created_at>=? AND digest_id IS NULL AND key NOT IN ({marks})",
                        (notification.session_id, fact, now - pacing.window, *keys),
                    )
                    if cur.rowcount:
                        continue
                state, hold, due = pacing.place(notification.priority, now)
                payload = json.dumps(redact_value(asdict(notification)), ensure_ascii=False)
                for notifier in notifiers:
                    cur = db.execute(
                        "INSERT OR IGNORE INTO notify_outbox(key, notifier, session_id, "
                        "priority, fact, payload, state, hold, next_at, created_at) "
                        "VALUES(?,?,?,?,?,?,?,?,?,?)",
                        (
                            idempotency_key(notification, notifier),
                            notifier,
                            notification.session_id,
                            notification.priority,
                            fact,
                            payload,
                            state,
                            hold,
                            due,
                            now,
                        ),
                    )
                    if cur.rowcount:
                        made.append(int(cur.lastrowid or 0))
            if cursor is not None:
                db.execute(
                    "INSERT INTO notify_cursor(name, seq) VALUES(?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET seq=excluded.seq",
                    (CURSOR, cursor),
                )
        return made

    def claim(self, row: Row) -> Row | None:
        """Mark ``row`` as being sent (one more attempt), just before the send; None when
        it changed since it was read (retried, failed, sent by another worker) or is not
        due any more (a read taken while an earlier attempt was in flight must not resend
        it before that attempt's back-off ends)."""
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE notify_outbox SET state='sending', attempts=attempts+1 "
                f"WHERE id=? AND state IN {_OPEN} AND attempts=? AND next_at<=?",
                (row.id, row.attempts, self.clock()),
            )
        return self.row(row.id) if cur.rowcount else None

    def sent(self, row_id: int) -> None:
        """The receiver took it."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE notify_outbox SET state='sent', sent_at=?, last_error='' WHERE id=?",
                (self.clock(), row_id),
            )

    def back_off(self, row_id: int, next_at: float, error: str) -> None:
        """It did not go, and may later: try again at ``next_at``."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE notify_outbox SET state='pending', next_at=?, last_error=? "
                "WHERE id=? AND state='sending'",
                (next_at, _reason(error), row_id),
            )

    def fail(self, row_id: int, error: str) -> None:
        """It will not go by waiting: the row stays, with the reason."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE notify_outbox SET state='failed', last_error=? WHERE id=?",
                (_reason(error), row_id),
            )

    def retry(self, row_id: int) -> Row | None:
        """Send a failed, held or backing-off row again now, with a fresh budget of
        attempts; None if there is no such row. A sent or batched row is left as it is."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE notify_outbox SET state='pending', hold='', attempts=0, next_at=? "
                "WHERE id=? AND state IN ('pending', 'failed', 'held')",
                (self.clock(), row_id),
            )
        return self.row(row_id)

    def release(self, pacing: Pacing) -> int:
        """Hand held rows whose hold is over to delivery: quiet-hour rows once the hours
        end (or were taken out of the config), digested rows into one digest row per
        notifier once their period ends. How many rows were released."""
        now = self.clock()
        released = 0
        quiet_now = pacing.quiet_until(now) is not None
        with self.store.transaction() as db:
            if not quiet_now:
                cur = db.execute(
                    "UPDATE notify_outbox SET state='pending', hold='', next_at=? "
                    "WHERE state='held' AND hold='quiet'",
                    (now,),
                )
            else:
                cur = db.execute(
                    "UPDATE notify_outbox SET state='pending', hold='' "
                    "WHERE state='held' AND hold='quiet' AND next_at<=?",
                    (now,),
                )
            released += cur.rowcount
            due = db.execute(
                f"SELECT {_COLUMNS} FROM notify_outbox WHERE state='held' AND hold='digest' "
                "AND (next_at<=? OR ?) ORDER BY id",
                (now, pacing.digest_every is None),
            ).fetchall()
            lanes: dict[str, list[Row]] = {}
            for raw in due:
                row = _row(raw)
                lanes.setdefault(row.notifier, []).append(row)
            for notifier, rows in lanes.items():
                digest = digest_notification(
                    [row.notification for row in rows],
                    notifier=notifier,
                    now=now,
                    first_id=rows[0].id,
                )
                state, hold, next_at = pacing.place(digest.priority, now, in_digest=True)
                cur = db.execute(
                    "INSERT OR IGNORE INTO notify_outbox(key, notifier, session_id, priority, "
                    "fact, payload, state, hold, next_at, created_at) VALUES(?,?,?,?,?,?,?,?,?,?)",
                    (
                        idempotency_key(digest, notifier),
                        notifier,
                        "",
                        digest.priority,
                        fact_of(digest),
                        json.dumps(redact_value(asdict(digest)), ensure_ascii=False),
                        state,
                        hold,
                        next_at,
                        now,
                    ),
                )
                digest_id = int(cur.lastrowid or 0)
                marks = ",".join("?" * len(rows))
                db.execute(
                    f"UPDATE notify_outbox SET state='batched', hold='', digest_id=? "
                    f"WHERE id IN ({marks})",
                    (digest_id, *(row.id for row in rows)),
                )
                released += len(rows)
        return released

    def prune(self, before: float) -> int:
        """Forget sent and batched rows created before ``before``: the outbox stays small
        over weeks of running. Failed rows are kept until retried or pruned by hand."""
        with self.store.transaction() as db:
            cur = db.execute(
                "DELETE FROM notify_outbox WHERE state IN ('sent', 'batched') AND created_at<?",
                (before,),
            )
        return int(cur.rowcount)

    # reading -------------------------------------------------------------------------

    def cursor(self) -> int:
        """How far into the event log the outbox has read (0: from the start)."""
        rows = self.store.read("SELECT seq FROM notify_cursor WHERE name=?", (CURSOR,))
        return int(rows[0][0]) if rows else 0

    def heads(self) -> list[Row]:
        """The oldest unsent row of each lane (session and notifier), due or not, oldest
        first: only a lane's head may be sent, so delivery keeps each lane's order."""
        rows = self.store.read(
            f"SELECT {_COLUMNS} FROM notify_outbox AS o WHERE state IN {_OPEN} AND id = ("
            "SELECT MIN(id) FROM notify_outbox WHERE notifier=o.notifier AND "
            f"session_id=o.session_id AND state IN {_OPEN}) ORDER BY id"
        )
        return [_row(row) for row in rows]

    def next_held(self) -> float | None:
        """When the first held row's hold ends (None: nothing is held)."""
        rows = self.store.read("SELECT MIN(next_at) FROM notify_outbox WHERE state='held'")
        return None if not rows or rows[0][0] is None else float(rows[0][0])

    def row(self, row_id: int) -> Row | None:
        """One row by id."""
        rows = self.store.read(f"SELECT {_COLUMNS} FROM notify_outbox WHERE id=?", (row_id,))
        return _row(rows[0]) if rows else None

    def rows(self, *, recent: int = 20) -> list[Row]:
        """Every row not yet delivered (pending, sending, held, failed), then the
        ``recent`` newest delivered ones; oldest first."""
        waiting = self.store.read(
            f"SELECT {_COLUMNS} FROM notify_outbox WHERE state NOT IN ('sent', 'batched') "
            "ORDER BY id"
        )
        done = self.store.read(
            f"SELECT {_COLUMNS} FROM notify_outbox WHERE state IN ('sent', 'batched') "
            "ORDER BY id DESC LIMIT ?",
            (recent,),
        )
        return sorted((_row(row) for row in [*waiting, *done]), key=lambda row: row.id)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
"""A URL in a reason: a webhook's URL is its secret, so no URL is ever kept."""


def _reason(error: str) -> str:
    text = " ".join(redact(_URL.sub("<url>", error)).split())
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def _row(raw: tuple[Any, ...]) -> Row:
    return Row(
        id=int(raw[0]),
        key=str(raw[1]),
        notifier=str(raw[2]),
        session_id=str(raw[3]),
        priority=str(raw[4]),
        fact=str(raw[5]),
        notification=_notification(str(raw[6])),
        state=raw[7],
        hold=str(raw[8]),
        attempts=int(raw[9]),
        repeats=int(raw[10]),
        next_at=float(raw[11]),
        last_error=str(raw[12]),
        digest_id=None if raw[13] is None else int(raw[13]),
        created_at=float(raw[14]),
        sent_at=None if raw[15] is None else float(raw[15]),
    )


def _notification(payload: str) -> Notification:
    """The stored notification; a payload that does not decode still names itself."""
    try:
        data = json.loads(payload)
        return Notification(**data)
    except (ValueError, TypeError):
        return Notification(
            id="?", type="damaged", priority="info", session_id="", project_id="",
            timestamp=0.0, title="(this row's payload does not decode)",
        )  # fmt: skip
