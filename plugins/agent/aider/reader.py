"""Tolerant reader of Aider's ``.aider.chat.history.md``.

The file is Markdown appended by Aider: ``# aider chat started at <local time>`` opens a
run, ``#### `` lines are the operator's input, ``> `` lines are tool output and answered
confirmations, and anything else is the model's reply. The reply is written only when
the model finishes, so the file cannot show generation in progress: input with no reply
after it means "working", and the pane has the last word. Lines carry no timestamps; the
caller passes the file's mtime as the time of the newest entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.activity.received import UserPrompt
from core.activity.retries import retrying_detail
from core.models import ActivitySignal, ActivityState, SignalSource

SESSION_HEADER = "# aider chat started at "
BLANK_INPUT = "<blank>"
"""What Aider records for an empty input (Enter alone), which it otherwise ignores."""
_ERROR = re.compile(
    r"litellm\.\w*Error|\b(?:APIError|APIConnectionError|RateLimitError|AuthenticationError"
    r"|ServiceUnavailableError|BadRequestError|Timeout)\b"
)
_EXIT = re.compile(r"\^C KeyboardInterrupt|^EOF$")
_INTERRUPT = re.compile(r"\^C again to exit")
_RETRY = re.compile(r"^Retrying in \d+(?:\.\d+)? seconds")


@dataclass
class AiderState:
    """What the chat history says so far."""

    lines: int = 0
    sessions: int = 0
    session_started_at: float | None = None
    last_kind: str = ""
    """session, input, output, reply, interrupt, retrying, exit or error: the newest
    non-blank block."""
    last_input: str = ""
    last_output: str = ""
    error: str = ""
    prompts: list[UserPrompt] = field(default_factory=list)
    run_inputs: int = 0
    """Inputs since the newest ``# aider chat started`` (the running process's)."""
    retries: int = 0
    """``Retrying in …`` lines since the newest input (API errors Aider retries itself)."""
    interrupted: bool = False
    """The newest input's turn was cut short with ^C."""
    _input_open: bool = False

    def fold_lines(self, lines: Iterable[str]) -> None:
        """Fold history lines in file order."""
        for line in lines:
            self.fold(line)

    def fold(self, line: str) -> None:
        """Fold one line; never raises."""
        text = line.rstrip("\n").rstrip()
        if not text:
            self._input_open = False
            return
        self.lines += 1
        if text.startswith(SESSION_HEADER):
            self.sessions += 1
            self.session_started_at = _local_time(text[len(SESSION_HEADER) :])
            self.last_kind = "session"
            self.error = ""
            self.run_inputs = 0
            self._input_open = False
            return
        if text.startswith("####"):
            body = text[4:].strip()
            if body == BLANK_INPUT and not self._input_open:
                return  # Enter on an empty prompt: Aider only draws the prompt again
            if self._input_open and self.prompts:
                # A multi-line input continues on the next ``####`` line.
                merged = f"{self.prompts[-1].text}\n{body}"
                self.prompts[-1] = UserPrompt(text=merged, at=None)
            else:
                self.prompts.append(UserPrompt(text=body, at=None))
                del self.prompts[:-20]
                self.run_inputs += 1
                self.retries = 0
                self.interrupted = False
                self.error = ""
            self._input_open = True
            self.last_input = self.prompts[-1].text
            self.last_kind = "input"
            return
        self._input_open = False
        if text.startswith(">"):
            body = text[1:].strip()
            if not body:
                return
            self.last_output = body
            if _EXIT.search(body):
                self.last_kind = "exit"
            elif _INTERRUPT.search(body):
                self.last_kind = "interrupt"
                self.interrupted = True
            elif _RETRY.search(body):
                self.retries += 1
                self.last_kind = "retrying"
            elif _ERROR.search(body):
                self.error = body[:200]
                self.last_kind = "error"
            elif not self.error:
                self.last_kind = "output"
            # else: the lines Aider prints after an API error (advice, a URL) keep "error"
            return
        self.last_kind = "reply"

    def signal(self, at: float | None) -> ActivitySignal | None:
        """The activity the history suggests, stamped ``at`` (the file's mtime)."""
        if at is None or not self.last_kind:
            return None
        source = SignalSource.TRANSCRIPT
        if self.last_kind == "input":
            return ActivitySignal(ActivityState.WORKING, source, at, "waiting for the model")
        if self.last_kind == "error":
            return ActivitySignal(ActivityState.ERROR, source, at, self.error)
        if self.last_kind == "exit":
            return ActivitySignal(ActivityState.EXITED, source, at, "aider exited (^C)")
        if self.last_kind == "retrying":
            detail = retrying_detail(self.retries, None, self.error)
            return ActivitySignal(ActivityState.RETRYING, source, at, detail)
        if self.last_kind == "interrupt" or self.interrupted:
            return ActivitySignal(ActivityState.IDLE, source, at, "interrupted")
        return ActivitySignal(ActivityState.IDLE, source, at, "reply finished")

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for ``inspect``."""
        last = self.prompts[-1] if self.prompts else None
        return {
            "format": "aider",
            "lines": self.lines,
            "sessions": self.sessions,
            "session_started_at": self.session_started_at,
            "last_kind": self.last_kind,
            "last_output": self.last_output,
            "error": self.error,
            "last_prompt": {"text": last.text, "at": last.at} if last else None,
            "prompts": len(self.prompts),
        }


def _local_time(text: str) -> float | None:
    """``2025-10-20 21:49:17`` (Aider writes local time) as epoch seconds."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").timestamp()
    except ValueError:
        return None


def read_history(lines: Iterable[str]) -> AiderState:
    """Fold a whole history into a fresh state."""
    state = AiderState()
    state.fold_lines(lines)
    return state
