"""The hook log every hook-driven agent plugin shares: the command it installs, the line
format, and the parser that reads it back.

An agent runs a hook command through a shell with the event's JSON on stdin, and a slow or
failing hook blocks the agent. Ours is therefore a single append, stamped with the time::

    { p=$(tr -d '\\n'); [ -z "$p" ] || printf '{"ao_ts":"%s","payload":%s}\\n' \\
        "$(date +%s.%N)" "$p"; } >> LOG 2>/dev/null; exit 0

so every line of the log is ``{"ao_ts":"<epoch seconds>","payload":<hook JSON>}``. The
format is a contract: the agent plugins, the watcher and the tests all rely on it. On macOS
``date`` has no ``%N`` and prints ``1712345678.N``: only the integer part is used then.
The command prints nothing on stdout, which agents that read a hook's stdout as JSON take
as "no decision".

Logs written by older versions, whose records span two physical lines
(``{"ao_ts":"…","payload":{…}`` then ``}``), still parse: :class:`HookLogParser` joins them
back (across reads too, since the closing ``}`` may not be written yet when the log is
read). It also accepts a one-line record, a bare payload line without the wrapper (``at``
is then None), and takes the event name from ``hook_event_name`` or, as some third-party
loggers write it, ``event``.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.activity.jsonl import MAX_NOTED
from core.activity.run_start import RunStart
from core.bounded_json import MAX_DEPTH, loads_line, nesting_exceeds, why_not
from core.models import ActivitySignal


def hook_command(log_path: Path) -> str:
    """The shell command an agent runs for every hook event: append one stamped line, exit 0.

    The payload is read whole before anything is written, then the record goes out in one
    ``printf``: a hook killed while its agent exits (some agents do not wait for the last
    hook) writes nothing instead of a record's opening, which the next record would
    otherwise continue on the same line. An agent may end the payload with a newline;
    ``tr -d`` drops it (a JSON document never holds a raw newline, so nothing else is lost)
    so each record is one line. An empty payload writes nothing.
    """
    return (
        "{ p=$(tr -d '\\n'); [ -z \"$p\" ] || "
        'printf \'{"ao_ts":"%s","payload":%s}\\n\' "$(date +%s.%N)" "$p"; }'
        f" >> {shlex.quote(str(log_path))} 2>/dev/null; exit 0"
    )


@dataclass(frozen=True)
class HookRecord:
    """One hook invocation: the event name, when it was logged, and the agent's payload."""

    event: str
    at: float | None
    payload: dict[str, Any]


