"""Build what crashes leave behind: rows lost, operations cut short, artifacts alone."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from core.engine import Engine
from core.manifest import Manifest, Owner, read_manifest, write_manifest
from core.models import Session


def dead_owner() -> Owner:
    """The owner mark of a process that has ended (a real child, started and reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return Owner(pid=child.pid, started="ended")


def mark_cut_short(engine: Engine, session: Session, operation: str, **progress: object) -> None:
    """Leave ``operation``'s mark on the session's manifest as a killed process would."""
    state_dir = engine.locations.session_dir(session.id)
    base = read_manifest(state_dir) or Manifest.of(session)
    write_manifest(
        state_dir, replace(base, operation=operation, owner=dead_owner(), progress=dict(progress))
    )


def forget_row(engine: Engine, session_id: str) -> None:
    """Delete one row (and its events): what a database reset does to that session.

    Direct SQL on a real store: no public call removes a row, by design.
    """
    with engine.store.transaction() as db:
        db.execute("DELETE FROM sessions WHERE id=?", (session_id,))
        db.execute("DELETE FROM events WHERE session_id=?", (session_id,))


def reset_database(engine: Engine) -> Path:
    """Close the store and delete the database files (a reset, or a lost disk); its path."""
    path = engine.store.path
    engine.store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path
