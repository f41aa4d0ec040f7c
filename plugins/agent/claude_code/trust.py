"""Mark a session's worktree as trusted in Claude Code's own config, the way the CLI does.

Every ao-tui worktree is a new folder, and Claude Code asks "Do you trust the files in this
folder?" for each new one — a dialog that would stop every spawned agent before its task
(and that also gates the hooks ao-tui installs). The operator trusted the repository by
spawning an agent on it, so the plugin records that answer in Claude's config file
(``$CLAUDE_CONFIG_DIR/.claude.json``, else ``~/.claude.json``), exactly the entry the
dialog itself would write: ``projects.<path>.hasTrustDialogAccepted``.

Running Claude processes rewrite that file under a lock directory (``<file>.lock``); a
write that skips the lock can be silently undone, so we take the same lock and replace the
file atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.bounded_json import loads
from core.slots import SlotError

STALE_LOCK = 10.0
"""Seconds after which Claude's lock library treats an untouched lock as abandoned."""


def claude_json_path(env: Mapping[str, str]) -> Path:
    """Claude's user config file for an agent running with ``env`` (then os.environ)."""
    for source in (env, os.environ):
        configured = source.get("CLAUDE_CONFIG_DIR")
        if configured:
            return Path(configured).expanduser() / ".claude.json"
    for source in (env, os.environ):
        home = source.get("HOME")
        if home:
            return Path(home) / ".claude.json"
    return Path.home() / ".claude.json"


@contextmanager
def config_lock(config: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold Claude's own lock on ``config`` (a ``<name>.lock`` directory).

    A lock whose holder died (a Claude killed mid-write, as a crash or a kill before a
    restore leaves it) goes stale :data:`STALE_LOCK` seconds after its last touch and is
    taken over; ``timeout`` (default: that plus 5 s) outlasts it, so only a live holder that
    keeps touching the lock makes this give up.
    """
    if timeout is None:
        timeout = STALE_LOCK + 5.0
    lock = config.with_name(config.name + ".lock")
    deadline = time.monotonic() + timeout
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > STALE_LOCK:
                    lock.rmdir()
                    continue
            except OSError:
                continue
            if time.monotonic() >= deadline:
                raise SlotError(
                    f"{lock} has been held for {timeout:.0f}s; is a Claude process stuck?"
                ) from None
            time.sleep(0.02)
    try:
        yield
    finally:
        try:
            lock.rmdir()
        except OSError:
            pass


def trust_folder(config: Path, folder: Path) -> bool:
    """Record ``folder`` as trusted in ``config``; False when it already was.

    Every other key is kept as Claude wrote it. A file that is not a JSON object is left
    alone with an error naming it, rather than overwritten.
    """
    spellings = {str(folder), str(folder.resolve())}
    config.parent.mkdir(parents=True, exist_ok=True)
    with config_lock(config):
        data = read_json_object(
            config,
            doing="mark the worktree as trusted",
            fix="fix it or start Claude once to rewrite it",
        )
        projects = data.get("projects")
        if not isinstance(projects, dict):
            projects = {}
        changed = False
        for spelling in spellings:
            entry = projects.get(spelling)
            entry = dict(entry) if isinstance(entry, dict) else {}
            if entry.get("hasTrustDialogAccepted") is not True:
                entry["hasTrustDialogAccepted"] = True
                changed = True
            projects[spelling] = entry
        if not changed:
            return False
        data["projects"] = projects
        write_json(config, data)
        return True


def forget_folder(config: Path, folder: Path) -> bool:
    """Remove ``folder``'s entry (the trust ao-tui recorded, and what Claude kept beside it)
    from ``config`` once the folder is gone; whether there was one.

    The folder was a worktree ao-tui made and has removed: nothing in its entry can serve
    again (a restore makes the folder anew and records its trust again; the conversation
    itself lives in Claude's transcripts, which stay). A folder that exists again keeps
    its entry, and a config that is not a JSON object is left alone.
    """
    if folder.exists() or not config.exists():
        return False
    spellings = {str(folder), os.path.realpath(folder)}
    with config_lock(config):
        try:
            data = read_json_object(config, doing="forget a removed worktree", fix="")
        except SlotError:
            return False
        projects = data.get("projects")
        if not isinstance(projects, dict) or not spellings & set(projects):
            return False
        data["projects"] = {k: v for k, v in projects.items() if k not in spellings}
        write_json(config, data)
        return True


def read_json_object(path: Path, *, doing: str, fix: str) -> dict[str, Any]:
    """The JSON object in one of Claude's files ({} when absent or empty).

    A file we cannot read as an object is the user's (or Claude's) to mend, never ours to
    overwrite: the error names it, says what we were ``doing`` and how to ``fix`` it.
    """
    if not path.exists():
        return {}
    try:
        loaded = loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise SlotError(
            f"{path}: cannot {doing}, the file is not valid JSON ({exc}); {fix}"
        ) from exc
    if not isinstance(loaded, dict):
        raise SlotError(f"{path}: expected a JSON object; fix or remove it")
    return loaded


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (Claude may read it at any moment), keeping the
    file's mode (Claude uses 0600 for its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    import tempfile  # only when writing: it loads shutil and random (~5 ms)

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
