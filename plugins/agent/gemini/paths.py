"""Where the Gemini CLI keeps its files: its home, a session's transcript, and how to tell a
transcript that holds a conversation from one that does not.

Gemini CLI writes each session to ``<home>/.gemini/tmp/<project>/chats/
session-<local time>-<first 8 chars of the session id>.jsonl``, where ``<home>`` is
``$GEMINI_CLI_HOME`` or the user's home and ``<project>`` a short name it registers per
folder in ``<home>/.gemini/projects.json``. The first line holds the ``sessionId`` and the
``projectHash`` (the SHA-256 of the folder's path). ao-tui chooses the session id itself
(``--session-id``), so a session's transcript is found by that id.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from core.bounded_json import loads_line
from plugins.agent.gemini.reader import is_context, message_text

_HEAD_BYTES = 64 * 1024
_SCAN_LINES = 1000


def gemini_home(env: Mapping[str, str]) -> Path:
    """``<GEMINI_CLI_HOME or HOME>/.gemini`` of the project's env, else of ours."""
    for source in (env, os.environ):
        value = source.get("GEMINI_CLI_HOME")
        if value:
            return Path(value).expanduser() / ".gemini"
    home = env.get("HOME") or os.environ.get("HOME") or str(Path.home())
    return Path(home) / ".gemini"


def temp_root(env: Mapping[str, str]) -> Path:
    """The folder holding one folder per project, each with its ``chats``."""
    return gemini_home(env) / "tmp"


def project_hash(worktree: Path) -> str:
    """The ``projectHash`` Gemini records for sessions run in ``worktree``."""
    return hashlib.sha256(str(worktree).encode()).hexdigest()


def find_transcript(root: Path, session_id: str) -> Path | None:
    """The transcript of Gemini session ``session_id`` under ``root`` (:func:`temp_root`),
    the newest if it was written more than once, or None."""
    if len(session_id) < 8:
        return None
    short = session_id[:8]
    found: list[tuple[float, Path]] = []
    try:
        projects = list(root.iterdir())
    except OSError:
        return None
    for project in projects:
        try:
            candidates = list((project / "chats").glob(f"session-*-{short}.jsonl"))
        except OSError:
            continue
        for path in candidates:
            if session_of(path) == session_id:
                try:
                    found.append((path.stat().st_mtime, path))
                except OSError:
                    continue
    return max(found)[1] if found else None


def _head(path: Path) -> dict[str, object]:
    """A transcript's first line, the session's header ({} if unreadable)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(_HEAD_BYTES)
        head = json.loads(first)
    except (OSError, ValueError):
        return {}
    return head if isinstance(head, dict) else {}


def session_of(path: Path) -> str:
    """The ``sessionId`` on a transcript's first line ("" if unreadable)."""
    value = _head(path).get("sessionId")
    return value if isinstance(value, str) else ""


def latest_session(root: Path, worktree: Path) -> str:
    """The id of the newest resumable session Gemini ran in ``worktree`` ("" if none)."""
    wanted = {project_hash(worktree), project_hash(worktree.resolve())}
    best: tuple[float, str] = (float("-inf"), "")
    for path in root.glob("*/chats/session-*.jsonl"):
        head = _head(path)
        ident = head.get("sessionId")
        if head.get("projectHash") not in wanted or head.get("kind", "main") != "main":
            continue
        if not isinstance(ident, str) or not holds_conversation(path):
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        best = max(best, (mtime, ident))
    return best[1]


def _resumable(message: object) -> bool:
    """Whether a message record is one Gemini resumes on: a prompt other than its own
    context message, or an answer with content."""
    if not isinstance(message, dict):
        return False
    text = message_text(message.get("content")).strip()
    if message.get("type") == "user":
        return bool(text) and not is_context(message)
    if message.get("type") == "gemini":
        return bool(text) or bool(message.get("toolCalls"))
    return False


def holds_conversation(path: Path) -> bool:
    """Whether the transcript at ``path`` holds a message Gemini can resume on.

    One killed right after its start holds only its header and context message: Gemini's
    ``--resume`` does not list it ("Invalid session identifier") and ``--session-id``
    refuses the id as taken.
    """
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                if number >= _SCAN_LINES:
                    return True  # that long a file is a conversation
                try:
                    record = loads_line(line)
                except ValueError:
                    continue
                if not isinstance(record, dict):
                    continue
                updates = record.get("$set")
                messages = updates.get("messages") if isinstance(updates, dict) else None
                if isinstance(messages, list) and any(_resumable(m) for m in messages):
                    return True
                if _resumable(record):
                    return True
    except OSError:
        return False
    return False
