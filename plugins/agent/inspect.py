"""The bundled agents' files for ``ao-tui inspect transcript``, told apart by content.

A Claude Code JSONL transcript (or its hook log), a Codex rollout, an Aider chat history or
a Gemini CLI session is read with the same readers the live plugins use; the hook log,
status file and pane capture given beside it are read as that agent's (Claude Code's for a
hook log given alone). :mod:`core.activity.inspect` checks the files, fuses the signals and
reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.activity.pane import generic_pane_signal
from core.activity.tailer import FileTailer
from core.bounded_json import loads_line
from core.models import ActivitySignal
from core.slots import InspectedFiles
from plugins.agent.aider.reader import SESSION_HEADER, AiderState
from plugins.agent.aider.screen import aider_pane_signal
from plugins.agent.claude_code.hooks import HookState, parse_hook_line
from plugins.agent.claude_code.screen import claude_pane_signal
from plugins.agent.claude_code.status import read_status_file
from plugins.agent.claude_code.transcript import TranscriptState
from plugins.agent.codex.reader import CODEX_LINE_TYPES, CodexState
from plugins.agent.codex.screen import codex_pane_signal
from plugins.agent.gemini.hooks import GeminiHookState
from plugins.agent.gemini.reader import GeminiState
from plugins.agent.gemini.screen import gemini_pane_signal
from plugins.agent.gemini.sources import agreed, until_drawn

_SNIFF_LINES = 30
PANE_READERS: dict[str, Callable[[str, float], ActivitySignal | None]] = {
    "claude": claude_pane_signal,
    "codex": codex_pane_signal,
    "aider": aider_pane_signal,
    "gemini": gemini_pane_signal,
}
"""The agent's own screen reader per transcript format; others get the generic one."""


def transcript_format(path: Path) -> str:
    """``claude``, ``codex``, ``aider``, ``gemini`` or ``hooks`` (a Claude hook log), from
    the file's name and first lines."""
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
        if isinstance(entry, dict) and "projectHash" in entry and "sessionId" in entry:
            return "gemini"  # a Gemini CLI session's header line
        kind = entry.get("type") if isinstance(entry, dict) else None
        if isinstance(kind, str) and kind in CODEX_LINE_TYPES:
            return "codex"
        if isinstance(entry, dict) and parse_hook_line(text) is not None and "type" not in entry:
            return "hooks"
    return "claude"


class BundledInspector:
    """Reads the files of the bundled agents (and of Aider, whose reader ships before its
    agent plugin)."""

    name = "bundled"

    def inspect(
        self,
        transcript: Path,
        hooks: Path | None,
        status: Path | None,
        pane: Path | None,
        now: float,
    ) -> InspectedFiles:
        """Read every given file; the transcript's format decides how."""
        fmt = transcript_format(transcript)
        read = FileTailer(transcript).read()
        signals: dict[str, ActivitySignal | None] = {}
        summary: dict[str, Any]
        if fmt == "codex":
            codex = CodexState()
            codex.fold_lines(read.lines)
            signals["transcript"] = codex.signal()
            summary = codex.summary()
        elif fmt == "gemini":
            gemini = GeminiState()
            gemini.fold_lines(read.lines)
            signals["transcript"] = gemini.signal()
            summary = gemini.summary()
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
                hook_state = GeminiHookState() if fmt == "gemini" else HookState()
                hook_state.fold_lines(FileTailer(hooks).read().lines)
                signals["hooks"] = hook_state.signal()
                report["hooks"] = hook_state.summary()
            else:
                report["hooks"] = {"missing": str(hooks)}
        if status is not None:
            claude_status = read_status_file(status)
            signals["status"] = claude_status.signal() if claude_status else None
            report["status"] = (
                claude_status.to_json() if claude_status else {"missing": str(status)}
            )
        if pane is not None:
            try:
                screen = pane.read_text(encoding="utf-8", errors="replace")
            except OSError:
                report["pane"] = {"missing": str(pane)}
            else:
                reader = PANE_READERS.get(fmt, generic_pane_signal)
                signals["pane"] = reader(screen, now)
                report["pane"] = {"lines": len(screen.splitlines())}
        if fmt == "gemini":
            _as_gemini_reads_them(signals)
        return InspectedFiles(fmt, signals, report)


def _as_gemini_reads_them(signals: dict[str, ActivitySignal | None]) -> None:
    """The Gemini plugin's corrections (:mod:`plugins.agent.gemini.sources`), so a capture
    reads as the live session did."""
    hook = agreed(signals.get("hooks"), signals.get("transcript"))
    if hook is not None and "pane" in signals:
        hook = until_drawn(hook, signals["pane"])
    if "hooks" in signals:
        signals["hooks"] = hook
