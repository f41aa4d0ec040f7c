"""The shared part of the agents' log readers: identity, newest event, unknown types."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.activity.jsonl import ConversationFold


@dataclass
class _Log(ConversationFold):
    """A made-up log format: ``{"kind", "at", "sid", "dir", "ver"}`` per line."""

    def fold_entry(self, entry: dict[str, Any]) -> None:
        """Identity from every line, ``kind`` as the event; ``odd`` is not known."""
        kind = entry.get("kind")
        if kind == "odd":
            self.count_unknown(kind)
            return
        self.note_identity(entry, session_id_key="sid", cwd_key="dir", version_key="ver")
        at = entry.get("at")
        self.note_event(str(kind), at if isinstance(at, float) else None)


def _fold(*entries: dict[str, Any]) -> _Log:
    log = _Log()
    log.fold_lines(json.dumps(entry) for entry in entries)
    return log


def test_identity_is_read_under_the_keys_named() -> None:
    log = _fold({"kind": "start", "sid": "s-1", "dir": "/w", "ver": "1.2", "session_id": "no"})
    assert (log.session_id, log.cwd, log.version) == ("s-1", "/w", "1.2")


def test_a_later_line_without_a_usable_value_keeps_the_one_known() -> None:
    log = _fold(
        {"kind": "start", "sid": "s-1", "dir": "/w", "ver": "1.2"},
        {"kind": "next", "sid": "", "dir": 7, "ver": "[trimmed 40 chars]"},
        {"kind": "last"},
    )
    assert (log.session_id, log.cwd, log.version) == ("s-1", "/w", "1.2")


def test_a_later_usable_value_replaces_the_earlier_one() -> None:
    log = _fold({"kind": "a", "sid": "s-1"}, {"kind": "b", "sid": "s-2", "ver": "2.0"})
    assert (log.session_id, log.version) == ("s-2", "2.0")


def test_the_newest_event_keeps_the_last_known_time_when_it_has_none() -> None:
    log = _fold({"kind": "prompt", "at": 10.5}, {"kind": "turn_end"})
    assert (log.last_event, log.last_event_at) == ("turn_end", 10.5)
    log.fold(json.dumps({"kind": "prompt", "at": 12.0}))
    assert (log.last_event, log.last_event_at) == ("prompt", 12.0)


def test_unknown_types_are_counted_by_type() -> None:
    log = _fold({"kind": "odd"}, {"kind": "odd"}, {"kind": "start"})
    assert log.unknown_types == {"odd": 2}
    assert (log.lines, log.last_event) == (3, "start")
