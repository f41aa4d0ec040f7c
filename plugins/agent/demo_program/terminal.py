"""The terminal the demo agent draws on: raw mode, size, reading keys with a timeout."""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import termios
import time
import tty
from collections.abc import Sequence
from typing import Any

from plugins.agent.demo_program.keys import Key, KeyDecoder
from plugins.agent.demo_program.scenario import ESCAPE_WAIT
from plugins.agent.demo_program.screen import style

# -- the terminal ------------------------------------------------------------------------------


class Terminal:
    """The pane: raw keyboard input with bracketed paste, and whole-screen redraws."""

    def __init__(self, fd_in: int = 0, fd_out: int = 1) -> None:
        """Use file descriptors ``fd_in`` and ``fd_out`` (a tty, or anything for tests)."""
        self._in = fd_in
        self._out = fd_out
        self._saved: list[Any] | None = None
        self._decoder = KeyDecoder()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self.input_closed = False
        self.output_gone = False

    def __enter__(self) -> Terminal:
        """Raw mode, bracketed paste on (``ESC[?2004h``), cursor hidden, screen cleared."""
        if os.isatty(self._in):
            with contextlib.suppress(termios.error):
                self._saved = termios.tcgetattr(self._in)
                tty.setraw(self._in)
        self.write("\x1b[?2004h\x1b[?25l\x1b[2J")
        return self

    def __exit__(self, *exc: object) -> None:
        """Give the terminal back as it was."""
        self.write("\x1b[?2004l\x1b[?25h\r\n")
        if self._saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._in, termios.TCSADRAIN, self._saved)

    def size(self) -> tuple[int, int]:
        """Columns and lines; 80x24 when not a terminal."""
        try:
            size = os.get_terminal_size(self._out)
        except OSError:
            return 80, 24
        return size.columns, size.lines

    def draw(self, lines: Sequence[str]) -> None:
        """Repaint the whole screen from the top."""
        rows = "\r\n".join(style(line) + "\x1b[K" for line in lines)
        self.write("\x1b[H" + rows + "\x1b[J")

    def write(self, text: str) -> None:
        """Write to the pane; once the pane is gone (killed), writes are dropped."""
        if self.output_gone:
            return
        data = text.encode("utf-8", errors="replace")
        try:
            while data:
                data = data[os.write(self._out, data) :]
        except OSError:
            self.output_gone = True

    def read_keys(self, timeout: float) -> list[Key]:
        """The keys pressed within ``timeout`` seconds (returns early when some arrive)."""
        if self.input_closed:
            time.sleep(timeout)
            return []
        try:
            ready, _, _ = select.select([self._in], [], [], max(0.0, timeout))
            if not ready:
                return self._decoder.flush()
            data = os.read(self._in, 4096)
        except (OSError, ValueError):
            data = b""
        if not data:
            self.input_closed = True
            return self._decoder.flush()
        keys = self._decoder.feed(self._utf8.decode(data))
        if self._decoder.holds_escape():
            ready, _, _ = select.select([self._in], [], [], ESCAPE_WAIT)
            if not ready:
                keys += self._decoder.flush()
        return keys
