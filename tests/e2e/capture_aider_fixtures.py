"""Capture golden fixtures from the real Aider CLI, driven offline by the stand-in.

Run by hand from the repository root (about two minutes, most of it Aider starting and
retrying an HTTP 500)::

    AO_TUI_AIDER_BIN=~/.cache/ao-tui/aider-venv/bin/aider \\
        .venv/bin/python -m tests.e2e.capture_aider_fixtures [--out tests/fixtures/aider-0.86.2]

One Aider runs under the plugin's typeahead relay (as a session does) in tmux on a private
socket, in a git repo under ``--root`` (wiped first), with the environment of
``aider_harness.aider_env``. Each scenario step saves the pane as ``<step>.pane.txt``, and
at the end the chat history is saved as ``chat.history.md``, with ``steps.json`` naming
which history line each pane was taken at. Nothing is sanitised (the stand-in's port and
the temp paths appear as they were).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from plugins.agent.aider.plugin import HISTORY_FILE, TYPEAHEAD
from tests.e2e.aider_harness import AIDER_VERSION, aider_env, find_aider_binary
from tests.e2e.openai_chat_standin import OpenAIChatStandin

SOCKET = "ao-aider-capture"
SESSION = "aider"


def _tmux(*args: str) -> str:
    done = subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False, timeout=10
    )
    return done.stdout


def _pane() -> str:
    return _tmux("capture-pane", "-p", "-t", SESSION)


def _wait(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out; pane:\n{_pane()}")


def _last_line() -> str:
    lines = [line.strip() for line in _pane().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _type(text: str) -> None:
    path = Path("/tmp/ao-aider-capture-input.txt")
    path.write_text(text)
    _tmux("load-buffer", str(path))
    _tmux("paste-buffer", "-p", "-t", SESSION)
    time.sleep(0.3)
    _tmux("send-keys", "-t", SESSION, "Enter")


def capture(binary: Path, out: Path, root: Path) -> None:
    """Drive one Aider through every state, saving panes and the history."""
    shutil.rmtree(root, ignore_errors=True)
    repo = root / "repo"
    repo.mkdir(parents=True)
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.name", "capture"],
        ["config", "user.email", "capture@example.invalid"],
        ["commit", "-q", "--allow-empty", "-m", "initial"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True)
    out.mkdir(parents=True, exist_ok=True)
    history = repo / HISTORY_FILE
    steps: list[dict[str, object]] = []

    def snap(step: str) -> None:
        (out / f"{step}.pane.txt").write_text(_pane())
        lines = len(history.read_text().splitlines()) if history.exists() else 0
        steps.append({"step": step, "history_lines": lines, "at": time.time()})

    with OpenAIChatStandin() as standin:
        env = aider_env(root / "home", standin.base_url)
        argv = [
            str(binary),
            "--chat-history-file",
            str(history),
            "--no-gitignore",
            "--no-check-update",
            "--no-show-release-notes",
        ]
        task = "WRITE_FILE hello.txt hi from aider"
        command = [sys.executable, str(TYPEAHEAD), task, "--", *argv]
        _tmux("kill-server")
        pairs = [f"{k}={v}" for k, v in env.items()]
        _tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-c", str(repo),
              "env", *pairs, *command)  # fmt: skip
        _wait(lambda: "(Y)es/(N)o" in _last_line())
        snap("01-waiting-create-file")
        _tmux("send-keys", "-t", SESSION, "y", "Enter")
        _wait(lambda: _last_line().endswith(">"))
        snap("02-idle-after-turn")
        _type("STALL 6")
        _wait(lambda: "Waiting for" in _last_line(), timeout=30)
        snap("03-generating")
        _wait(lambda: _last_line().endswith(">"), timeout=30)
        _type("SLOW 12")
        _wait(lambda: "Slow reply" in _pane(), timeout=30)
        snap("04-streaming")
        _tmux("send-keys", "-t", SESSION, "C-c")
        _wait(lambda: _last_line().endswith(">"))
        snap("05-interrupted")
        _type("FAIL400 please")
        _wait(lambda: "BadRequestError" in _pane() and _last_line().endswith(">"))
        snap("06-api-error")
        _type("FAIL500 please")
        _wait(lambda: "Retrying in 1.0 seconds" in _pane(), timeout=60)
        snap("07-retrying")
        _tmux("send-keys", "-t", SESSION, "C-c")
        _wait(lambda: _last_line().endswith(">"))
        _tmux("send-keys", "-t", SESSION, "C-c")
        time.sleep(0.5)
        _tmux("send-keys", "-t", SESSION, "C-c")
        _wait(lambda: SESSION not in _tmux("list-sessions"), timeout=20)
        steps.append({"step": "08-exited", "history_lines": len(history.read_text().splitlines())})
    _tmux("kill-server")
    shutil.copyfile(history, out / "chat.history.md")
    (out / "steps.json").write_text(json.dumps(steps, indent=2) + "\n")


def main() -> int:
    """Parse the options, check the binary's version, capture."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(f"tests/fixtures/aider-{AIDER_VERSION}"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/ao-aider-capture"))
    options = parser.parse_args()
    binary = find_aider_binary()
    if binary is None:
        print("no aider binary: set AO_TUI_AIDER_BIN", file=sys.stderr)
        return 2
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout
    if version.strip() != f"aider {AIDER_VERSION}":
        print(f"expected aider {AIDER_VERSION}, found {version.strip()}", file=sys.stderr)
        return 2
    os.environ.pop("TMUX", None)
    capture(binary, options.out, options.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
