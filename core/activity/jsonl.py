"""Folding a JSONL log one line at a time, for the agents' transcripts and rollouts.

Agent logs are appended while we read them and written by tools we do not control: a
reader must take any line, count what it could not use, and never raise. This base does
the part every format shares (skip blanks, count lines, decode, require an object) and
hands each decoded object to :meth:`JsonlFold.fold_entry`. Lines are parsed with a bound on
nesting and length (:mod:`core.bounded_json`); the first few unusable lines are noted with
their line number and why, for ``inspect transcript`` and the detail view.

:class:`ConversationFold` adds what every agent's conversation log reports besides its
own entries: who wrote it (session id, working folder, tool version) and the newest
meaningful event with its time, which is what the readers turn into a signal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.bounded_json import loads_line, why_not

MAX_NOTED = 10
"""How many unusable lines are noted with their number and reason (the rest only counted)."""


@dataclass
class JsonlFold:
    """Line counts of a JSONL log folded so far; subclasses fold the entries."""

    lines: int = 0
    """Non-blank lines seen."""
    malformed: int = 0
    """Lines that were not a JSON object, or an object of a known kind in an odd shape."""
    unknown_types: dict[str, int] = field(default_factory=dict)
    """How many lines of each ``type`` this reader does not know (newer tool versions)."""
    line_no: int = 0
    """Lines (blank ones too) folded so far: the number of the line being folded."""
    malformed_lines: list[str] = field(default_factory=list)
    """The first :data:`MAX_NOTED` unusable lines: ``line 3: nested deeper than 100 levels``."""

    def fold_lines(self, lines: Iterable[str]) -> None:
        """Fold several lines, in file order."""
        for line in lines:
            self.fold(line)

    def fold(self, line: str) -> None:
        """Fold one line; never raises on bad input."""
        self.line_no += 1
        if not line.strip():
            return
        self.lines += 1
        try:
            entry = loads_line(line)
        except ValueError as exc:
            self.note_malformed(why_not(exc))
            return
        if not isinstance(entry, dict):
            self.note_malformed(f"not a JSON object ({type(entry).__name__})")
            return
        self.fold_entry(entry)

    def note_malformed(self, reason: str) -> None:
        """Count the current line as unusable, noting why (the first few are kept)."""
        self.malformed += 1
        if len(self.malformed_lines) < MAX_NOTED:
            self.malformed_lines.append(f"line {self.line_no}: {reason}")

    def count_unknown(self, kind: str) -> None:
        """Count a line of a ``type`` this reader does not know (a newer tool's shape)."""
        self.unknown_types[kind] = self.unknown_types.get(kind, 0) + 1

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one decoded object (the subclass's format)."""
        raise NotImplementedError

    def line_counts(self) -> dict[str, Any]:
        """The line counts as every reader's ``inspect`` summary reports them."""
        return {
            "lines": self.lines,
            "malformed": self.malformed,
            "malformed_lines": list(self.malformed_lines),
            "unknown_types": dict(sorted(self.unknown_types.items())),
        }


TRIMMED_PREFIX = "[trimmed"
"""How a value elided from a log starts (``[trimmed 1234 chars]``): it names no real value."""


@dataclass
class ConversationFold(JsonlFold):
    """A JSONL fold of an agent's conversation log: its identity and its newest event."""

    session_id: str = ""
    """The agent's own id for the conversation, as the log reports it."""
    cwd: str = ""
    """The folder the agent ran in, as the log reports it."""
    version: str = ""
    """The agent tool's version, as the log reports it."""
    last_event: str = ""
    """The name of the newest meaningful event (each reader has its own names)."""
    last_event_at: float | None = None
    """When that event happened; kept from an earlier event when the newest has no time."""

    def note_identity(
        self, record: dict[str, Any], *, session_id_key: str, cwd_key: str, version_key: str
    ) -> None:
        """Keep the session id, cwd and version ``record`` reports under the keys named.

        A key that is absent, empty, not a string or a trimmed placeholder leaves the value
        already known: most lines of a log repeat these, and a few lines lack them.
        """
        self.session_id = _reported(record, session_id_key) or self.session_id
        self.cwd = _reported(record, cwd_key) or self.cwd
        self.version = _reported(record, version_key) or self.version

    def note_event(self, name: str, at: float | None) -> None:
        """Record ``name`` as the newest meaningful event, at ``at`` when it has a time."""
        self.last_event = name
        if at is not None:
            self.last_event_at = at


def _reported(record: dict[str, Any], key: str) -> str:
    """The string ``record`` holds under ``key``, or "" when there is no usable one."""
    value = record.get(key)
    if isinstance(value, str) and not value.startswith(TRIMMED_PREFIX):
        return value
    return ""
