"""Capture golden fixtures from the real Gemini CLI, driven offline by the Gemini stand-in.

Run by hand from the repository root (about a minute)::

    python -m tests.e2e.capture_gemini_fixtures [--out tests/fixtures/gemini-0.61.0]

Each scenario runs the real CLI as the plugin starts it (``--session-id`` and
``--prompt-interactive=``, or ``--resume``, with the plugin's launch environment and its hooks
installed in the repo's ``.gemini/settings.json``) in tmux on a private socket (120x40), in
a git repo under ``--root`` (default ``/tmp/ao-gemini-capture``, wiped first, so paths inside
the artifacts are the same on every run), with a private HOME. At each key moment a snapshot
saves the pane, the hook log and the transcript as they are then, as
``<scenario>/<step>.pane.txt``, ``<step>.hooks.jsonl`` and ``<step>.transcript.jsonl``.
Nothing is sanitised. The tmux plumbing is the Codex capture's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from core.slots import AgentContext
from plugins.agent.gemini import GeminiAgent
from plugins.agent.gemini.hooks import install_hooks
from plugins.agent.gemini.paths import find_transcript
from tests.e2e.capture_codex_fixtures import _GIT, Capture, wait
from tests.e2e.gemini_harness import (
    GEMINI_VERSION,
    find_gemini_binary,
    gemini_env,
    write_gemini_home,
)
from tests.e2e.gemini_standin import GeminiStandin

SESSION = "6a1e0c2b-3f4d-4e5a-8b6c-7d8e9f0a1b2c"
"""The session id of the main scenarios (ao-tui chooses one per session)."""
HIGH_DEMAND = {"general": {"maxAttempts": 1}, "ui": {"errorVerbosity": "full"}}
"""Settings under which a failing 500 stops retrying and asks (the default retries on)."""


class GeminiCapture(Capture):
    """One capture run: the stand-in, a private tmux server, a private HOME."""

    def __init__(
        self, binary: Path, root: Path, out: Path, standin: GeminiStandin, home: str = "home"
    ) -> None:
        self.binary, self.root, self.out = binary, root, out
        self.socket = f"ao-gemini-capture-{uuid.uuid4().hex[:6]}"
        extra = HIGH_DEMAND if home != "home" else None
        self.home = write_gemini_home(root / home, standin.base_url, extra=extra)
        self.env = gemini_env(standin.base_url, self.home)
        self.log = root / f"{home}-hooks.jsonl"

    def gemini_repo(self, scenario: str) -> Path:
        """A fresh git repo for ``scenario`` with the plugin's hooks installed."""
        repo = self.root / scenario / "repo"
        repo.mkdir(parents=True)
        for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "i"]):
            subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **_GIT})
        install_hooks(repo, self.log)
        return repo

    def launch(self, name: str, repo: Path, argv: list[str], env: dict[str, str]) -> None:
        """``argv`` (the plugin's plan, the binary in front) in session ``name``, no shell."""
        merged = {**self.env, **env}
        env_args = [item for key, value in merged.items() for item in ("-e", f"{key}={value}")]
        self.tmux(
            "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(repo),
            *env_args, "--", str(self.binary), *argv[1:],
            ";", "set-option", "-t", name, "remain-on-exit", "on",
        )  # fmt: skip

    def hooks(self) -> str:
        """The hook log so far."""
        return self.log.read_text() if self.log.exists() else ""

    def shot(self, scenario: str, step: str, name: str, session: str = SESSION) -> None:
        """Save the pane, the hook log and the transcript as they are now."""
        folder = self.out / scenario
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{step}.pane.txt").write_text(self.pane(name))
        (folder / f"{step}.hooks.jsonl").write_text(self.hooks())
        transcript = find_transcript(self.home / ".gemini" / "tmp", session)
        if transcript is not None:
            shutil.copyfile(transcript, folder / f"{step}.transcript.jsonl")
        print(f"  {scenario}/{step}")


