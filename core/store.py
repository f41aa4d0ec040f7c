"""SQLite state shared by every ao-tui process: sessions, id counters and the event log.

Credentials are masked (core.redact) in everything written except the task prompt itself.

WAL mode lets the cockpit read while a CLI call writes; ``busy_timeout`` makes a second
writer wait instead of failing. Every multi-step mutation runs in one ``BEGIN IMMEDIATE``
transaction so two processes can never hand out the same id or interleave half-updates.
The schema is versioned with ``PRAGMA user_version``; its migrations only ever grow
(:mod:`core.store_sqlite`).

A database is only ever created complete (:func:`core.store_health.create_database`), so
an existing file that is empty or not ours is damaged, never "fresh". Every SQLite failure,
at open or at any later call, leaves as one :class:`StoreError` line naming the file and
what to do (:mod:`core.store_health`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

from core.ci_excerpt import bound_excerpt
from core.models import Event, Session
from core.redact import redact, redact_value
from core.session_rows import (
    _GUARDED,
    _SESSION_COLUMNS,
    _UPDATABLE,
    _encode,
    _session_from_row,
    _session_row,
)
from core.session_rows import (
    SessionChanges as SessionChanges,
)
from core.store_health import (
    StoreError as StoreError,
)
from core.store_health import (
    check_existing_file,
    check_schema,
    create_database,
    os_error,
    sqlite_error,
)
from core.store_sqlite import (
    MIGRATIONS,
    SCHEMA_VERSION,
    _decoded,
    _initialise,
    _open_here,
    _opened_here,
    _sqlite_errors_named,
    _Tx,
)
from core.stored_pr import SQL_FUNCTION, canonical_pr_text

BUSY_TIMEOUT = 10.0
"""Seconds a write waits for another process's write before giving up (exit 7)."""


@dataclass(frozen=True)
class CiRun:
    """One recorded CI run of one head commit of one session."""

    id: int
    session_id: str
    head_sha: str
    state: str
    """running, passing or failing."""
    started_at: float
    finished_at: float | None
    exit_code: int | None
    log_path: str
    excerpt: str
    command: str = ""
    """The command line the run ran, masked ("" for a run recorded before it was kept)."""


_CI_COLUMNS = (
    "id, session_id, head_sha, state, started_at, finished_at, exit_code, log_path, excerpt, "
    "command"
)


