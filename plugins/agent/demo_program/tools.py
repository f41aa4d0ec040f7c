"""The tools the demo agent runs in its worktree: git commits and the sample project's tests."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.git import run_git
from core.slots import SlotError
from plugins.agent.demo_program.scenario import GIT_IDENTITY


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call produced: what the screen shows and what the transcript records."""

    shown: str
    content: str
    is_error: bool = False
    response: dict[str, Any] = field(default_factory=dict)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in ``root`` with the demo agent's identity; the caller reads the exit status."""
    return run_git(args, cwd=root, check=False, config=GIT_IDENTITY)


def commit(root: Path, paths: Sequence[str], message: str) -> ToolOutcome:
    """Stage ``paths`` and commit them; the ``[branch sha] message`` line git would print."""
    try:
        for args in (("add", "--", *paths), ("commit", "--quiet", "--no-verify", "-m", message)):
            done = _git(root, *args)
            if done.returncode != 0:
                error = (done.stderr or done.stdout).strip() or f"exit status {done.returncode}"
                return ToolOutcome(f"Error: {error}", error, is_error=True)
        sha = _git(root, "log", "-1", "--format=%h").stdout.strip()
        branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    except SlotError as exc:  # git missing or hung
        return ToolOutcome(f"Error: {exc}", str(exc), is_error=True)
    line = f"[{branch} {sha}] {message}"
    return ToolOutcome(line, line, response={"stdout": line, "stderr": "", "interrupted": False})


_TEST_SUMMARY = ("FAIL:", "ERROR:", "Ran ", "OK", "FAILED", "NO TESTS")


def run_tests(root: Path) -> ToolOutcome:
    """Run ``python -m unittest -q`` for real; the summary lines, an error if it failed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep __pycache__ out of the worktree
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "unittest", "-q"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return ToolOutcome(f"Error: {exc}", str(exc), is_error=True)
    output = (proc.stdout + proc.stderr).strip()
    summary = [line for line in output.splitlines() if line.startswith(_TEST_SUMMARY)]
    shown = "\n".join(summary[-4:]) or (output.splitlines() or ["(No output)"])[-1]
    response = {"stdout": proc.stdout[-4000:], "stderr": proc.stderr[-4000:], "interrupted": False}
    return ToolOutcome(shown, output[-4000:], is_error=proc.returncode != 0, response=response)


def diff_counts(old: str, new: str) -> tuple[list[str], list[str]]:
    """The lines added and removed between two texts."""
    added: list[str] = []
    removed: list[str] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
        elif line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
    return added, removed


def _plural(count: int, word: str) -> str:
    """``1 addition`` / ``2 additions``."""
    return f"{count} {word}" + ("" if count == 1 else "s")
