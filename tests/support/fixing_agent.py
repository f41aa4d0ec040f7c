"""A scripted shell "agent" for the reactions tests: records every byte it is sent and, told
that CI failed, fixes the code and commits, as a coding agent would.

``fixing_agent.py RECORDS MODE``. Like :mod:`tests.support.recorder_agent` it puts its
terminal in raw mode, asks for bracketed paste, and appends every byte it receives to
``RECORDS/<worktree name>.bin`` (its cwd is the session's worktree), so a test
can compare what arrived with what was sent, byte for byte. Each message (one paste, then
Enter) is also acted on, by MODE:

- ``fix``: a message saying CI failed makes it write ``pass`` to ``mode.txt`` (which the
  test's CI script reads) and commit: the next CI run is green.
- ``flail``: a message saying CI failed makes it commit a change that fixes nothing: a
  new head, still red.
- ``record``: it only records.
- ``mortal``: its first life exits (status 3) on a message saying ``exit now``; every
  later life (a restore runs the same command again) exits by itself after a second.

Between messages it shows a ``$`` prompt, so the shell agent's pane reading says idle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import termios
import time
import tty
from pathlib import Path

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
BRACKETED_PASTE_ON = b"\x1b[?2004h"


def git(*args: str) -> None:
    """Run git in the worktree (the pane's cwd) with a fixed identity."""
    subprocess.run(
        ["git", "-c", "user.name=fixing agent", "-c", "user.email=agent@test.invalid", *args],
        check=True,
        capture_output=True,
        timeout=30,
    )


def act(mode: str, message: str, turn: int) -> None:
    """Do what ``mode`` does with one message (the ``turn``-th)."""
    if "CI failed" not in message:
        return
    if mode == "fix":
        Path("mode.txt").write_text("pass\n")
        git("add", "mode.txt")
        git("commit", "-q", "-m", "fix the failing test")
    elif mode == "flail":
        with Path("attempts.txt").open("a") as fh:
            fh.write(f"attempt {turn}\n")
        git("add", "attempts.txt")
        git("commit", "-q", "-m", f"try {turn}: a change that fixes nothing")


def main() -> None:
    """Record stdin under argv[1] and act on each message by argv[2] until EOF."""
    out, mode = Path(sys.argv[1]) / f"{Path.cwd().name}.bin", sys.argv[2]
    lives = out.with_suffix(".lives")
    with lives.open("a") as fh:
        fh.write(f"{os.getpid()}\n")
    if mode == "mortal" and len(lives.read_text().split()) > 1:
        print("restored, but dying again", flush=True)
        time.sleep(1)
        sys.exit(3)
    fd = sys.stdin.fileno()
    if os.isatty(fd):
        tty.setraw(fd, termios.TCSANOW)
    os.write(sys.stdout.fileno(), BRACKETED_PASTE_ON + b"fixer ready\r\n$ ")
    pending = b""
    turn = 0
    with out.open("ab", buffering=0) as sink:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            sink.write(chunk)
            pending += chunk
            # A message is a whole paste followed by Enter (CR in raw mode).
            while PASTE_START in pending and PASTE_END + b"\r" in pending:
                start = pending.index(PASTE_START) + len(PASTE_START)
                end = pending.index(PASTE_END, start)
                message = pending[start:end].decode("utf-8", errors="replace")
                pending = pending[end + len(PASTE_END) + 1 :]
                turn += 1
                os.write(sys.stdout.fileno(), f"working on message {turn}\r\n".encode())
                if mode == "mortal" and "exit now" in message:
                    sys.exit(3)
                act(mode, message, turn)
                os.write(sys.stdout.fileno(), b"done\r\n$ ")


if __name__ == "__main__":
    main()