@_sqlite_errors_named
class Store:
    """The one source of truth: open it, read and write sessions and events, close it."""

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        """Open (creating and migrating if needed) the database at ``path``.

        ``busy_timeout`` is how long a write waits for another process's write.
        """
        self.path = path
        self.busy_timeout = busy_timeout
        self.actor = ""
        """Who the verbs of this process act for (``by`` on every event it logs), when not
        the operator: the session id of the agent running them (:mod:`core.provenance`)."""
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                create_database(path, _initialise)
        except OSError as exc:
            raise os_error(path, exc) from exc
        except sqlite3.Error as exc:
            raise sqlite_error(path, exc, busy_timeout=busy_timeout) from exc
        self._key = os.path.realpath(path)
        self._open = False
        if not _open_here(self._key):
            # Only while this process has no connection to the file: closing any other
            # descriptor of it drops the POSIX locks SQLite holds for that connection, and
            # another process may then checkpoint and delete the WAL under it (measured:
            # commits made after that were invisible to every other process).
            check_existing_file(path)
        try:
            # isolation_level=None: we issue BEGIN ourselves, so a read never holds a lock.
            self._db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise sqlite_error(path, exc, busy_timeout=busy_timeout) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.create_function(SQL_FUNCTION, 1, canonical_pr_text, deterministic=True)
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise sqlite_error(path, exc, busy_timeout=busy_timeout) from exc
        except StoreError:
            self._db.close()
            raise
        _opened_here(self._key, +1)
        self._open = True

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
            if self._open:
                self._open = False
                _opened_here(self._key, -1)

    def _schema(self, db: _Tx | sqlite3.Connection) -> int:
        """The schema version, after checking the database is (still) ao-tui's."""
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = [
            str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        check_schema(self.path, version, tables, SCHEMA_VERSION)
        return version

    def _migrate(self) -> None:
        # Read first: a current database needs no write lock to open, so opening never
        # waits on another process's write.
        if self._schema(self._db) == SCHEMA_VERSION:
            return
        with self.transaction() as db:
            version = self._schema(db)
            for step in range(version, SCHEMA_VERSION):
                db.executescript_in_tx(MIGRATIONS[step])
            if version != SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """A write transaction taken up front (``BEGIN IMMEDIATE``), committed on success.

        An SQLite failure anywhere in it (taking the lock, a statement, the commit) rolls
        back and leaves as a :class:`StoreError`.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise sqlite_error(self.path, exc, busy_timeout=self.busy_timeout) from exc
            try:
                yield _Tx(self._db)
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have ended it
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise sqlite_error(self.path, exc, busy_timeout=self.busy_timeout) from exc
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise sqlite_error(self.path, exc, busy_timeout=self.busy_timeout) from exc

    # ids -----------------------------------------------------------------------------

    def peek_id(self, prefix: str, *, in_use: Callable[[str], bool] | None = None) -> str:
        """The id :meth:`allocate_id` would hand out next (nothing is reserved)."""
        with self._lock:
            return f"{prefix}-{_next_free(self._db, prefix, in_use)}"

    def allocate_id(self, prefix: str, *, in_use: Callable[[str], bool] | None = None) -> str:
        """The next ``<prefix>-<n>``; n comes from a persistent counter and is never reused.

        ``in_use`` says whether something outside the database (a worktree, a branch, a
        tmux session, a state folder) already carries an id; such ids are skipped too.
        """
        with self.transaction() as db:
            last = _next_free(db, prefix, in_use)
            db.execute(
                "INSERT INTO counters(prefix, last) VALUES(?, ?) "
                "ON CONFLICT(prefix) DO UPDATE SET last=excluded.last",
                (prefix, last),
            )
            return f"{prefix}-{last}"

    def raise_counter(self, prefix: str, last: int) -> int:
        """Make the prefix's counter at least ``last`` (never lower it); the counter after."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO counters(prefix, last) VALUES(?, ?) "
                "ON CONFLICT(prefix) DO UPDATE SET last=MAX(last, excluded.last)",
                (prefix, last),
            )
            row = db.execute("SELECT last FROM counters WHERE prefix=?", (prefix,)).fetchone()
        return int(row[0])

    # sessions ------------------------------------------------------------------------

    def insert_session(self, session: Session, *, event: tuple[str, dict[str, Any]]) -> None:
        """Record a new session and its first event in one transaction."""
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO sessions({_SESSION_COLUMNS}) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                _session_row(session),
            )
            _append_event(db, session.id, event[0], event[1], session.updated_at, self.actor)

    def update_session(
        self,
        session_id: str,
        *,
        event: tuple[str, dict[str, Any]] | None = None,
        **fields: Unpack[SessionChanges],
    ) -> Session:
        """Change ``fields`` of one session (and log ``event``) atomically; the new value."""
        updated = self._update(session_id, None, event, fields)
        if updated is None:
            raise KeyError(session_id)
        return updated

    def update_session_if(
        self,
        session_id: str,
        expect: SessionChanges,
        *,
        event: tuple[str, dict[str, Any]] | None = None,
        more_events: Sequence[tuple[str, dict[str, Any]]] = (),
        **fields: Unpack[SessionChanges],
    ) -> Session | None:
        """Like :meth:`update_session`, but only while the row still has ``expect``'s values.

        The reconciler decides from a snapshot; if an operator action (kill, merge,
        restore — from this or another process) changed the session meanwhile, writing the
        stale decision would undo it. Then nothing is written and None is returned.
        ``more_events`` are logged after ``event``, in the same transaction.
        """
        return self._update(session_id, expect, event, fields, more_events)

    def _update(
        self,
        session_id: str,
        expect: SessionChanges | None,
        event: tuple[str, dict[str, Any]] | None,
        fields: SessionChanges,
        more_events: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> Session | None:
        unknown = (set(fields) | set(expect or {})) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")
        now = time.time()
        # IS, not =: an expected NULL (no PR yet) must match a NULL column.
        # A PR by meaning: a row an older version wrote with fewer keys still matches.
        guard = "".join(f" AND {_GUARDED.get(name, name)} IS ?" for name in expect or {})
        guard_values = [_encode(name, value) for name, value in (expect or {}).items()]
        with self.transaction() as db:
            if fields or expect:
                assignments = "".join(f"{name}=?, " for name in fields)
                values = [_encode(name, value) for name, value in fields.items()]
                cur = db.execute(
                    f"UPDATE sessions SET {assignments}updated_at=? WHERE id=?{guard}",
                    (*values, now, session_id, *guard_values),
                )
                if cur.rowcount == 0:
                    return None
            if event is not None:
                _append_event(db, session_id, event[0], event[1], now, self.actor)
            for kind, data in more_events:
                _append_event(db, session_id, kind, data, now, self.actor)
            row = db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id=?", (session_id,)
            ).fetchone()
        if row is None:
            raise KeyError(session_id)
        return _session_from_row(row)

    def get_session(self, session_id: str) -> Session | None:
        """One session by id, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id=?", (session_id,)
            ).fetchone()
        return _session_from_row(row) if row else None

    def list_sessions(self) -> list[Session]:
        """Every session ever recorded, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY created_at, id"
            ).fetchall()
        return [_session_from_row(row) for row in rows]

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only query: for the modules that keep their own tables in
        this database (the reaction ledger), which write through :meth:`transaction`."""
        with self._lock:
            return [tuple(row) for row in self._db.execute(sql, params).fetchall()]

    # events --------------------------------------------------------------------------

    def append_event(self, session_id: str, kind: str, data: dict[str, Any]) -> Event:
        """Append one event to the log and return it with its sequence number."""
        with self.transaction() as db:
            return _append_event(db, session_id, kind, data, time.time(), self.actor)

    def events_after(self, seq: int, *, limit: int = 1000) -> list[Event]:
        """Events with a sequence number above ``seq``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, ts, session_id, kind, data FROM events WHERE seq>? "
                "ORDER BY seq LIMIT ?",
                (seq, limit),
            ).fetchall()
        return [_event_from_row(row) for row in rows]

    def last_event_seq(self) -> int:
        """The newest sequence number (0 for an empty log)."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        return int(row[0])

    # CI runs and approvals -----------------------------------------------------------

    def start_ci_run(
        self,
        session_id: str,
        head_sha: str,
        log_path: str,
        *,
        rerun: bool = False,
        command: str = "",
    ) -> int | None:
        """Record a run of ``head_sha`` as running; its id, or None if one exists already.

        The check and the insert share one transaction, so two processes reconciling at
        once never start the same run twice; ``rerun`` always starts a new one. ``command``
        is what the run executes (stored masked), the label of its check from then on.
        """
        with self.transaction() as db:
            if not rerun:
                hit = db.execute(
                    "SELECT 1 FROM ci_runs WHERE session_id=? AND head_sha=?",
                    (session_id, head_sha),
                ).fetchone()
                if hit is not None:
                    return None
            cur = db.execute(
                "INSERT INTO ci_runs(session_id, head_sha, state, started_at, log_path, command) "
                "VALUES(?,?,'running',?,?,?)",
                (session_id, head_sha, time.time(), log_path, redact(command)),
            )
            return int(cur.lastrowid or 0)

    def finish_ci_run(
        self, run_id: int, *, passed: bool, exit_code: int | None, excerpt: str
    ) -> None:
        """Record the outcome of a run started with :meth:`start_ci_run`.

        The excerpt is masked and bounded whoever wrote it (:mod:`core.ci_excerpt`).
        """
        excerpt = bound_excerpt(excerpt)
        with self.transaction() as db:
            db.execute(
                "UPDATE ci_runs SET state=?, finished_at=?, exit_code=?, excerpt=? WHERE id=?",
                ("passing" if passed else "failing", time.time(), exit_code, excerpt, run_id),
            )

    def latest_ci_run(self, session_id: str, head_sha: str) -> CiRun | None:
        """The newest run of ``head_sha`` for the session, or None."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_CI_COLUMNS} FROM ci_runs WHERE session_id=? AND head_sha=? "
                "ORDER BY id DESC LIMIT 1",
                (session_id, head_sha),
            ).fetchone()
        return _ci_run_from_row(row) if row else None

    def ci_run(self, run_id: int) -> CiRun | None:
        """One run by id."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_CI_COLUMNS} FROM ci_runs WHERE id=?", (run_id,)
            ).fetchone()
        return _ci_run_from_row(row) if row else None

    def ci_runs(self, session_id: str) -> list[CiRun]:
        """Every run of the session, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_CI_COLUMNS} FROM ci_runs WHERE session_id=? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [_ci_run_from_row(row) for row in rows]

    def add_approval(self, session_id: str, head_sha: str) -> None:
        """Record that the operator approved the session at ``head_sha``."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO approvals(session_id, head_sha, at) VALUES(?,?,?)",
                (session_id, head_sha, time.time()),
            )

    def latest_approval(self, session_id: str) -> tuple[str, float] | None:
        """The head sha and time of the newest approval, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT head_sha, at FROM approvals WHERE session_id=? ORDER BY id DESC LIMIT 1",
                (session_id,),
            ).fetchone()
        return (str(row[0]), float(row[1])) if row else None


