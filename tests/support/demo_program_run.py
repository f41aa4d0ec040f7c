"""Run the demo agent's program as a process, as a pane would, and read what it wrote.

It is the real program (``python -m plugins.agent.demo_program``) in a real directory; only
its terminal is a pipe and a file instead of a tmux pane, so a test can type into it (a
bracketed paste, as ao-tui sends) and read every screen it drew.

:func:`recorder_bin` makes the stand-in ``ao-tui`` some tests put on its PATH: a small
script that logs its argv and the command line of the process that started it, and prints
canned answers. It stands in for CLI verbs being built elsewhere (``escalate``,
``review``) and lets a test assert the exact calls; the real CLI is used where it exists.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.agent.claude_code.paths import transcript_path

PROGRAM = "plugins.agent.demo_program"

_RECORDER = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
try:
    with open("/proc/%d/cmdline" % os.getppid(), "rb") as handle:
        parent = handle.read().split(b"\\0")
except OSError:
    parent = []
record = {{
    "argv": args,
    "parent": [part.decode(errors="replace") for part in parent if part],
    "actor": os.environ.get("AO_TUI_ACTOR", ""),
}}
with open({log!r}, "a", encoding="utf-8") as handle:
    handle.write(json.dumps(record) + "\\n")
with open({canned!r}, encoding="utf-8") as handle:
    canned = json.load(handle)
answer = canned.get(" ".join(args)) or canned.get(args[0] if args else "", {{}})
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("code", 0))
"""


def recorder_bin(directory: Path, canned: Mapping[str, Any]) -> tuple[Path, Path]:
    """A directory holding the stand-in ``ao-tui``, and the log it appends to.

    ``canned`` maps the space-joined argv (else the verb alone) to ``{stdout, stderr,
    code}``; anything else prints nothing and exits 0.
    """
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True)
    log = directory / "ao-tui-calls.jsonl"
    canned_path = directory / "canned.json"
    canned_path.write_text(json.dumps(canned), encoding="utf-8")
    script = bin_dir / "ao-tui"
    text = _RECORDER.format(python=sys.executable, log=str(log), canned=str(canned_path))
    script.write_text(text, encoding="utf-8")
    script.chmod(0o755)
    return bin_dir, log


def recorded(log: Path) -> list[dict[str, Any]]:
    """The stand-in's calls so far, oldest first."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


class DemoProgram:
    """One demo agent process in ``cwd``, playing ``scenario``."""

    def __init__(
        self,
        cwd: Path,
        scenario: str,
        prompt: str,
        *,
        env: Mapping[str, str],
        config_dir: Path,
        speed: float = 50.0,
    ) -> None:
        """Start the program (its screen goes to ``cwd``'s sibling file ``screen.txt``)."""
        self.cwd = cwd
        self.session_uuid = str(uuid.uuid4())
        self.transcript = transcript_path(config_dir, cwd, self.session_uuid)
        self.screen_path = cwd.parent / f"screen-{self.session_uuid[:8]}.txt"
        argv = [sys.executable, "-m", PROGRAM, "--scenario", scenario, "--speed", str(speed)]
        argv += ["--session-id", self.session_uuid, "--", prompt]
        full_env = {**os.environ, **env, "CLAUDE_CONFIG_DIR": str(config_dir)}
        with self.screen_path.open("wb") as screen:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=full_env, stdin=subprocess.PIPE, stdout=screen
            )

    def records(self) -> list[dict[str, Any]]:
        """The transcript's lines so far."""
        if not self.transcript.exists():
            return []
        lines = self.transcript.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def turns_ended(self) -> int:
        """How many turns have ended (their ``turn_duration`` marker is written)."""
        return sum(1 for r in self.records() if r.get("subtype") == "turn_duration")

    def bash_commands(self) -> list[str]:
        """The ``command`` of every Bash tool call in the transcript."""
        commands: list[str] = []
        for record in self.records():
            content = record.get("message", {}).get("content")
            for block in content if isinstance(content, list) else []:
                if block.get("type") == "tool_use" and block.get("name") == "Bash":
                    commands.append(block["input"]["command"])
        return commands

    def last_words(self) -> str:
        """The text of the newest assistant message."""
        for record in reversed(self.records()):
            content = record.get("message", {}).get("content")
            if record.get("type") == "assistant" and isinstance(content, list):
                texts = [b.get("text", "") for b in content if b.get("type") == "text"]
                if texts:
                    return str(texts[-1])
        return ""

    def screen(self) -> str:
        """Everything drawn so far."""
        return self.screen_path.read_text(encoding="utf-8", errors="replace")

    def wait_turns(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` turns have ended."""
        deadline = time.monotonic() + timeout
        while self.turns_ended() < count:
            if self.proc.poll() is not None:
                raise AssertionError(f"the program exited ({self.proc.returncode})")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.turns_ended()} turns ended, waited for {count}")
            time.sleep(0.05)

    def send(self, text: str) -> None:
        """Paste ``text`` and press Enter, as ao-tui delivers a message."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"\x1b[200~" + text.encode() + b"\x1b[201~\r")
        self.proc.stdin.flush()

    def stop(self) -> int:
        """End it as a killed pane does (SIGHUP); its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
