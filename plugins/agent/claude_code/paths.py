"""Where Claude Code keeps a session's files: config dir, project dir names, transcripts.

Claude Code stores a transcript at ``<config>/projects/<enc>/<uuid>.jsonl`` where ``<config>``
is ``$CLAUDE_CONFIG_DIR`` or ``~/.claude`` and ``<enc>`` is the working directory with every
character outside ``[A-Za-z0-9]`` replaced by ``-``. The replacement works on UTF-16 code
units (it is a JavaScript regex without the ``u`` flag), so a character outside the BMP,
such as an emoji, becomes two dashes. Names longer than 200 characters are cut to 200 and
suffixed with ``-`` plus a base-36 string hash of the original path.

The hash is an implementation detail that may change between releases, and Claude may
encode the realpath rather than the path it was given, so :func:`find_transcript` never
relies on the computed name alone: it falls back to scanning ``projects/*/<uuid>.jsonl``
and, when several match, to the ``cwd`` field written inside the files.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

from core.bounded_json import loads_line

MAX_PROJECT_DIR_LEN = 200
"""Longer encoded names are truncated to this length and suffixed with a hash."""

_CWD_PROBE_LINES = 50
"""How many leading lines of a transcript to read when looking for its ``cwd`` field."""


def claude_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$CLAUDE_CONFIG_DIR``, else ``$HOME/.claude``, reading ``env`` before ``os.environ``.

    The agent may run with its own environment (tests give it a private ``HOME``), so the
    session's env is consulted first and the current process's environment second.
    """
    for source in (env or {}, os.environ):
        configured = source.get("CLAUDE_CONFIG_DIR")
        if configured:
            return Path(configured).expanduser()
    for source in (env or {}, os.environ):
        home = source.get("HOME")
        if home:
            return Path(home) / ".claude"
    return Path.home() / ".claude"


def _utf16_units(text: str) -> list[int]:
    """The UTF-16 code units of ``text``, as JavaScript's ``charCodeAt`` sees them."""
    raw = text.encode("utf-16-le", errors="surrogatepass")
    return [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]


def _path_hash(text: str) -> str:
    """Claude's suffix for long names: ``Math.abs(javaStringHash(text)).toString(36)``."""
    acc = 0
    for unit in _utf16_units(text):
        acc = (acc * 31 + unit) & 0xFFFFFFFF
    signed = acc - (1 << 32) if acc & 0x80000000 else acc
    value = abs(signed)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
        if value == 0:
            return out


def project_dir_name(cwd: str | os.PathLike[str]) -> str:
    """The directory name Claude Code uses under ``projects/`` for a working directory."""
    return _project_dir_name(os.fspath(cwd))


@functools.lru_cache(maxsize=1024)
def _project_dir_name(text: str) -> str:
    """:func:`project_dir_name` of a path string (cached: a missing transcript is looked
    for every few seconds, and the encoding is character by character)."""
    pieces: list[str] = []
    for char in text:
        if char.isascii() and char.isalnum():
            pieces.append(char)
        else:
            # One dash per UTF-16 code unit: astral characters are surrogate pairs in JS.
            pieces.append("--" if ord(char) > 0xFFFF else "-")
    encoded = "".join(pieces)
    if len(encoded) <= MAX_PROJECT_DIR_LEN:
        return encoded
    return f"{encoded[:MAX_PROJECT_DIR_LEN]}-{_path_hash(text)}"


def transcript_path(config_dir: Path, cwd: str | os.PathLike[str], session_uuid: str) -> Path:
    """Where the transcript of ``session_uuid`` started in ``cwd`` is expected to be."""
    return config_dir / "projects" / project_dir_name(cwd) / f"{session_uuid}.jsonl"


def transcript_cwd(path: Path) -> str | None:
    """The ``cwd`` recorded in the first lines of a transcript, or None if absent/unreadable."""
    try:
        with path.open("rb") as handle:
            for _ in range(_CWD_PROBE_LINES):
                raw = handle.readline()
                if not raw:
                    break
                try:
                    entry = loads_line(raw.decode("utf-8", errors="replace"))
                except ValueError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("cwd"), str):
                    return str(entry["cwd"])
    except OSError:
        return None
    return None


_CONVERSATION_PROBE_LINES = 1000
"""How many leading lines :func:`holds_conversation` reads before taking a transcript for a
conversation anyway (a real one has its first prompt within a few lines)."""


def holds_conversation(path: Path) -> bool:
    """Whether a transcript records a message: a ``user`` or ``assistant`` line.

    ``claude --resume`` needs one. A Claude killed just after its first turn may have
    written only its metadata lines (title, mode, permission mode): the messages were
    still in its write buffer. ``--resume`` then fails with "No conversation found" and
    ``--session-id`` with "already in use", both exiting 1 at once.
    """
    try:
        with path.open("rb") as handle:
            for _ in range(_CONVERSATION_PROBE_LINES):
                raw = handle.readline()
                if not raw:
                    return False
                try:
                    entry = loads_line(raw.decode("utf-8", errors="replace"))
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("type") in ("user", "assistant"):
                    return True
    except OSError:
        return False
    return True


def _same_dir(a: str, b: str) -> bool:
    """Whether two directory strings name the same place (symlinks resolved when possible)."""
    if a.rstrip("/") == b.rstrip("/"):
        return True
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def transcript_candidates(
    config_dir: Path,
    session_uuid: str,
    cwd: str | os.PathLike[str],
    resolved: str | None = None,
) -> list[Path]:
    """The computed locations of the transcript: for ``cwd`` as given and as its realpath
    (``resolved``, when the caller already knows it: resolving costs a syscall per part)."""
    real = os.path.realpath(cwd) if resolved is None else resolved
    return [
        transcript_path(config_dir, candidate_cwd, session_uuid)
        for candidate_cwd in dict.fromkeys((os.fspath(cwd), real))
    ]


def find_transcript(
    config_dir: Path,
    session_uuid: str,
    cwd: str | os.PathLike[str] | None = None,
    *,
    scan: bool = True,
    resolved: str | None = None,
) -> Path | None:
    """The transcript file of ``session_uuid``, or None if Claude has not written it yet.

    Tries the computed location first (one ``stat``), then, unless ``scan`` is False,
    scans every project dir for ``<uuid>.jsonl``; when several candidates exist, the one
    whose ``cwd`` matches wins, else the most recently modified. ``resolved`` is the
    realpath of ``cwd`` if the caller knows it.
    """
    if not session_uuid:
        return None
    if cwd is not None:
        for expected in transcript_candidates(config_dir, session_uuid, cwd, resolved):
            if expected.is_file():
                return expected
    if not scan:
        return None
    projects = config_dir / "projects"
    try:
        candidates = [p for p in projects.glob(f"*/{session_uuid}.jsonl") if p.is_file()]
    except OSError:
        return None
    if not candidates:
        return None
    if len(candidates) > 1 and cwd is not None:
        wanted = os.fspath(cwd)
        matching = [p for p in candidates if _same_dir(transcript_cwd(p) or "", wanted)]
        candidates = matching or candidates
    return max(candidates, key=_mtime)


def _mtime(path: Path) -> float:
    """A file's mtime, or 0 when it vanished between listing and stat."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def status_dir(config_dir: Path) -> Path:
    """Where Claude Code writes one ``<pid>.json`` status file per running process."""
    return config_dir / "sessions"
