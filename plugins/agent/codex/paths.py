"""Where Codex keeps its files: its home, the rollouts of a worktree, the folder trust.

Codex names each conversation (a "thread") itself, a uuid it chooses at start, and writes
it to ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<local time>-<thread id>.jsonl``, whose
first line (``session_meta``) holds the thread id and the working directory. A session's
rollout is therefore found by its worktree and its start time, then remembered.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.private_files import write_private

DAY_DIRS = 3
"""How many of the newest day folders a search looks in (a run crosses midnight)."""

_ROLLOUT = re.compile(r"rollout-.*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_HEAD_BYTES = 64 * 1024
"""The most of a rollout's first line read to learn its thread and cwd (the line carries
Codex's whole base instructions, some 20 kB)."""


def codex_home(env: Mapping[str, str]) -> Path:
    """``CODEX_HOME`` of the project's env, else of ours, else ``~/.codex`` (that HOME)."""
    for source in (env, os.environ):
        value = source.get("CODEX_HOME")
        if value:
            return Path(value).expanduser()
    home = env.get("HOME") or os.environ.get("HOME") or str(Path.home())
    return Path(home) / ".codex"


def sessions_dir(home: Path) -> Path:
    """The root of the dated rollout folders."""
    return home / "sessions"


def thread_of(path: Path) -> str:
    """The thread id a rollout's file name carries ("" if it carries none)."""
    match = _ROLLOUT.match(path.name)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class RolloutHead:
    """What the first line of a rollout says."""

    path: Path
    thread_id: str
    cwd: str
    mtime: float


def read_head(path: Path) -> RolloutHead | None:
    """The thread and cwd from a rollout's ``session_meta`` line, or None if unreadable."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(_HEAD_BYTES)
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cwd = ""
    thread = thread_of(path)
    try:
        entry = json.loads(first)
    except ValueError:
        entry = None
    if isinstance(entry, dict) and entry.get("type") == "session_meta":
        payload = entry.get("payload")
        if isinstance(payload, dict):
            found_cwd, found_id = payload.get("cwd"), payload.get("id")
            cwd = found_cwd if isinstance(found_cwd, str) else ""
            thread = found_id if isinstance(found_id, str) else thread
    return RolloutHead(path, thread, cwd, mtime)


def _newest_day_dirs(root: Path) -> list[Path]:
    """The :data:`DAY_DIRS` newest ``YYYY/MM/DD`` folders under ``root``, newest first."""
    found: list[Path] = []

    def children(folder: Path) -> list[Path]:
        try:
            return sorted((p for p in folder.iterdir() if p.is_dir()), reverse=True)
        except OSError:
            return []

    for year in children(root):
        for month in children(year):
            for day in children(month):
                found.append(day)
                if len(found) >= DAY_DIRS:
                    return found
    return found


def rollouts_of(home: Path, worktree: Path, since: float = 0.0) -> list[RolloutHead]:
    """The rollouts whose cwd is ``worktree``, written to at or after ``since``, newest
    first (by their last write)."""
    wanted = {str(worktree), os.path.realpath(worktree)}
    heads: list[RolloutHead] = []
    for day in _newest_day_dirs(sessions_dir(home)):
        try:
            paths = list(day.glob("rollout-*.jsonl"))
        except OSError:
            continue
        for path in paths:
            try:
                if path.stat().st_mtime < since:
                    continue
            except OSError:
                continue
            head = read_head(path)
            if head is not None and head.cwd in wanted:
                heads.append(head)
    return sorted(heads, key=lambda h: h.mtime, reverse=True)


def find_rollout(home: Path, thread_id: str) -> Path | None:
    """The rollout of ``thread_id`` in the newest day folders, if any."""
    if not thread_id:
        return None
    for day in _newest_day_dirs(sessions_dir(home)):
        try:
            for path in day.glob(f"rollout-*{thread_id}.jsonl"):
                return path
        except OSError:
            continue
    return None


def _toml_key(text: str) -> str:
    """``text`` as a TOML basic string (quotes and backslashes escaped)."""
    return json.dumps(text)  # a JSON string without control characters is a TOML one


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock beside ``path``, so two spawns never append at once."""
    lock = path.with_name(f".{path.name}.ao-tui.lock")
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def trust_folder(home: Path, worktree: Path) -> bool:
    """Mark ``worktree`` trusted in ``$CODEX_HOME/config.toml`` (Codex asks otherwise,
    before it reads the task), as Codex itself writes it when the operator says yes.

    A folder the config already names is left as the operator set it (an ``untrusted``
    folder keeps asking). Returns True when the config was changed.
    """
    config = home / "config.toml"
    home.mkdir(parents=True, exist_ok=True)
    with _locked(config):
        try:
            text = config.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        try:
            projects = tomllib.loads(text).get("projects", {})
        except tomllib.TOMLDecodeError:
            return False  # the operator's broken config is theirs to fix; Codex will say so
        names = {str(worktree), os.path.realpath(worktree)}
        if isinstance(projects, dict) and names & set(projects):
            return False
        block = _trust_block(worktree)
        with config.open("a", encoding="utf-8") as handle:
            if text and not text.endswith("\n"):
                handle.write("\n")
            handle.write(block)
    return True


def _trust_block(worktree: Path) -> str:
    """The table :func:`trust_folder` appends for ``worktree``."""
    return f'\n[projects.{_toml_key(str(worktree))}]\ntrust_level = "trusted"\n'


def forget_folder(home: Path, worktree: Path) -> bool:
    """Remove the trust table :func:`trust_folder` appended for ``worktree`` from
    ``$CODEX_HOME/config.toml`` once the folder is gone; whether it was there.

    Only the exact text ao-tui wrote goes: a table the operator or Codex rewrote since is
    theirs now, and stays.
    """
    config = home / "config.toml"
    if worktree.exists() or not config.exists():
        return False
    block = _trust_block(worktree)
    with _locked(config):
        try:
            text = config.read_text(encoding="utf-8")
        except OSError:
            return False
        if block not in text:
            return False
        mode = config.stat().st_mode & 0o777
        write_private(config, text.replace(block, "", 1).encode())
        config.chmod(mode)  # as the operator had it
    return True