def _parse_ao_ts(value: Any) -> float | None:
    """Seconds from ``ao_ts``: ``"1712345678.123456789"``, or ``"1712345678.N"`` on macOS."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        head = text.split(".", 1)[0]
        return float(head) if head.isdigit() and len(head) < 20 else None
    return seconds if math.isfinite(seconds) else None


_INVALID = object()


def _decode(text: str) -> Any:
    """The JSON value of ``text``, or :data:`_INVALID` (parsed once per line: hot path)."""
    try:
        return loads_line(text)
    except ValueError:
        return _INVALID


def _may_continue(line: str) -> bool:
    """Whether a record start that did not parse may be completed by the next lines.

    One refused for its depth or length never will: carrying it would only make every
    following line re-parse it.
    """
    return len(line) < MAX_RECORD_CHARS and not nesting_exceeds(line, MAX_DEPTH)


def _reason(text: str) -> str:
    """Why ``text`` is not a record (only asked for lines already found unusable)."""
    try:
        loads_line(text)
    except ValueError as exc:
        return why_not(exc)
    return "not a hook record (no event name)"


def parse_hook_line(line: str) -> HookRecord | None:
    """Decode one log line; None for blank, malformed or event-less lines."""
    text = line.strip()
    return _record_from(_decode(text)) if text else None


def _record_from(data: Any) -> HookRecord | None:
    """The record a decoded log line holds, or None."""
    if not isinstance(data, dict):
        return None
    at: float | None = None
    payload: Any = data
    # A record inside a record's opening: an older command, killed after writing the
    # opening, let the next hook's record continue that line. The inner one is whole.
    while isinstance(payload, dict) and "payload" in payload and "ao_ts" in payload:
        at = _parse_ao_ts(payload["ao_ts"])
        payload = payload["payload"]
    if not isinstance(payload, dict):
        return None
    # ``event`` is what some third-party loggers re-log the name as.
    event = payload.get("hook_event_name") or payload.get("event")
    if not isinstance(event, str) or not event:
        return None
    return HookRecord(event=event, at=at, payload=payload)


_RECORD_START = '{"ao_ts":'
MAX_RECORD_CHARS = 8 * 1024 * 1024
"""A split record longer than this is abandoned as malformed (a prompt can be large)."""


class HookLogParser:
    """Turns hook log lines into records, joining records that span several lines."""

    def __init__(self) -> None:
        """Start with nothing carried over."""
        self.malformed = 0
        self.line_no = 0
        """Lines (blank ones too) fed so far."""
        self.malformed_lines: list[str] = []
        """The first few unusable records: ``line 3: nested deeper than 100 levels``."""
        self._carry = ""
        self._carry_line = 0

    def _note(self, line_no: int, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MAX_NOTED:
            self.malformed_lines.append(f"line {line_no}: {reason}")

    def feed(self, lines: Iterable[str]) -> list[HookRecord]:
        """The records completed by ``lines`` (an unfinished one is kept for the next call)."""
        records: list[HookRecord] = []
        for line in lines:
            self.line_no += 1
            if not line.strip():
                continue
            if self._carry:
                joined = f"{self._carry}\n{line}"
                data = _decode(joined)
                if data is not _INVALID:
                    self._carry = ""
                    self._emit(data, records, self._carry_line)
                    continue
                if not line.lstrip().startswith(_RECORD_START) and len(joined) < MAX_RECORD_CHARS:
                    self._carry = joined
                    continue
                # The carried record never completed: count it, start over with this line.
                self._note(self._carry_line, f"record never completed ({_reason(joined)})")
                self._carry = ""
            data = _decode(line)
            if data is not _INVALID:
                self._emit(data, records, self.line_no)
            elif line.lstrip().startswith(_RECORD_START) and _may_continue(line):
                self._carry = line
                self._carry_line = self.line_no
            else:
                self._note(self.line_no, _reason(line))
        return records

    def _emit(self, data: Any, records: list[HookRecord], line_no: int) -> None:
        """Append the record ``data`` holds, or count it as malformed."""
        record = _record_from(data)
        if record is None:
            self._note(line_no, "not a hook record (no event name)")
        else:
            records.append(record)


def parse_hook_log(lines: Iterable[str]) -> list[HookRecord]:
    """Every complete record in ``lines`` (one-shot use of :class:`HookLogParser`)."""
    return HookLogParser().feed(lines)


@dataclass
class HookFold:
    """What a hook log says so far, folded record by record: the bookkeeping every agent's
    hook state shares. A subclass handles an event ``E`` in a method ``_on_E`` (which calls
    :meth:`_decide` for an event that decides the activity) and says what the deciding
    event means in :meth:`_signal`."""

    records: int = 0
    malformed: int = 0
    malformed_lines: list[str] = field(default_factory=list)
    """The first few unusable records, with their line number and why."""
    last_event: str = ""
    last_at: float | None = None
    session_id: str = ""
    transcript_path: str = ""
    state_event: str = ""
    """The newest event that decides the activity (some do not)."""
    state_at: float | None = None
    detail: str = ""

    _parser: HookLogParser = field(default_factory=HookLogParser, repr=False, compare=False)
    _run: RunStart = field(default_factory=RunStart, repr=False, compare=False)

    def fold_lines(self, lines: Iterable[str]) -> None:
        """Fold log lines in file order; a record split over lines may finish in a later call."""
        for record in self._parser.feed(lines):
            self.fold(record)
        self.malformed = self._parser.malformed
        self.malformed_lines = list(self._parser.malformed_lines)

    def fold(self, record: HookRecord) -> None:
        """Fold one record: the session's ids it names, then its event's handler."""
        self.records += 1
        payload = record.payload
        self.last_event = record.event
        if record.at is not None:
            self.last_at = record.at
        for attr in ("session_id", "transcript_path"):
            value = payload.get(attr)
            if isinstance(value, str) and value:
                setattr(self, attr, value)
        handler = getattr(self, f"_on_{record.event}", None)
        if handler is not None:
            handler(record)
        self._run.note(self._signal())

    def _decide(self, record: HookRecord, detail: str) -> None:
        """Make ``record`` the event the activity is derived from."""
        self.state_event = record.event
        self.state_at = record.at
        self.detail = detail

    def signal(self) -> ActivitySignal | None:
        """The activity the newest deciding event implies, or None before any.

        ``at`` is the newest deciding record's time; ``began`` that of the first record of
        the run that says the same (a permission request under its notification).
        """
        return self._run.stamp(self._signal())

    def _signal(self) -> ActivitySignal | None:
        """The activity the deciding event implies (the subclass's knowledge)."""
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect`` (a subclass adds what it knows)."""
        return {
            "records": self.records,
            "malformed": self.malformed,
            "malformed_lines": list(self.malformed_lines),
            "last_event": self.last_event,
            "last_at": self.last_at,
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
        }
