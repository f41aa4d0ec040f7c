"""``ao-tui inspect transcript``: run the activity readers on files and show the verdict.

Given a transcript (Claude JSONL, Codex rollout or Aider history, told apart by content)
and optionally a hook log, a status file and a pane capture, read each with the same code
the live plugins use, fuse the signals and return a JSON-ready report. Useful to debug a
wrong state on a real session and to check a new agent release against its files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from core.activity.fusion import fuse
from core.activity.pane import generic_pane_signal
from core.activity.tailer import FileTailer
from core.bounded_json import loads_line
from core.errors import EXIT_USAGE, AoError
from core.models import ActivitySignal
from plugins.agent.aider.reader import SESSION_HEADER, AiderState
from plugins.agent.claude_code.hooks import HookState, parse_hook_line
from plugins.agent.claude_code.screen import claude_pane_signal
from plugins.agent.claude_code.status import read_status_file
from plugins.agent.claude_code.transcript import TranscriptState
from plugins.agent.codex.reader import CODEX_LINE_TYPES, CodexState

_SNIFF_LINES = 30


class InspectError(AoError):
    """A file given to ``inspect`` cannot be read as one; the message says which and why."""

    exit_code = EXIT_USAGE


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_readable(path: Path, what: str) -> None:
    """Refuse anything but a regular file this process can read, without blocking on it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InspectError(f"{path}: no such file (the {what})") from None
    except OSError as exc:
        raise InspectError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise InspectError(f"{path}: is {kind}, not a regular file; give the {what} itself")
    try:
        # O_NONBLOCK: should it have become a FIFO meanwhile, opening must not wait.
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        raise InspectError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def transcript_format(path: Path) -> str:
    """``claude``, ``codex``, ``aider`` or ``hooks`` (a Claude hook log), from the file's
    name and first lines."""
    if path.suffix == ".md":
        return "aider"
    try:
        with path.open("rb") as handle:
            head = [handle.readline() for _ in range(_SNIFF_LINES)]
    except OSError:
        return "claude"
    for raw in head:
        text = raw.decode("utf-8", errors="replace").strip().removeprefix("\ufeff")
        if not text:
            continue
        if text.startswith(SESSION_HEADER.strip()):
            return "aider"
        if text.startswith('{"ao_ts":'):
            return "hooks"  # our own hook log (records may span two lines)
        try:
            entry = loads_line(text)
        except ValueError:
            continue
        kind = entry.get("type") if isinstance(entry, dict) else None
        if isinstance(kind, str) and kind in CODEX_LINE_TYPES:
            return "codex"
        if isinstance(entry, dict) and parse_hook_line(text) is not None and "type" not in entry:
            return "hooks"
    return "claude"


def _signal_json(signal: ActivitySignal | None) -> dict[str, Any] | None:
    """A signal as JSON, for the report's per-source breakdown."""
    if signal is None:
        return None
    return {
        "state": signal.state.value,
        "source": signal.source.value,
        "at": signal.at,
        "detail": signal.detail,
        "waiting_for": signal.waiting_for,
    }


def inspect_signals(
    transcript: Path,
    hooks: Path | None,
    status: Path | None,
    pane: Path | None,
    now: float,
) -> dict[str, Any]:
    """Read every given file, fuse, and report ``state``/``source``/``detail``/``since``/
    ``waiting_for`` plus a ``transcript`` summary and one entry per source in ``signals``.

    Raises :class:`InspectError` when ``transcript`` does not exist, and when any file
    given is not a regular readable file (a FIFO would block the read forever, a device
    or a directory has no lines to give); the optional files are reported as missing.
    """
    check_readable(transcript, "transcript")
    for path, what in ((hooks, "hook log"), (status, "status file"), (pane, "pane capture")):
        if path is not None and path.exists():
            check_readable(path, what)
    fmt = transcript_format(transcript)
    read = FileTailer(transcript).read()
    signals: dict[str, ActivitySignal | None] = {}
    summary: dict[str, Any]
    if fmt == "codex":
        codex = CodexState()
        codex.fold_lines(read.lines)
        signals["transcript"] = codex.signal()
        summary = codex.summary()
    elif fmt == "aider":
        aider = AiderState()
        aider.fold_lines(read.lines)
        signals["transcript"] = aider.signal(transcript.stat().st_mtime)
        summary = aider.summary()
    elif fmt == "hooks":
        # Given a hook log where a transcript was expected: read it as the hook source.
        logged = HookState()
        logged.fold_lines(read.lines)
        signals["hooks"] = logged.signal()
        summary = {"format": "hooks", **logged.summary()}
    else:
        claude = TranscriptState()
        claude.fold_lines(read.lines)
        signals["transcript"] = claude.signal()
        summary = claude.summary()
    summary["path"] = str(transcript)
    summary["skipped_bytes"] = read.skipped_bytes
    report: dict[str, Any] = {"transcript": summary}

    if hooks is not None:
        if hooks.is_file():
            hook_state = HookState()
            hook_state.fold_lines(FileTailer(hooks).read().lines)
            signals["hooks"] = hook_state.signal()
            report["hooks"] = hook_state.summary()
        else:
            report["hooks"] = {"missing": str(hooks)}
    if status is not None:
        claude_status = read_status_file(status)
        signals["status"] = claude_status.signal() if claude_status else None
        report["status"] = claude_status.to_json() if claude_status else {"missing": str(status)}
    if pane is not None:
        try:
            screen = pane.read_text(encoding="utf-8", errors="replace")
        except OSError:
            report["pane"] = {"missing": str(pane)}
        else:
            reader = claude_pane_signal if fmt == "claude" else generic_pane_signal
            signals["pane"] = reader(screen, now)
            report["pane"] = {"lines": len(screen.splitlines())}

    activity = fuse([s for s in signals.values() if s is not None], None, now)
    report.update(activity.to_json())
    report["format"] = fmt
    report["signals"] = {name: _signal_json(sig) for name, sig in signals.items()}
    return report
