"""Run Aider in a pseudo-terminal and give it the session's task as its first input.

Usage: ``python typeahead.py TASK -- AIDER [ARGS...]`` (run by path, standard library only,
so it works whatever Python path the pane has).

Aider takes no "first prompt" that keeps it interactive: ``--message`` answers one message
and exits. So this relay sits between the pane's terminal and Aider, copies everything
both ways unchanged (keys, window size, the exit status), and once Aider shows its input
prompt for the first time (``>`` on the last line, the output quiet for a moment, and not a
``(Y)es/(N)o`` question) it enters the task as one bracketed paste and Enter, exactly as an
operator pasting it would. The task is never seen by a shell and is typed only once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import signal
import sys
import termios
import time
import tty
from types import FrameType

QUIET = 0.4
"""Seconds without output after the prompt appeared before the task is entered."""
ENTER_DELAY = 0.3
"""Seconds between the paste and Enter (prompt_toolkit must finish taking the paste)."""
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b."
)
_PROMPT = re.compile(r"(?:^|[\r\n])[\w-]*> ")
_PASTE_ON = b"\x1b[?2004h"


def _visible(raw: bytes) -> str:
    """The text in terminal output, escape sequences dropped."""
    return _ANSI.sub("", raw.decode("utf-8", errors="replace"))


def at_prompt(raw: bytes) -> bool:
    """Whether the output so far ends on Aider's input prompt (not on a question).

    prompt_toolkit turns bracketed paste on as it draws a prompt, then moves the cursor
    around: so the prompt is looked for in what came after the newest switch-on, and a
    ``(Y)es/(N)o`` question there (or on the line just before it) means "not yet".
    """
    start = raw.rfind(_PASTE_ON)
    if start < 0:
        return False
    drawn = _visible(raw[start:])
    before = _visible(raw[max(0, start - 400) : start]).rstrip().rsplit("\n", 1)[-1]
    if "(Y)es/(N)o" in drawn or "(Y)es/(N)o" in before:
        return False
    return _PROMPT.search(drawn) is not None


def _copy_size(fd: int) -> None:
    """Give the child's terminal the size of ours."""
    try:
        size = fcntl.ioctl(sys.stdin.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]


def relay(task: str, argv: list[str]) -> int:
    """Run ``argv`` on a new pseudo-terminal, relay it, type ``task``; its exit status."""
    pid, master = os.forkpty()
    if pid == 0:  # the child: become Aider
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write(f"cannot run {argv[0]}: {exc.strerror}\n")
        os._exit(127)
    _copy_size(master)

    def resized(signum: int, frame: FrameType | None) -> None:
        _copy_size(master)

    signal.signal(signal.SIGWINCH, resized)
    stdin = sys.stdin.fileno()
    saved = None
    if os.isatty(stdin):
        saved = termios.tcgetattr(stdin)
        tty.setraw(stdin)
    pending = task.encode("utf-8")
    seen = b""
    bracketed = False
    last_output = time.monotonic()
    reading_stdin = True
    try:
        while True:
            watched = [master] + ([stdin] if reading_stdin else [])
            try:
                ready, _, _ = select.select(watched, [], [], 0.1)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    break  # Aider closed its terminal: it has exited
                _write_all(sys.stdout.fileno(), data)
                if pending:
                    seen = (seen + data)[-8192:]
                    bracketed = bracketed or _PASTE_ON in data
                    last_output = time.monotonic()
            if stdin in ready:
                data = os.read(stdin, 65536)
                if data:
                    _write_all(master, data)
                else:
                    reading_stdin = False
            if pending and time.monotonic() - last_output >= QUIET and at_prompt(seen):
                text = pending if bracketed else b" ".join(pending.split(b"\n"))
                if bracketed:
                    text = b"\x1b[200~" + text + b"\x1b[201~"
                _write_all(master, text)
                time.sleep(ENTER_DELAY)
                _write_all(master, b"\r")
                pending = b""
    finally:
        if saved is not None:
            termios.tcsetattr(stdin, termios.TCSAFLUSH, saved)
        os.close(master)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def main(args: list[str]) -> int:
    """``TASK -- ARGV...``: relay ``ARGV`` and type ``TASK`` at its first prompt."""
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: typeahead.py TASK -- COMMAND [ARGS...]\n")
        return 2
    return relay(args[0], args[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
