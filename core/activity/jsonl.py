"""Folding a JSONL log one line at a time, for the agents' transcripts and rollouts.

Agent logs are appended while we read them and written by tools we do not control: a
reader must take any line, count what it could not use, and never raise. This base does
the part every format shares (skip blanks, count lines, decode, require an object) and
hands each decoded object to :meth:`JsonlFold.fold_entry`. Lines are parsed with a bound on
nesting and length (:mod:`core.bounded_json`); the first few unusable lines are noted with
their line number and why, for ``inspect transcript`` and the detail view.
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

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one decoded object (the subclass's format)."""
        raise NotImplementedError