def _ctx(repo: Path, cap: GeminiCapture, prompt: str, session: str = SESSION) -> AgentContext:
    return AgentContext(
        session_id="cap",
        agent_session_id=session,
        worktree=repo,
        state_dir=cap.root / "state",
        prompt=prompt,
        env={"HOME": str(cap.home)},
    )


def run(cap: GeminiCapture) -> None:
    """The main scenarios, in one session."""
    agent = GeminiAgent()
    repo = cap.gemini_repo("01-approval")
    plan = agent.launch(_ctx(repo, cap, "RUN_SHELL touch probe.txt"))
    cap.launch("a", repo, plan.argv, plan.env)
    wait(lambda: "Allow once" in cap.pane("a"), "the approval box")
    cap.shot("01-approval", "01-waiting", "a")
    cap.tmux("send-keys", "-t", "a", "Enter")
    wait(lambda: cap.hooks().count('"AfterAgent"') == 1, "the turn's end")
    cap.shot("01-approval", "02-idle", "a")

    cap.type("a", "SLOW 20")
    wait(lambda: "esc to cancel" in cap.pane("a"), "the slow turn")
    cap.shot("02-interrupt", "01-working", "a")
    cap.tmux("send-keys", "-t", "a", "Escape")
    wait(lambda: "Request cancelled." in cap.pane("a"), "the interrupt")
    cap.shot("02-interrupt", "02-interrupted", "a")

    cap.type("a", "FAIL400")
    wait(lambda: "API Error" in cap.pane("a"), "the failed turn")
    cap.shot("03-api-error", "01-error", "a")

    cap.type("a", "WRITE_FILE notes.txt hello from the test")
    wait(lambda: "Apply this change?" in cap.pane("a"), "the edit approval")
    cap.shot("04-edit", "01-waiting", "a")
    cap.tmux("send-keys", "-t", "a", "Escape")
    wait(lambda: cap.pane("a").count("Request cancelled.") == 2, "the declined edit")
    cap.shot("04-edit", "02-declined", "a")

    cap.type("a", "/quit")
    wait(lambda: cap.tmux("display", "-p", "-t", "a", "#{pane_dead}").strip() == "1", "exit")
    cap.shot("05-resume", "01-exited", "a")
    plan = agent.resume(_ctx(repo, cap, ""))
    cap.launch("b", repo, plan.argv, plan.env)
    wait(lambda: cap.hooks().count('"SessionStart"') == 2, "the resumed start")
    wait(lambda: "Type your message" in cap.pane("b"), "the resumed input box")
    cap.shot("05-resume", "02-resumed", "b")


def run_high_demand(cap: GeminiCapture) -> None:
    """A 500 that does not stop, under one try and full error verbosity: the dialog."""
    session = str(uuid.UUID(int=1))
    repo = cap.gemini_repo("06-high-demand")
    plan = GeminiAgent().launch(_ctx(repo, cap, "FAIL500", session))
    cap.launch("c", repo, plan.argv, plan.env)
    wait(lambda: "Keep trying" in cap.pane("c"), "the high-demand dialog", timeout=60)
    cap.shot("06-high-demand", "01-asks", "c", session)
    cap.tmux("send-keys", "-t", "c", "2")
    wait(lambda: "API Error" in cap.pane("c"), "the stopped turn")
    cap.shot("06-high-demand", "02-stopped", "c", session)


def main() -> None:
    """Parse the options and run every scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = Path(f"tests/fixtures/gemini-{GEMINI_VERSION}")
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--root", type=Path, default=Path("/tmp/ao-gemini-capture"))
    options = parser.parse_args()
    binary = find_gemini_binary()
    if binary is None:
        raise SystemExit("no Gemini CLI (see tests/e2e/gemini_harness.py)")
    shutil.rmtree(options.root, ignore_errors=True)
    options.root.mkdir(parents=True)
    with GeminiStandin() as standin:
        for home, scenarios in (("home", run), ("home-high-demand", run_high_demand)):
            cap = GeminiCapture(binary, options.root, options.out, standin, home)
            try:
                scenarios(cap)
            finally:
                cap.tmux("kill-server")


if __name__ == "__main__":
    main()
