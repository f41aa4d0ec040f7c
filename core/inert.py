"""Control characters, in one place: third-party text made inert, operator text checked.

Text ao-tui did not write (CI logs, review comments, issue titles and bodies, transcripts,
agents' tool commands) can carry bytes that act on a terminal or on the agent reading it:
``ESC [ 2 0 1 ~`` ends a bracketed paste early so the rest arrives as typed keys, ``ESC ] 52``
writes the clipboard, ``ESC [ 2 J`` clears the screen, invisible characters hide text from
the operator that the agent still reads. Three functions deal with it:

- :func:`inert` for third-party text that is shown or forwarded: styling escapes
  (SGR, ``CSI … m``) are removed, CRLF becomes LF, and every other control or invisible
  formatting character is made visible, so the operator sees what is there.
- :func:`find_control` / :func:`refusal` for the operator's own text (a message, a task
  prompt): the first control character other than newline and tab, located by line,
  column and byte offset, for a one-line refusal.
- :func:`clean` for what ``--clean`` sends instead: escape sequences and control
  characters removed, CRLF and lone CR turned into LF.

How characters are shown by :func:`inert`:

- C0 controls and DEL in caret notation: ESC ``^[``, CR ``^M``, NUL ``^@``, BEL ``^G``,
  DEL ``^?`` (newline and tab are kept, except in one-line mode, where they are ``^J``
  and ``^I``);
- C1 controls (U+0080 to U+009F, e.g. the 8-bit CSI U+009B), lone surrogates (undecodable
  bytes kept by ``surrogateescape``) and invisible formatting characters as ``<U+XXXX>``.
  Invisible means: Unicode format characters (bidi embeddings, overrides and isolates
  such as U+202E, zero-width space, word joiner, BOM, tag characters), the line and
  paragraph separators, and the supplementary variation selectors, which can carry
  hidden text. Zero-width joiner and non-joiner stay: emoji and several scripts need them.

Operator text is judged differently: only control characters (C0 but newline and tab,
DEL, C1) and lone surrogates are refused, since only they can act on a terminal or break
a paste; bidi marks and joiners are the operator's own writing and pass.

Applying :func:`inert` twice changes nothing more than applying it once, so each layer
(the tracker plugin, the prompt builder, the display) may apply it without care.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TypeVar

from core.models import (
    Session,
    SessionPR,
    WaitingFor,
)

T = TypeVar("T")

# C0 controls but tab and newline, DEL, C1 controls, and lone surrogates: what can act on
# a terminal or an agent's input parser, or is not text at all.
_CONTROL_CLASS = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
# Unicode 14 format characters (category Cf) without U+200C ZWNJ and U+200D ZWJ, the line
# and paragraph separators (Zl, Zp), and variation selectors 17-256. Written out because
# deriving it from unicodedata at import would cost every CLI call tens of milliseconds;
# tests/unit/test_inert.py checks the list against unicodedata.
_INVISIBLE_CLASS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f\U000e0100-\U000e01ef"
)

_CONTROL = re.compile(f"[{_CONTROL_CLASS}]")
_SHOWN = re.compile(f"[{_CONTROL_CLASS}{_INVISIBLE_CLASS}]")
_SHOWN_ONE_LINE = re.compile(f"[\t\n{_CONTROL_CLASS}{_INVISIBLE_CLASS}]")

# Select Graphic Rendition (colour, bold, …), 7-bit and 8-bit introducer: the only escape
# sequences removed from third-party text, since they only style it.
_SGR = re.compile("(?:\x1b\\[|\x9b)[0-9;:]*m")

# Every escape sequence, for clean(): control strings (OSC, DCS, SOS, PM, APC) up to their
# terminator, CSI sequences, then two-character escapes. A control string stops at the
# next ESC, so an unterminated one costs one scan, not one per character.
_SEQUENCE = re.compile(
    "(?:\x1b[]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\\\|\x9c)"
    "|(?:\x1b\\[|\x9b)[0-?]*[ -/]*[@-~]"
    "|\x1b[ -/]*[0-~]"
)

_C0_NAMES = (
    *("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT"),
    *("FF", "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB"),
    *("CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"),
)
_C1_NAMES = (
    *("PAD", "HOP", "BPH", "NBH", "IND", "NEL", "SSA", "ESA", "HTS", "HTJ", "VTS", "PLD"),
    *("PLU", "RI", "SS2", "SS3", "DCS", "PU1", "PU2", "STS", "CCH", "MW", "SPA", "EPA"),
    *("SOS", "SGCI", "SCI", "CSI", "ST", "OSC", "PM", "APC"),
)


def _shown(match: re.Match[str]) -> str:
    """The visible form of one character (see the module docstring)."""
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def inert(text: str, *, one_line: bool = False) -> str:
    """Third-party ``text`` safe to show or forward: styling removed, controls visible.

    With ``one_line`` (titles, names, table cells) newline and tab are made visible too.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if "\x1b" in text or "\x9b" in text:
        text = _SGR.sub("", text)
    pattern = _SHOWN_ONE_LINE if one_line else _SHOWN
    if pattern.search(text) is None:
        return text
    return pattern.sub(_shown, text)


