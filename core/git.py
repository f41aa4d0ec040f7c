"""The one way plugins run git: argv only, no prompts, bounded in time, errors as SlotError."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from core.slots import SlotError

GIT_TIMEOUT = 120.0
"""Seconds before a git call counts as hung (big checkouts can take a while)."""

# Variables that would point git at another repository than the one we name with ``-C``
# (set, for instance, when ao-tui runs from inside a git hook).
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


def run_git(
    cwd: Path, *args: str, check: bool = True, config: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C cwd [config] args``; raise :class:`SlotError` naming the call on failure."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    # A credential or editor prompt would hang a background call forever.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"
    try:
        proc = subprocess.run(
            ["git", "-C", str(cwd), *config, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SlotError("git is not installed: no `git` on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise SlotError(f"git {args[0]} in {cwd} took over {GIT_TIMEOUT:.0f}s") from exc
    if check and proc.returncode != 0:
        raise SlotError(f"git {args[0]} in {cwd} failed: {git_error(proc)}")
    return proc


def git_error(proc: subprocess.CompletedProcess[str]) -> str:
    """git's error output as one line of text."""
    return " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
