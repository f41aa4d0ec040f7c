"""A stand-in "agent" for tests: puts its terminal in raw mode and records every byte.

Raw mode matters: in the terminal's cooked mode the line discipline would cap a line at
4 KiB and act on control characters, so we could not prove text arrives byte-for-byte.

With ``--bracketed`` it first asks for bracketed paste (``ESC [ ? 2004 h``), as Claude Code
does, so tmux wraps every paste in ``ESC [ 200 ~`` … ``ESC [ 201 ~`` and the recording shows
exactly where each paste starts and ends.
"""

from __future__ import annotations

import os
import sys
import termios
import tty
from pathlib import Path

BRACKETED_PASTE_ON = b"\x1b[?2004h"


def main() -> None:
    """Record stdin to the file named by the last argument until EOF."""
    args = sys.argv[1:]
    bracketed = "--bracketed" in args
    out = args[-1]
    fd = sys.stdin.fileno()
    if os.isatty(fd):
        tty.setraw(fd, termios.TCSANOW)
    if bracketed:
        os.write(sys.stdout.fileno(), BRACKETED_PASTE_ON)
    # tmux handles pane output in order: once this line shows, the mode above is in force.
    print("recorder ready", flush=True)
    with Path(out).open("ab", buffering=0) as sink:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            sink.write(chunk)


if __name__ == "__main__":
    main()
