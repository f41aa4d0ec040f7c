"""``ao-tui recover``: a damaged state database is moved aside (never deleted), a fresh one
opened, and a row rebuilt for every session found, manifests first, then the artifacts
alone; every prefix's counter is set above the highest id found."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.artifacts import local_ids
from core.errors import EngineError
from core.inventory import take_inventory
from core.lease import EngineLease, read_holder
from core.manifest import read_manifest
from core.models import Session
from core.naming import id_number
from core.recovery import adopt

if TYPE_CHECKING:
    from core.config import Config
    from core.locations import Locations
    from core.registry import Registry


@dataclass
class RecoveryReport:
    """What ``ao-tui recover`` found and did."""

    database: Path
    damage: str | None
    """Why the database could not be used (None: it was usable or missing)."""
    moved_to: list[Path] = field(default_factory=list)
    rebuilt: list[Session] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The object ``recover --json`` prints."""
        return {
            "database": str(self.database),
            "damage": self.damage,
            "moved_to": [str(p) for p in self.moved_to],
            "rebuilt": [
                {
                    "id": s.id,
                    "project": s.project,
                    "lifecycle": s.lifecycle.value,
                    "branch": s.branch,
                    "from": s.extra.get("recovered", {}).get("from", ""),
                    "guessed": s.extra.get("recovered", {}).get("guessed", []),
                }
                for s in self.rebuilt
            ],
            "counters": self.counters,
            "problems": self.problems,
        }


SQLITE_HEADER = b"SQLite format 3\x00"


def database_damage(path: Path) -> str | None:
    """Why the database at ``path`` cannot be used, or None (usable, or not there at all)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return "it is empty (0 bytes)"
    with path.open("rb") as fh:
        if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            return "it is not an SQLite database"
    # Without a WAL to replay, "immutable" reads the file as it is and creates nothing next
    # to it (a read-only open of a WAL database would leave -wal and -shm files behind).
    wal = Path(f"{path}-wal").exists()
    query = "mode=ro" if wal else "mode=ro&immutable=1"
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?{query}", uri=True, timeout=5.0)
        try:
            checked = [str(row[0]) for row in db.execute("PRAGMA integrity_check(5)")]
            tables = {str(row[0]) for row in db.execute("SELECT name FROM sqlite_master")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it ({exc})"
    if checked != ["ok"]:
        return f"it fails SQLite's integrity check ({'; '.join(checked)[:200]})"
    if not {"sessions", "counters", "events"} <= tables:
        return "it has no ao-tui tables"
    return None


def _move_aside(path: Path, clock: Callable[[], float]) -> list[Path]:
    """Rename the database and its WAL files to ``<name>.damaged-<time>``; never delete."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", "-wal", "-shm")):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    moved: list[Path] = []
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{target}{suffix}")
            moved.append(Path(f"{target}{suffix}"))
    return moved


def recover(
    config: Config,
    locations: Locations,
    registry: Registry,
    *,
    clock: Callable[[], float] = time.time,
) -> RecoveryReport:
    """Rebuild the session rows from what exists; a damaged database is moved aside first.

    Refused (:class:`EngineError`) while another process holds the engine lease or runs an
    operation on a session: its writes would land in the file being moved away.
    """
    from core.engine import Engine

    locations.ensure()
    lease = EngineLease(locations.engine_lock, kind="recover")
    if not lease.acquire():
        holder = read_holder(locations.engine_lock)
        who = holder.describe() if holder is not None else "another ao-tui process"
        raise EngineError(
            f"{who} holds the engine lease ({locations.engine_lock}); quit it, then run "
            "`ao-tui recover` again"
        )
    try:
        busy = _busy(locations)
        if busy:
            raise EngineError(
                f"{busy} is running right now; wait for it to finish, then run "
                "`ao-tui recover` again"
            )
        report = RecoveryReport(locations.database, database_damage(locations.database))
        if report.damage is not None:
            report.moved_to = _move_aside(locations.database, clock)
        engine = Engine(config, locations=locations, registry=registry, clock=clock)
        try:
            inventory = take_inventory(engine, judge_work=False)
            report.problems = inventory.problems
            highest: dict[str, int] = {}
            for sid in sorted(set(inventory.found) | set(inventory.rows)):
                prefix = sid.rpartition("-")[0]
                highest[prefix] = max(highest.get(prefix, 0), id_number(sid))
                item = inventory.found.get(sid)
                if sid in inventory.rows or item is None or item.empty:
                    continue
                report.rebuilt.append(adopt(engine, item, by="recover"))
            for prefix, last in sorted(highest.items()):
                report.counters[prefix] = engine.store.raise_counter(prefix, last)
        finally:
            engine.store.close()
    finally:
        lease.release()
    return report


def _busy(locations: Locations) -> str:
    """An operation some live process runs on a session now ("spawn of app-3"), or ""."""
    for sid in local_ids(locations):
        manifest = read_manifest(locations.session_dir(sid))
        if manifest is not None and manifest.in_progress:
            owner = manifest.owner.pid if manifest.owner else "?"
            return f"a {manifest.operation} of {sid} (process {owner})"
    return ""
