"""The SQLite layer under :class:`core.store.Store`: the schema and its migrations, the
transaction handle, a new file's initialisation, every SQLite failure named, and which
database files this process has open."""

from __future__ import annotations

import functools
import inspect
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from core.store_health import RECOVER_HINT, StoreError, sqlite_error

if TYPE_CHECKING:
    from core.store import Store

MIGRATIONS: Sequence[str] = (
    # v1: sessions, counters, the append-only event log.
    """
    CREATE TABLE counters (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        agent TEXT NOT NULL,
        title TEXT NOT NULL,
        prompt TEXT NOT NULL,
        branch TEXT NOT NULL,
        base_branch TEXT NOT NULL,
        worktree TEXT NOT NULL,
        tmux TEXT NOT NULL,
        pane_id TEXT NOT NULL DEFAULT '',
        lifecycle TEXT NOT NULL,
        lifecycle_reason TEXT NOT NULL DEFAULT '',
        activity TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 1,
        agent_session_id TEXT NOT NULL DEFAULT '',
        issue TEXT NOT NULL DEFAULT '',
        pr TEXT,
        extra TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX sessions_project ON sessions(project);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        session_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX events_session ON events(session_id, seq);
    """,
    # v2: local CI runs (one per head sha, reruns append) and the operator's approvals.
    """
    CREATE TABLE ci_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        head_sha TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'passing', 'failing')),
        started_at REAL NOT NULL,
        finished_at REAL,
        exit_code INTEGER,
        log_path TEXT NOT NULL DEFAULT '',
        excerpt TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX ci_runs_session ON ci_runs(session_id, head_sha, id);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        head_sha TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX approvals_session ON approvals(session_id, id);
    """,
    # v3: the command each CI run ran, so a check is labelled with what actually ran even
    # after the config changed ('' for runs recorded before).
    """
    ALTER TABLE ci_runs ADD COLUMN command TEXT NOT NULL DEFAULT ''
    """,
    # v4: reactions. Each session's current reaction (its card's mark); episodes, one per
    # condition from its start until it clears, with attempts that survive restarts; each
    # message a reaction sends, recorded before it is sent (at most one per attempt); and
    # what the operator paused.
    """
    ALTER TABLE sessions ADD COLUMN reaction TEXT;
    CREATE TABLE reaction_episodes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        key TEXT NOT NULL,
        opened_at REAL NOT NULL,
        closed_at REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        tier INTEGER NOT NULL DEFAULT 1,
        fact TEXT NOT NULL DEFAULT '',
        seen TEXT NOT NULL DEFAULT '[]',
        last_attempt_at REAL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX reaction_open ON reaction_episodes(session_id, key)
        WHERE closed_at IS NULL;
    CREATE TABLE reaction_sends (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        episode_id INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        text TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('pending', 'typing', 'suggested', 'sent', 'failed', 'dropped')),
        created_at REAL NOT NULL,
        done_at REAL,
        detail TEXT NOT NULL DEFAULT '',
        UNIQUE (episode_id, attempt)
    );
    CREATE TABLE reaction_pauses (
        scope TEXT PRIMARY KEY,
        at REAL NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    )
    """,
    # v5: notifications. The outbox: one row per notification and notifier, keyed by the
    # idempotency key the receiver sees; and how far into the event log it has read (the
    # log as it stands when this migration runs is history, not news).
    """
    CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        notifier TEXT NOT NULL,
        session_id TEXT NOT NULL,
        priority TEXT NOT NULL,
        fact TEXT NOT NULL DEFAULT '',
        payload TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'held', 'batched')),
        hold TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        repeats INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        digest_id INTEGER,
        created_at REAL NOT NULL,
        sent_at REAL
    );
    CREATE INDEX notify_lane ON notify_outbox(notifier, session_id, state, id);
    CREATE INDEX notify_state ON notify_outbox(state, next_at);
    CREATE INDEX notify_fact ON notify_outbox(session_id, fact, created_at);
    CREATE TABLE notify_cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    INSERT INTO notify_cursor(name, seq) SELECT 'outbox', COALESCE(MAX(seq), 0) FROM events
    """,
    # v6: what each session is for (core.models.Role); every earlier session was a worker.
    """
    ALTER TABLE sessions ADD COLUMN role TEXT NOT NULL DEFAULT 'worker'
        CHECK (role IN ('worker', 'orchestrator', 'reviewer'))
    """,
    # v7: agent review (core.agent_reviews). One review per session and head, recorded
    # before its reviewer is spawned; the reviewer's comments at that head; the verdict.
    """
    CREATE TABLE agent_reviews (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        head_sha TEXT NOT NULL,
        reviewer TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN ('starting', 'reviewing', 'submitted', 'failed')),
        verdict TEXT NOT NULL DEFAULT ''
            CHECK (verdict IN ('', 'changes_requested', 'approved')),
        summary TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        submitted_at REAL,
        UNIQUE (session_id, head_sha)
    );
    CREATE TABLE review_comments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        review_id INTEGER NOT NULL REFERENCES agent_reviews(id),
        author TEXT NOT NULL,
        path TEXT NOT NULL,
        line INTEGER NOT NULL CHECK (line > 0),
        body TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX review_comments_review ON review_comments(review_id, id)
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


_T = TypeVar("_T")


class DamagedRecordError(StoreError):
    """A row that does not decode (a damaged page that still reads); the store names it."""


def _decoded(what: str) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """A row decoder that reports a row it cannot decode as damaged, not as a bug."""

    def wrap(decode: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(decode)
        def call(row: Sequence[Any]) -> _T:
            try:
                return decode(row)
            except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
                key = row[0] if len(row) else "?"
                raise DamagedRecordError(f"{what} {key!r} is damaged ({exc})") from exc

        return call

    return wrap


def _sqlite_errors_named(cls: type[_T]) -> type[_T]:
    """Class decorator: an SQLite failure in any public method is a :class:`StoreError`.

    At open, and just as much at any later call (a page damaged after open, a disk that
    filled up, a lock held past the timeout): one line, the file named, never a raw
    ``sqlite3`` traceback.
    """
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        setattr(cls, name, _named(member))
    return cls


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _named(method: Callable[Concatenate[Store, _P], _R]) -> Callable[Concatenate[Store, _P], _R]:
    @functools.wraps(method)
    def call(self: Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise sqlite_error(self.path, exc, busy_timeout=self.busy_timeout) from exc
        except DamagedRecordError as exc:
            raise StoreError(f"{self.path}: {exc}; {RECOVER_HINT}") from exc

    return call


_OPEN_HERE: dict[str, int] = {}
"""Connections this process has open, per database file (its real path)."""
_OPEN_HERE_LOCK = threading.Lock()


def _open_here(key: str) -> bool:
    """Whether this process already has a connection to the database file ``key``."""
    with _OPEN_HERE_LOCK:
        return _OPEN_HERE.get(key, 0) > 0


def _opened_here(key: str, change: int) -> None:
    """Count a connection to ``key`` opened (+1) or closed (-1) by this process."""
    with _OPEN_HERE_LOCK:
        count = _OPEN_HERE.get(key, 0) + change
        if count > 0:
            _OPEN_HERE[key] = count
        else:
            _OPEN_HERE.pop(key, None)


class _Tx:
    """The connection as seen inside a transaction (no nested BEGIN/COMMIT)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement inside the open transaction."""
        return self._db.execute(sql, params)

    def executescript_in_tx(self, script: str) -> None:
        """Run a migration script statement by statement (executescript would COMMIT)."""
        for statement in script.split(";"):
            if statement.strip():
                self._db.execute(statement)


def _initialise(db: sqlite3.Connection) -> None:
    """The whole current schema, into a new database file (see :func:`create_database`)."""
    db.execute("BEGIN IMMEDIATE")
    _Tx(db).executescript_in_tx("".join(f"{step};" for step in MIGRATIONS))
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    db.execute("COMMIT")
