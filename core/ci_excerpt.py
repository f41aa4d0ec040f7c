"""CI excerpts made safe to keep and print: made inert, secrets masked, bounded.

An excerpt is stored in the database, printed by ``ci --json``, shown in the cockpit and
sent to agents, so it must never carry a secret nor grow with the log: a test that prints
a 50 MB line would otherwise put 50 MB everywhere. Long lines are cut with a note saying
how much was cut, the whole excerpt is bounded in lines and bytes, and a cut excerpt says
where the full log is (it stays on disk).

The masking happens before the cut (a cut token has no recognisable shape any more), on a
window of each long line a little wider than what is kept, so a huge line costs no more
than a short one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.inert import inert
from core.redact import redact

MAX_LINES = 70
"""Lines of an excerpt, notes included (the excerpt picker keeps 60 lines of the log)."""
MAX_BYTES = 16 * 1024
"""UTF-8 bytes of an excerpt, notes included."""
LINE_CHARS = 400
"""Characters of one excerpt line, its cut note included."""
READ_MAX_BYTES = 4 * 1024 * 1024
"""How much of a log's end is read to pick an excerpt: the verdict is at the end."""

_WINDOW_MARGIN = 512
"""Characters read past a line's cut before masking: a secret that starts before the cut
is seen whole (or long enough to match) and masked before the line is cut."""
_CUT_NOTE_ROOM = 40
"""Characters kept free at the end of a cut line for its note."""


def read_log_end(path: Path, limit: int = READ_MAX_BYTES) -> str:
    """The last ``limit`` bytes of a log as text (invalid UTF-8 replaced); a cut first line
    is kept, marked as cut."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        start = max(0, size - limit)
        handle.seek(start)
        data = handle.read(limit)
    text = data.decode("utf-8", errors="replace")
    if start:
        text = f"…[{start:,} bytes before this]" + text
    return text


def _cut_note(total: int, kept: int) -> str:
    return f" …[{total - kept:,} more characters cut]"


def bound_excerpt(
    text: str,
    *,
    secrets: Iterable[str] = (),
    log_path: str = "",
    max_lines: int = MAX_LINES,
    max_bytes: int = MAX_BYTES,
    line_chars: int = LINE_CHARS,
) -> str:
    """``text`` made inert (colours gone, other controls visible), with ``secrets`` and
    known credentials masked, cut to ``max_lines`` lines of at most ``line_chars``
    characters and ``max_bytes`` bytes.

    Text within the bounds comes back as it was (once cleaned and masked), so bounding an
    excerpt again changes nothing.
    """
    literals = tuple(secrets)
    lines = text.replace("\r\n", "\n").split("\n")
    cut = False
    if len(lines) > max_lines:
        omitted = len(lines) - (max_lines - 2)
        lines = [*lines[: max_lines - 2], f"…[{omitted:,} more lines cut]"]
        cut = True
    window = line_chars + _WINDOW_MARGIN + max((len(s) for s in literals), default=0)
    widths = [len(line) for line in lines]
    shown = "\n".join(inert(line[:window]) for line in lines)
    masked = redact(shown, literals).split("\n")
    if len(masked) != len(lines):  # a mask spanning lines (a private key block)
        widths = [len(line) for line in masked]
    out: list[str] = []
    for line, width in zip(masked, widths, strict=False):
        if len(line) > line_chars or (width > window and len(line) > line_chars - _CUT_NOTE_ROOM):
            keep = line_chars - _CUT_NOTE_ROOM
            line = line[:keep] + _cut_note(max(width, len(line)), keep)
            cut = True
        elif width > window:
            line += _cut_note(width, window)
            cut = True
        out.append(line)
    footer = ""
    if log_path:
        footer = f"…[cut; the full log: {log_path}]"
        if len(footer) > line_chars:
            footer = footer[: line_chars - 2] + "…]"
    reserve = len(footer.encode()) + 1 if footer else 0
    result = "\n".join(out)
    size = len(result.encode())
    if size > max_bytes or (cut and size + reserve > max_bytes):
        result = _cut_bytes(out, max_bytes - reserve - 80)
        cut = True
    if cut and footer:
        result = f"{result}\n{footer}"
    return result


def _cut_bytes(lines: list[str], budget: int) -> str:
    """The first lines of ``lines`` that fit in ``budget`` bytes, then a note."""
    kept: list[str] = []
    used = 0
    for line in lines:
        size = len(line.encode()) + 1
        if used + size > budget:
            break
        kept.append(line)
        used += size
    kept.append(f"…[{len(lines) - len(kept):,} more lines cut: the excerpt is bounded]")
    return "\n".join(kept)
