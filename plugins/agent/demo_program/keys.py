"""The keyboard: raw terminal bytes decoded into keys, pastes and control keys."""

from __future__ import annotations

from dataclasses import dataclass

# -- keyboard ----------------------------------------------------------------------------------

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
_CONTROL_KEYS = {
    "\r": "enter",
    "\n": "enter",
    "\x03": "interrupt",
    "\x7f": "backspace",
    "\x08": "backspace",
}


@dataclass(frozen=True)
class Key:
    """One thing the operator did: ``text``, ``paste``, ``enter``, ``escape``,
    ``backspace`` or ``interrupt`` (Ctrl-C)."""

    kind: str
    text: str = ""


class KeyDecoder:
    """Turns terminal input into keys; a bracketed paste arrives as one key, however split."""

    def __init__(self) -> None:
        """Start with nothing pending."""
        self._pending = ""
        self._paste: list[str] | None = None

    def feed(self, data: str) -> list[Key]:
        """The keys completed by ``data``; an unfinished sequence waits for the next call."""
        self._pending += data
        keys: list[Key] = []
        while self._pending:
            if self._paste is not None:
                if not self._take_paste(keys):
                    break
            elif self._pending[0] == "\x1b":
                if not self._take_escape(keys):
                    break
            else:
                char, self._pending = self._pending[0], self._pending[1:]
                if char in _CONTROL_KEYS:
                    keys.append(Key(_CONTROL_KEYS[char]))
                elif char.isprintable():
                    _add_text(keys, char)
        return keys

    def holds_escape(self) -> bool:
        """Whether input ended on a lone ESC: the Escape key, or the start of a sequence."""
        return self._paste is None and self._pending == "\x1b"

    def flush(self) -> list[Key]:
        """Input went quiet: a lone ESC was the Escape key; a broken sequence is dropped."""
        if self._paste is not None:
            return []
        pending, self._pending = self._pending, ""
        return [Key("escape")] if pending == "\x1b" else []

    def _take_paste(self, keys: list[Key]) -> bool:
        """Collect pasted text up to the end marker; False while the marker is missing."""
        assert self._paste is not None
        end = self._pending.find(PASTE_END)
        if end < 0:
            # Keep a tail that may be the start of a marker split across reads.
            keep = len(PASTE_END) - 1
            self._paste.append(self._pending[:-keep])
            self._pending = self._pending[-keep:]
            return False
        self._paste.append(self._pending[:end])
        keys.append(Key("paste", "".join(self._paste)))
        self._paste = None
        self._pending = self._pending[end + len(PASTE_END) :]
        return True

    def _take_escape(self, keys: list[Key]) -> bool:
        """Decode an escape sequence; False when more input is needed to decide."""
        if len(self._pending) < 2:
            return False
        if self._pending[1] not in "[O":
            keys.append(Key("escape"))
            self._pending = self._pending[1:]
            return True
        for index in range(2, len(self._pending)):
            if "\x40" <= self._pending[index] <= "\x7e":
                sequence = self._pending[: index + 1]
                self._pending = self._pending[index + 1 :]
                if sequence == PASTE_START:
                    self._paste = []
                return True  # arrows, focus events and the like do nothing here
        if len(self._pending) > 32:
            self._pending = self._pending[1:]  # not a sequence after all: drop the ESC
            return True
        return False


def _add_text(keys: list[Key], text: str) -> None:
    """Append typed text, merged with the text key before it."""
    if keys and keys[-1].kind == "text":
        keys[-1] = Key("text", keys[-1].text + text)
    else:
        keys.append(Key("text", text))
