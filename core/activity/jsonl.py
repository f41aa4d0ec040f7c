"""Folding a JSONL log one line at a time, for the agents' transcripts and rollouts.

Agent logs are appended while we read them and written by tools we do not control: a
reader must take any line, count what it could not use, and never raise. This base does
the part every format shares (skip blanks, count lines, decode, require an object) and
hands each decoded object to :meth:`JsonlFold.fold_entry`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class JsonlFold:
    """Line counts of a JSONL log folded so far; subclasses fold the entries."""

    lines: int = 0
    """Non-blank lines seen."""
    malformed: int = 0
    """Lines that were not a JSON object, or an object of a known kind in an odd shape."""
    unknown_types: dict[str, int] = field(default_factory=dict)
    """How many lines of each ``type`` this reader does not know (newer tool versions)."""

    def fold_lines(self, lines: Iterable[str]) -> None:
        """Fold several lines, in file order."""
        for line in lines:
            self.fold(line)

    def fold(self, line: str) -> None:
        """Fold one line; never raises on bad input."""
        if not line.strip():
            return
        self.lines += 1
        try:
            entry = json.loads(line)
        except ValueError:
            self.malformed += 1
            return
        if not isinstance(entry, dict):
            self.malformed += 1
            return
        self.fold_entry(entry)

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Fold one decoded object (the subclass's format)."""
        raise NotImplementedError
