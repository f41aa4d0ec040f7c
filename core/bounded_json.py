"""JSON from files ao-tui does not write, parsed with a bound on nesting and size.

``json.loads`` recurses once per nesting level: one line of 100,000 ``[`` in a transcript
or hook log raises ``RecursionError`` (not ``ValueError``), which every tolerant reader let
through, so one session's file took ``status`` down for the whole fleet. Even a document
just under the interpreter's limit would crash the code that walks it afterwards (the
detail view's pretty printer recurses too). So that error is caught, a parsed value is
checked for depth when its text has enough brackets to be deep at all (walking its
containers, not its characters: code in strings is full of brackets), and anything deeper
than :data:`MAX_DEPTH` is refused with a :class:`JsonRefused`, a ``ValueError`` like every
other parse failure, so readers that already skip bad lines skip these too. A leading
UTF-8 byte-order mark is dropped: some editors and tools write one, and it is not part of
the JSON. ``NaN``, ``Infinity`` and numbers too big for a float read as null, so what
ao-tui prints stays valid JSON.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from core.errors import AoError

MAX_DEPTH = 100
"""Deepest nesting accepted; agent records nest a dozen levels, tool inputs a few more."""

MAX_LINE_CHARS = 16 * 1024 * 1024
"""Longest JSON line accepted from a log (a transcript line with a pasted image is ~7 MB)."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
BOM = "\ufeff"


class JsonRefused(AoError, ValueError):
    """The text was not parsed: too deep or too long (the message says which)."""


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether ``text`` nests arrays and objects deeper than ``limit`` (strings ignored)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case: not even that many brackets in all
    structure = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = 0
    for char in structure:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, max_chars: int | None = None) -> Any:
    """``json.loads`` that refuses (``ValueError``) what would crash it or its caller.

    ``max_chars`` bounds the length (a log line); None accepts any length (a document).
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    if max_chars is not None and len(text) > max_chars:
        raise JsonRefused(f"longer than {max_chars:,} characters")
    text = text.removeprefix(BOM)
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        # The C parser stops cleanly at the interpreter's limit, far past ours.
        raise JsonRefused(f"nested deeper than {max_depth} levels") from None
    # Only a text with that many brackets can nest that deep; most lines are not even
    # looked at, and the walk visits containers only (brackets inside strings cost nothing).
    if text.count("[") + text.count("{") > max_depth and _deeper_than(value, max_depth):
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether the parsed ``value`` nests lists and objects deeper than ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _no_constant(name: str) -> None:
    """``NaN`` and ``Infinity`` are no JSON: read as null, so they never reach our output."""
    return None


def _finite(text: str) -> float | None:
    """A float, or null for one too big to be (``1e999`` would be infinity)."""
    value = float(text)
    return value if math.isfinite(value) else None


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
"""One decoder for every call: ``json.loads`` with options would build one per line."""


def loads_line(line: str) -> Any:
    """One line of a JSONL log: :func:`loads` with the line length bound."""
    return loads(line, max_chars=MAX_LINE_CHARS)


def why_not(error: ValueError) -> str:
    """A short reason a line did not parse, for reports (``not JSON: Expecting value``)."""
    if isinstance(error, JsonRefused):
        return str(error)
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg.removesuffix(' at')} at column {error.colno})"
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 at byte {error.start}"
    text = " ".join(str(error).split())
    return f"not JSON ({text if len(text) <= 80 else text[:79] + '…'})"
