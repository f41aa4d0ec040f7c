"""Whether the state database can be used, and what to say when it cannot.

SQLite opens a 0-byte file as an empty database, so a ``state.db`` emptied by a crash or a
full disk would silently read as "no sessions" while agents run, and numbering would start
again at 1. The store therefore creates its database only one way — complete, under a
temporary name, then linked into place — so an existing file that is empty, not SQLite, or
without the ao-tui schema is damaged, never fresh, and is refused.

Every failure of the database (at open or at any later call) becomes one
:class:`StoreError` line naming the file, what is wrong and what to do: another process
holds it (and which), the disk is full (and which filesystem), the folder is read-only, the
file is damaged (``ao-tui recover`` rebuilds the session records from what exists).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import EXIT_STATE, AoError

SQLITE_HEADER = b"SQLite format 3\x00"
RECOVER_HINT = (
    "run `ao-tui recover` to rebuild the session records from the worktrees, branches and "
    "tmux sessions that exist (or move the file aside to start with no records)"
)
"""What to do about a damaged database: the sessions themselves still exist."""

REQUIRED_TABLES: dict[int, frozenset[str]] = {
    1: frozenset({"counters", "sessions", "events"}),
    2: frozenset({"counters", "sessions", "events", "ci_runs", "approvals"}),
    3: frozenset({"counters", "sessions", "events", "ci_runs", "approvals"}),
    4: frozenset(
        {"counters", "sessions", "events", "ci_runs", "approvals"}
        | {"reaction_episodes", "reaction_sends", "reaction_pauses"}
    ),
    5: frozenset(
        {"counters", "sessions", "events", "ci_runs", "approvals"}
        | {"reaction_episodes", "reaction_sends", "reaction_pauses"}
        | {"notify_outbox", "notify_cursor"}
    ),
}
REQUIRED_TABLES[6] = REQUIRED_TABLES[5]  # v6 adds a column (the session's role)
REQUIRED_TABLES[7] = REQUIRED_TABLES[6] | {"agent_reviews", "review_comments"}
"""The tables each schema version must have."""


class StoreError(AoError):
    """The database cannot be used; the message names the file and what to do."""

    exit_code = EXIT_STATE


def create_database(path: Path, init: Callable[[sqlite3.Connection], None]) -> None:
    """Create the database at ``path`` complete, or leave one another process just made.

    ``init`` writes the schema into a connection to a temporary file; only a finished file
    is linked into place, so ``path`` never exists half-made.
    """
    temporary = path.with_name(f".{path.name}.new-{uuid.uuid4().hex}")
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            init(db)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another process won the race: use its
            os.link(temporary, path)
    finally:
        for leftover in (temporary, Path(f"{temporary}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def check_existing_file(path: Path) -> None:
    """Refuse an existing ``path`` that cannot be an ao-tui database, before SQLite sees it."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(
                f"{path}: not a regular file, so not the ao-tui database; {RECOVER_HINT}"
            )
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise os_error(path, exc) from exc
    if info.st_size == 0:
        raise StoreError(
            f"{path}: the ao-tui database is empty (0 bytes), so the session records are "
            f"gone; {RECOVER_HINT}"
        )
    if header != SQLITE_HEADER:
        raise StoreError(
            f"{path}: not an SQLite database (damaged, or another program's file); {RECOVER_HINT}"
        )


def check_schema(path: Path, version: int, tables: Sequence[str], newest: int) -> None:
    """Refuse a database that is not (or no longer) ao-tui's."""
    if version > newest:
        raise StoreError(
            f"{path}: database schema v{version} is newer than this ao-tui (v{newest}); "
            "upgrade ao-tui"
        )
    if version == 0:
        what = "has no ao-tui schema" if not tables else "holds another program's tables"
        raise StoreError(f"{path}: an SQLite database that {what}; {RECOVER_HINT}")
    missing = sorted(REQUIRED_TABLES.get(version, frozenset()) - set(tables))
    if missing:
        raise StoreError(
            f"{path}: the ao-tui database is damaged (table {', '.join(missing)} missing); "
            f"{RECOVER_HINT}"
        )


def holders(path: Path) -> list[str]:
    """The other processes that have ``path`` (or its WAL) open: ``pid 42 (ao-tui daemon)``."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    found: list[str] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
            if not any(str(fd.readlink()) in names for fd in fds):
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        words = " ".join(part.decode(errors="replace") for part in argv if part).split()
        # Another process's command line is its owner's text: one printable line of it.
        command = "".join(c for c in " ".join(words) if c.isprintable())[:80]
        found.append(f"pid {entry.name} ({command or '?'})")
    return found


def _free_space(directory: Path) -> str:
    # Imported here: shutil loads its archive codecs (~2 ms), and only a failure asks this.
    import shutil

    try:
        usage = shutil.disk_usage(directory)
    except OSError:
        return "free space"
    return f"{usage.free // 1024} KB free of {usage.total // 1024} KB"


def _mount_point(directory: Path) -> Path:
    current = directory.resolve()
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def disk_full(path: Path) -> str:
    """What to say when the disk holding ``path`` is full."""
    directory = path if path.is_dir() else path.parent
    mount = _mount_point(directory)
    return (
        f"disk full: {mount} has no room left ({_free_space(directory)}); free space there, "
        "or set AO_TUI_HOME to a directory on another disk"
    )


def read_only(path: Path, reason: str) -> str:
    """What to say when ``path`` (or its folder) cannot be written."""
    directory = path if path.is_dir() else path.parent
    return (
        f"read-only: {directory} cannot be written ({reason}); make it writable, or set "
        "AO_TUI_HOME to a writable directory"
    )


def os_error(path: Path, exc: OSError) -> StoreError:
    """One line for a failure of the file system under the state dir."""
    where = Path(exc.filename) if exc.filename else path
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return StoreError(f"{where}: {disk_full(where)}")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError(f"{where}: {read_only(where, exc.strerror or 'permission denied')}")
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        return StoreError(
            f"{where}: not a directory, and the state dir must be one; set AO_TUI_HOME to a "
            "directory (it is created if missing)"
        )
    return StoreError(f"{where}: {exc.strerror or exc}")


def sqlite_error(path: Path, exc: sqlite3.Error, *, busy_timeout: float) -> StoreError:
    """One line for a failure of the database, saying what is wrong and what to do."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = " ".join(str(exc).split())
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        others = holders(path)
        who = ", ".join(others) if others else "another process"
        return StoreError(
            f"{path}: another process holds the database ({who}) for more than "
            f"{busy_timeout:g}s; let it finish or stop it, then try again"
        )
    if name == "SQLITE_FULL" or "disk is full" in text:
        return StoreError(f"{path}: {disk_full(path)}")
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return StoreError(f"{path}: {read_only(path, text)}")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        if not os.access(path.parent, os.W_OK) or _read_only_mount(path.parent):
            return StoreError(f"{path}: {read_only(path, text)}")
        return StoreError(f"{path}: cannot open the database ({text})")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return StoreError(f"{path}: the ao-tui database is damaged ({text}); {RECOVER_HINT}")
    if name.startswith("SQLITE_IOERR") and _no_space(path):
        return StoreError(f"{path}: {disk_full(path)}")
    return StoreError(f"{path}: the database failed ({text})")


def _read_only_mount(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _no_space(path: Path) -> bool:
    import shutil  # see _free_space

    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False
