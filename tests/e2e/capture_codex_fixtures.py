"""Capture golden fixtures from the real Codex CLI, driven offline by the Responses stand-in.

Run by hand from the repository root (about a minute)::

    python -m tests.e2e.capture_codex_fixtures [--out tests/fixtures/codex-0.171.0]

Each scenario runs the real binary (``codex --no-daemon``, as the plugin starts it) in tmux on
a private socket (120x40), in its own git repo under ``--root`` (default
``/tmp/ao-codex-capture``, wiped first, so paths inside the artifacts are the same on every
run), with one shared private ``CODEX_HOME``. At each key moment a snapshot saves the pane
(``capture-pane -p``) and the rollout as they are then, as ``<scenario>/<step>.pane.txt``
and ``<step>.rollout.jsonl``. Nothing is sanitised.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from plugins.agent.codex.paths import rollouts_of, trust_folder
from tests.e2e.codex_harness import CODEX_VERSION, codex_env, find_codex_binary, write_codex_home
from tests.e2e.responses_standin import ResponsesStandin


class Capture:
    """One capture run: the stand-in, a private tmux server, the shared CODEX_HOME."""

    def __init__(self, binary: Path, root: Path, out: Path, standin: ResponsesStandin) -> None:
        self.binary, self.root, self.out = binary, root, out
        self.socket = f"ao-codex-capture-{uuid.uuid4().hex[:6]}"
        self.codex_home = write_codex_home(root / "codex-home", standin.base_url)
        self.env = codex_env(root / "home", self.codex_home)

    def tmux(self, *args: str) -> str:
        """One tmux command on the private server."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )
        return done.stdout

    def repo(self, scenario: str, *, trusted: bool = True) -> Path:
        """A fresh git repo for ``scenario``, trusted in Codex's config unless told not."""
        repo = self.root / scenario / "repo"
        repo.mkdir(parents=True)
        for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "i"]):
            subprocess.run(["git", *args], cwd=repo, check=True, env={**os.environ, **_GIT})
        if trusted:
            trust_folder(self.codex_home, repo)
        return repo

    def start(self, name: str, repo: Path, *args: str) -> None:
        """``codex --no-daemon ARGS`` in session ``name`` (no shell), kept when it exits."""
        env_args = [item for key, value in self.env.items() for item in ("-e", f"{key}={value}")]
        self.tmux(
            "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(repo),
            *env_args, "--", str(self.binary), "--no-daemon", *args,
            ";", "set-option", "-t", name, "remain-on-exit", "on",
        )  # fmt: skip

    def type(self, name: str, text: str) -> None:
        """Paste ``text`` as one bracketed paste, then Enter."""
        buffer = self.root / "paste.txt"
        buffer.write_text(text)
        self.tmux("load-buffer", "-b", "ao", str(buffer))
        self.tmux("paste-buffer", "-p", "-d", "-b", "ao", "-t", name)
        time.sleep(0.4)
        self.tmux("send-keys", "-t", name, "Enter")

    def pane(self, name: str) -> str:
        """The visible screen."""
        return self.tmux("capture-pane", "-p", "-t", name)

    def rollout(self, repo: Path) -> Path | None:
        """The newest rollout of ``repo``."""
        heads = rollouts_of(self.codex_home, repo)
        return heads[0].path if heads else None

    def snapshot(self, scenario: str, step: str, name: str, repo: Path) -> None:
        """Save the pane and the rollout as they are now."""
        folder = self.out / scenario
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{step}.pane.txt").write_text(self.pane(name))
        rollout = self.rollout(repo)
        if rollout is not None:
            shutil.copyfile(rollout, folder / f"{step}.rollout.jsonl")
        print(f"  {scenario}/{step}")


_GIT = {
    "GIT_AUTHOR_NAME": "ao capture",
    "GIT_AUTHOR_EMAIL": "ao@capture.invalid",
    "GIT_COMMITTER_NAME": "ao capture",
    "GIT_COMMITTER_EMAIL": "ao@capture.invalid",
}


def wait(probe: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Poll ``probe`` until truthy, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def events(cap: Capture, repo: Path) -> list[str]:
    """The ``event_msg`` types of the repo's rollout, in order."""
    path = cap.rollout(repo)
    if path is None:
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("type") == "event_msg":
            found.append(str(entry["payload"].get("type")))
    return found


def run(cap: Capture) -> None:
    """Every scenario, in order."""
    repo = cap.repo("01-approval")
    cap.start("a", repo, "RUN_SHELL touch probe.txt")
    wait(lambda: "Would you like to run" in cap.pane("a"), "the approval prompt")
    cap.snapshot("01-approval", "01-waiting", "a", repo)
    cap.tmux("send-keys", "-t", "a", "y")
    wait(lambda: "task_complete" in events(cap, repo), "the turn's end")
    time.sleep(0.5)
    cap.snapshot("01-approval", "02-idle", "a", repo)

    cap.type("a", "SLOW 20")
    wait(lambda: events(cap, repo).count("task_started") == 2, "the slow turn")
    time.sleep(2.0)
    cap.snapshot("02-interrupt", "01-working", "a", repo)
    cap.tmux("send-keys", "-t", "a", "Escape")
    wait(lambda: "turn_aborted" in events(cap, repo), "the interrupt")
    time.sleep(0.5)
    cap.snapshot("02-interrupt", "02-interrupted", "a", repo)

    cap.type("a", "FAIL500")
    wait(lambda: events(cap, repo).count("task_complete") == 2, "the failed turn")
    time.sleep(0.5)
    cap.snapshot("03-api-error", "01-error", "a", repo)

    cap.type("a", "/quit")
    wait(lambda: cap.tmux("display", "-p", "-t", "a", "#{pane_dead}").strip() == "1", "exit")
    cap.snapshot("04-resume", "01-exited", "a", repo)
    path = cap.rollout(repo)
    thread = path.name.removesuffix(".jsonl")[-36:] if path else ""
    cap.start("b", repo, "resume", thread)
    wait(lambda: "for shortcuts" in cap.pane("b"), "the resumed composer")
    time.sleep(1.0)
    cap.snapshot("04-resume", "02-resumed", "b", repo)
    cap.type("b", "after resume")
    wait(lambda: events(cap, repo).count("task_complete") == 3, "the resumed turn")
    time.sleep(0.5)
    cap.snapshot("04-resume", "03-idle", "b", repo)

    untrusted = cap.repo("05-trust", trusted=False)
    cap.start("c", untrusted, "say hello")
    wait(lambda: "Trust this folder?" in cap.pane("c"), "the trust question")
    cap.snapshot("05-trust", "01-asks", "c", untrusted)


def main() -> None:
    """Parse the options and run every scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(f"tests/fixtures/codex-{CODEX_VERSION}"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/ao-codex-capture"))
    options = parser.parse_args()
    binary = find_codex_binary()
    if binary is None:
        raise SystemExit("no Codex binary (see tests/e2e/codex_harness.py)")
    shutil.rmtree(options.root, ignore_errors=True)
    options.root.mkdir(parents=True)
    with ResponsesStandin() as standin:
        cap = Capture(binary, options.root, options.out, standin)
        try:
            run(cap)
        finally:
            cap.tmux("kill-server")


if __name__ == "__main__":
    main()
