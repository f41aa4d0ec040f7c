"""A stand-in "agent" for tests: puts its terminal in raw mode and records every byte.

Raw mode matters: in the terminal's cooked mode the line discipline would cap a line at
4 KiB and act on control characters, so we could not prove text arrives byte-for-byte.
"""

from __future__ import annotations

import os
import sys
import termios
import tty
from pathlib import Path


def main() -> None:
    """Record stdin to the file named by argv[1] until EOF."""
    out = sys.argv[1]
    fd = sys.stdin.fileno()
    if os.isatty(fd):
        tty.setraw(fd, termios.TCSANOW)
    print("recorder ready", flush=True)
    with Path(out).open("ab", buffering=0) as sink:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            sink.write(chunk)


if __name__ == "__main__":
    main()