def inert_json(text: str) -> str:
    """JSON ``text`` with every character :func:`inert` would change written as ``\\uXXXX``.

    The same data for a JSON reader, but nothing in the bytes acts on a terminal that
    shows them (``json.dumps`` escapes C0 controls, not DEL, C1 or bidi overrides).
    """
    if _SHOWN.search(text) is None:
        return text
    return _SHOWN.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def inert_data(value: T) -> T:
    """``value`` (JSON-like: dicts, lists, strings) with every string made :func:`inert`.

    The same object comes back when nothing needed changing, so callers comparing
    old and new values see no change.
    """
    if isinstance(value, str):
        return inert(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        items = {key: inert_data(item) for key, item in value.items()}
        changed = any(items[key] is not item for key, item in value.items())
        return items if changed else value  # type: ignore[return-value]
    if isinstance(value, list):
        listed = [inert_data(item) for item in value]
        changed = any(new is not old for new, old in zip(listed, value, strict=True))
        return listed if changed else value  # type: ignore[return-value]
    return value


def inert_pr(pr: SessionPR) -> SessionPR:
    """``pr`` with every text in it made :func:`inert` (the host's URL, problem and
    blockers, reviewers' threads); the same object when nothing needed changing."""
    data = pr.to_json()
    shown = inert_data(data)
    return pr if shown is data else SessionPR.from_json(shown)


def inert_waiting(waiting: WaitingFor | None) -> WaitingFor | None:
    """``waiting`` with its kind, tool and command made :func:`inert`; the same object
    when nothing needed changing."""
    if waiting is None:
        return None
    shown = WaitingFor(inert(waiting.kind), inert(waiting.tool), inert(waiting.command))
    return waiting if shown == waiting else shown


def inert_session(session: Session) -> Session:
    """``session`` as a front end shows it: title, reasons, details and PR facts inert.

    Titles stored before titles were neutralised, and whatever an agent's hooks or a
    code host put in the activity and PR, come back from the store as they were written.
    The same object comes back when nothing needed changing.
    """
    activity = session.activity
    detail = inert(activity.detail)
    waiting_for = inert_waiting(activity.waiting_for)
    if detail is not activity.detail or waiting_for is not activity.waiting_for:
        activity = replace(activity, detail=detail, waiting_for=waiting_for)
    title = inert(session.title, one_line=True)
    reason = inert(session.lifecycle_reason)
    pr = None if session.pr is None else inert_pr(session.pr)
    if (
        activity is session.activity
        and title is session.title
        and reason is session.lifecycle_reason
        and pr is session.pr
    ):
        return session
    return replace(session, title=title, lifecycle_reason=reason, activity=activity, pr=pr)


@dataclass(frozen=True)
class ControlChar:
    """The first control character in operator text, and where it is."""

    char: str
    line: int
    """1-based."""
    column: int
    """1-based, in characters."""
    offset: int
    """0-based byte offset in the text's UTF-8 encoding."""
    count: int
    """How many control characters the text holds in all."""
    crlf: bool = False
    """A CR directly followed by LF: a Windows line ending."""

    def describe(self) -> str:
        """``control character 0x1b (ESC)``, ``invalid UTF-8 byte 0xff``, …"""
        code = ord(self.char)
        if 0xD800 <= code <= 0xDFFF:
            return self.code()
        return f"control character {self.code()}"

    def code(self) -> str:
        """``0x1b (ESC)``, ``U+009B (CSI)``, ``invalid UTF-8 byte 0xff``, …"""
        code = ord(self.char)
        if 0xDC80 <= code <= 0xDCFF:
            return f"invalid UTF-8 byte 0x{code - 0xDC00:02x}"
        if 0xD800 <= code <= 0xDFFF:
            return f"lone surrogate U+{code:04X} (not text)"
        if code < 0x20:
            return (
                f"0x{code:02x} ({_C0_NAMES[code]}{', a Windows line ending' if self.crlf else ''})"
            )
        if code == 0x7F:
            return "0x7f (DEL)"
        return f"U+{code:04X} ({_C1_NAMES[code - 0x80]})"

    def where(self) -> str:
        """``line 3, column 7 (byte offset 41)``."""
        return f"line {self.line}, column {self.column} (byte offset {self.offset})"


def find_control(text: str) -> ControlChar | None:
    """The first character operator text may not hold (see the module docstring), or None."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    index = found.start()
    line_start = text.rfind("\n", 0, index) + 1
    return ControlChar(
        char=found.group(),
        line=text.count("\n", 0, index) + 1,
        column=index - line_start + 1,
        # Everything before the first control character is valid text, so it encodes.
        offset=len(text[:index].encode("utf-8")),
        count=len(_CONTROL.findall(text)),
        crlf=text.startswith("\r\n", index),
    )


def refusal(text: str, what: str, remedy: str = "") -> str | None:
    """The one-line reason operator ``text`` is refused, or None when it may be sent.

    ``what`` names the text (``message``, ``prompt``); ``remedy`` completes "remove it
    or …", e.g. ``pass --clean to send the cleaned text``.
    """
    found = find_control(text)
    if found is None:
        return None
    alternative = f" or {remedy}" if remedy else ""
    if found.count == 1:
        return f"{what} has {found.describe()} at {found.where()}; remove it{alternative}"
    return (
        f"{what} has {found.count} control characters; the first, {found.code()}, is at "
        f"{found.where()}; remove them{alternative}"
    )


def clean(text: str) -> str:
    """Operator ``text`` without escape sequences and control characters (``--clean``).

    Whole escape sequences go (pasted coloured output becomes its plain text), CRLF and
    lone CR become LF, undecodable bytes become U+FFFD, other controls are dropped.
    Newline and tab stay. Text :func:`find_control` accepts comes back unchanged.
    """
    if _CONTROL.search(text) is None:
        return text
    text = _SEQUENCE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub("[\ud800-\udfff]", "\ufffd", text)
    return _CONTROL.sub("", text)
