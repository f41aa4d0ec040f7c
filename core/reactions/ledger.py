"""The reaction ledger: episodes, attempts and sends, in the store, written before acting.

An **episode** is one condition of one session (``ci-failed`` on ``app-3``) from the moment
it is seen until it clears: CI green, the threads resolved, the conflict gone. Its attempts
count across pushes and restarts, so fail → push → fail spends the budget instead of
starting it again. At most one episode per session and key is open: a unique index says so,
so two processes can never both open one.

A **send** is one message a reaction decided to type into an agent. It is recorded
``pending`` before anything is typed, ``typing`` just before the paste, and its outcome
after; at most one per attempt (a unique key). A crash leaves a ``pending`` or ``typing``
row, which the next reactor settles: a pending one was never typed and is sent; a typing one
is looked for in the agent's records and sent only if the agent can show it never arrived.

A **handoff** is the message that hands an escalated episode to the project's orchestrator
session (tier 2). It is a send like the others, recorded before it is typed, but its row
names the orchestrator's session and its ``attempt`` is negative (``-1`` the first handoff
of the episode): it spends none of the agent's budget, and the unique key still allows one
per handoff.

A **pause** switches reactions off for one session, or (scope ``*``) for all.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from core.redact import redact
from core.store import Store

ALL = "*"
"""The pause scope of every session."""

SendState = Literal["pending", "typing", "suggested", "sent", "failed", "dropped"]

_EPISODE_COLUMNS = (
    "id, session_id, key, opened_at, closed_at, attempts, tier, fact, seen, last_attempt_at, reason"
)
_SEND_COLUMNS = "id, episode_id, session_id, attempt, text, state, created_at, done_at, detail"


@dataclass(frozen=True)
class Episode:
    """One condition of one session, from first seen to cleared."""

    id: int
    session_id: str
    key: str
    opened_at: float
    closed_at: float | None
    attempts: int
    tier: int
    """1: the agent is on it; 2: it was handed to the orchestrator session; 3: the operator
    was told."""
    fact: str
    """The occurrence the last attempt (or notice) answered, e.g. the failing head sha."""
    seen: tuple[str, ...]
    """What was already forwarded (review threads' fingerprints)."""
    last_attempt_at: float | None
    reason: str
    """Why it went to the operator, in words ("" while it has not)."""

    def to_json(self) -> dict[str, Any]:
        """One entry of ``reactions history --json``."""
        return {
            "id": self.id,
            "key": self.key,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "attempts": self.attempts,
            "tier": self.tier,
            "fact": self.fact,
            "last_attempt_at": self.last_attempt_at,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Send:
    """One message a reaction decided to send, and what became of it."""

    id: int
    episode_id: int
    session_id: str
    attempt: int
    text: str
    state: SendState
    created_at: float
    done_at: float | None
    detail: str

    @property
    def handoff(self) -> bool:
        """Whether this send hands the episode to the orchestrator (tier 2)."""
        return self.attempt < 0

    def to_json(self) -> dict[str, Any]:
        """One entry of the ``sends`` of ``reactions history --json``."""
        return {
            "id": self.id,
            "episode": self.episode_id,
            "attempt": self.attempt,
            "state": self.state,
            "created_at": self.created_at,
            "done_at": self.done_at,
            "detail": self.detail,
            "text": self.text,
        }


class Ledger:
    """The reaction tables of one store."""

    def __init__(self, store: Store, *, clock: Any = time.time) -> None:
        """Read and write the reaction tables of ``store``."""
        self.store = store
        self.clock = clock

    # episodes ------------------------------------------------------------------------

    def open_episode(self, session_id: str, key: str) -> Episode:
        """The open episode of ``key`` on the session, opened now if there is none."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO reaction_episodes(session_id, key, opened_at) "
                "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM reaction_episodes "
                "WHERE session_id=? AND key=? AND closed_at IS NULL)",
                (session_id, key, self.clock(), session_id, key),
            )
        found = self.episode(session_id, key)
        assert found is not None  # just made, under the unique index
        return found

    def episode(self, session_id: str, key: str) -> Episode | None:
        """The open episode of ``key`` on the session, if any."""
        rows = self.store.read(
            f"SELECT {_EPISODE_COLUMNS} FROM reaction_episodes "
            "WHERE session_id=? AND key=? AND closed_at IS NULL",
            (session_id, key),
        )
        return _episode(rows[0]) if rows else None

    def open_episodes(self, session_id: str) -> list[Episode]:
        """The session's open episodes, oldest first."""
        rows = self.store.read(
            f"SELECT {_EPISODE_COLUMNS} FROM reaction_episodes "
            "WHERE session_id=? AND closed_at IS NULL ORDER BY id",
            (session_id,),
        )
        return [_episode(row) for row in rows]

    def episodes(self, session_id: str) -> list[Episode]:
        """Every episode of the session, open or closed, oldest first."""
        rows = self.store.read(
            f"SELECT {_EPISODE_COLUMNS} FROM reaction_episodes WHERE session_id=? ORDER BY id",
            (session_id,),
        )
        return [_episode(row) for row in rows]

    def begin_attempt(
        self,
        episode: Episode,
        *,
        fact: str,
        text: str,
        seen: tuple[str, ...] | None = None,
        state: SendState = "pending",
    ) -> Send | None:
        """Count one more attempt and record its message, in one transaction.

        None when the episode changed since it was read (another process acted first, or
        it closed): nothing is recorded, and nothing must be sent.
        """
        now = self.clock()
        attempt = episode.attempts + 1
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE reaction_episodes SET attempts=?, fact=?, seen=?, "
                "last_attempt_at=? WHERE id=? AND attempts=? AND closed_at IS NULL",
                (
                    attempt,
                    fact,
                    json.dumps(list(episode.seen if seen is None else seen)),
                    now,
                    episode.id,
                    episode.attempts,
                ),
            )
            if cur.rowcount == 0:
                return None
            cur = db.execute(
                "INSERT INTO reaction_sends(episode_id, session_id, attempt, text, state, "
                "created_at) VALUES(?,?,?,?,?,?)",
                (episode.id, episode.session_id, attempt, redact(text), state, now),
            )
            send_id = int(cur.lastrowid or 0)
        return Send(
            send_id, episode.id, episode.session_id, attempt, redact(text), state, now, None, ""
        )

    def count_attempt(self, episode: Episode, *, fact: str) -> Episode | None:
        """Count one more attempt that sends no message (a restore, a merge); None if the
        episode changed since it was read."""
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE reaction_episodes SET attempts=attempts+1, fact=?, last_attempt_at=? "
                "WHERE id=? AND attempts=? AND closed_at IS NULL",
                (fact, self.clock(), episode.id, episode.attempts),
            )
        return self.episode(episode.session_id, episode.key) if cur.rowcount else None

    def note(self, episode: Episode, *, fact: str, seen: tuple[str, ...] | None = None) -> None:
        """Record that ``fact`` was dealt with (told, or found not to need an attempt)."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE reaction_episodes SET fact=?, seen=? WHERE id=?",
                (fact, json.dumps(list(episode.seen if seen is None else seen)), episode.id),
            )

    def escalate(self, episode: Episode, *, tier: int, reason: str) -> None:
        """Hand the episode up to ``tier`` (3: the operator), saying why."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE reaction_episodes SET tier=?, reason=? WHERE id=?",
                (tier, reason, episode.id),
            )

    def close(self, episode: Episode) -> None:
        """The condition cleared: the episode ends (a new one starts from nothing)."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE reaction_episodes SET closed_at=? WHERE id=? AND closed_at IS NULL",
                (self.clock(), episode.id),
            )

    def hand_over(
        self, episode: Episode, *, to: str, text: str, reason: str, fact: str
    ) -> Send | None:
        """Hand the episode to the orchestrator session ``to`` (tier 2) and record the
        message telling it, in one transaction, before anything is typed.

        None when the episode changed since it was read (another process handed it first,
        it went to the operator, or it closed): nothing is recorded, nothing must be sent.
        """
        if episode.tier >= 2:
            return None
        now = self.clock()
        with self.store.transaction() as db:
            cur = db.execute(
                "UPDATE reaction_episodes SET tier=2, reason=?, fact=? "
                "WHERE id=? AND tier=? AND attempts=? AND closed_at IS NULL",
                (reason, fact, episode.id, episode.tier, episode.attempts),
            )
            if cur.rowcount == 0:
                return None
            row = db.execute(
                "SELECT COALESCE(MIN(attempt), 0) FROM reaction_sends WHERE episode_id=?",
                (episode.id,),
            ).fetchone()
            attempt = min(int(row[0]), 0) - 1
            cur = db.execute(
                "INSERT INTO reaction_sends(episode_id, session_id, attempt, text, state, "
                "created_at) VALUES(?,?,?,?,?,?)",
                (episode.id, to, attempt, redact(text), "pending", now),
            )
            send_id = int(cur.lastrowid or 0)
        return Send(send_id, episode.id, to, attempt, redact(text), "pending", now, None, "")

    def handoff(self, episode_id: int) -> Send | None:
        """The latest message that handed the episode to the orchestrator, if any."""
        rows = self.store.read(
            f"SELECT {_SEND_COLUMNS} FROM reaction_sends WHERE episode_id=? AND attempt < 0 "
            "ORDER BY id DESC LIMIT 1",
            (episode_id,),
        )
        return _send(rows[0]) if rows else None

    def owner_of(self, episode_id: int) -> str:
        """The session an episode is about, by id ("" if there is none)."""
        rows = self.store.read("SELECT session_id FROM reaction_episodes WHERE id=?", (episode_id,))
        return str(rows[0][0]) if rows else ""

    def key_of(self, episode_id: int) -> str:
        """The reaction key of an episode, by id ("?" if there is none)."""
        rows = self.store.read("SELECT key FROM reaction_episodes WHERE id=?", (episode_id,))
        return str(rows[0][0]) if rows else "?"

    # sends ---------------------------------------------------------------------------

    def set_send(self, send_id: int, state: SendState, detail: str = "") -> None:
        """Move a send on: ``typing`` just before the paste, then its outcome."""
        done = None if state in ("pending", "typing", "suggested") else self.clock()
        with self.store.transaction() as db:
            db.execute(
                "UPDATE reaction_sends SET state=?, detail=?, done_at=? WHERE id=?",
                (state, detail, done, send_id),
            )

    def unsettled(self) -> list[Send]:
        """Sends a crash interrupted (``pending`` or ``typing``), oldest first."""
        rows = self.store.read(
            f"SELECT {_SEND_COLUMNS} FROM reaction_sends WHERE state IN ('pending', 'typing') "
            "ORDER BY id"
        )
        return [_send(row) for row in rows]

    def suggestion(self, session_id: str) -> Send | None:
        """The message suggest mode prepared for the session and the operator has not sent."""
        rows = self.store.read(
            f"SELECT {_SEND_COLUMNS} FROM reaction_sends WHERE session_id=? "
            "AND state='suggested' ORDER BY id DESC LIMIT 1",
            (session_id,),
        )
        return _send(rows[0]) if rows else None

    def sends(self, session_id: str) -> list[Send]:
        """Every send of the session, oldest first, with the handoffs of its episodes to the
        orchestrator (typed into the orchestrator, but about this session)."""
        rows = self.store.read(
            f"SELECT {_SEND_COLUMNS} FROM reaction_sends WHERE session_id=? OR (attempt < 0 "
            "AND episode_id IN (SELECT id FROM reaction_episodes WHERE session_id=?)) "
            "ORDER BY id",
            (session_id, session_id),
        )
        return [_send(row) for row in rows]

    # pauses --------------------------------------------------------------------------

    def pause(self, scope: str, reason: str = "") -> bool:
        """Switch reactions off for one session id (or :data:`ALL`); False if already off."""
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO reaction_pauses(scope, at, reason) VALUES(?,?,?)",
                (scope, self.clock(), reason),
            )
        return bool(cur.rowcount)

    def resume(self, scope: str) -> bool:
        """Switch them back on; False if they were not off."""
        with self.store.transaction() as db:
            cur = db.execute("DELETE FROM reaction_pauses WHERE scope=?", (scope,))
        return bool(cur.rowcount)

    def paused(self) -> set[str]:
        """The paused scopes: session ids, and :data:`ALL` when every session is."""
        return {str(row[0]) for row in self.store.read("SELECT scope FROM reaction_pauses")}


def _episode(row: tuple[Any, ...]) -> Episode:
    try:
        seen = json.loads(row[8])
    except ValueError:
        seen = []
    return Episode(
        id=int(row[0]),
        session_id=str(row[1]),
        key=str(row[2]),
        opened_at=float(row[3]),
        closed_at=None if row[4] is None else float(row[4]),
        attempts=int(row[5]),
        tier=int(row[6]),
        fact=str(row[7]),
        seen=tuple(str(item) for item in seen) if isinstance(seen, list) else (),
        last_attempt_at=None if row[9] is None else float(row[9]),
        reason=str(row[10]),
    )


def _send(row: tuple[Any, ...]) -> Send:
    return Send(
        id=int(row[0]),
        episode_id=int(row[1]),
        session_id=str(row[2]),
        attempt=int(row[3]),
        text=str(row[4]),
        state=row[5],
        created_at=float(row[6]),
        done_at=None if row[7] is None else float(row[7]),
        detail=str(row[8]),
    )