@_decoded("event")
def _event_from_row(r: Sequence[Any]) -> Event:
    return Event(int(r[0]), float(r[1]), str(r[2]), str(r[3]), json.loads(r[4]))


@_decoded("CI run")
def _ci_run_from_row(row: Sequence[Any]) -> CiRun:
    return CiRun(
        id=int(row[0]),
        session_id=str(row[1]),
        head_sha=str(row[2]),
        state=str(row[3]),
        started_at=float(row[4]),
        finished_at=None if row[5] is None else float(row[5]),
        exit_code=None if row[6] is None else int(row[6]),
        log_path=str(row[7]),
        excerpt=str(row[8]),
        command=str(row[9]),
    )


def _next_free(
    db: _Tx | sqlite3.Connection, prefix: str, in_use: Callable[[str], bool] | None = None
) -> int:
    """The number after the prefix's counter, skipping ids that exist without a counter
    (a database restored by hand) and ids ``in_use`` reports outside the database."""
    row = db.execute("SELECT last FROM counters WHERE prefix=?", (prefix,)).fetchone()
    last = int(row[0]) if row else 0
    while True:
        last += 1
        candidate = f"{prefix}-{last}"
        hit = db.execute("SELECT 1 FROM sessions WHERE id=?", (candidate,)).fetchone()
        if hit is None and not (in_use is not None and in_use(candidate)):
            return last


def _append_event(
    db: _Tx, session_id: str, kind: str, data: dict[str, Any], ts: float, actor: str = ""
) -> Event:
    if actor and "by" not in data:
        data = {**data, "by": actor}
    masked: dict[str, Any] = redact_value(data)
    cur = db.execute(
        "INSERT INTO events(ts, session_id, kind, data) VALUES(?,?,?,?)",
        (ts, session_id, kind, json.dumps(masked, sort_keys=True)),
    )
    # The caller gets what readers of the log get: masked.
    return Event(int(cur.lastrowid or 0), ts, session_id, kind, masked)
