"""The one way ao-tui runs git, in core and plugins alike: argv only, no prompts, bounded in time.

Every call names the repository it works on (``git -C``), ignores the ``GIT_DIR``-style
variables a git hook may have left in our environment, cannot stop on a credential or editor
prompt, and is killed after a timeout. Failures come back as :class:`GitError`, one line
naming the git command, the place and git's own message.
"""

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


class GitError(SlotError):
    """git failed, hung past its timeout, or is not installed; the message is one line."""


def run_git(
    args: Sequence[str],
    *,
    cwd: Path | None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
    config: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C cwd [config] args`` and return what it did.

    ``cwd`` None runs git outside any repository (``git --version``). ``config`` holds
    ``-c key=value`` pairs placed before the command. With ``check``, a non-zero exit raises
    :class:`GitError`; a timeout or a missing git always does.
    """
    where = ["-C", str(cwd)] if cwd is not None else []
    command = args[0] if args else "(no command)"
    place = f" in {cwd}" if cwd is not None else ""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    # A credential or editor prompt would hang a background call forever.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"
    try:
        proc = subprocess.run(
            ["git", *where, *config, *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed: no `git` on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        # subprocess.run killed git; a hook it started may run on, but no longer holds us.
        raise GitError(
            f"git {command}{place} took over {timeout:g}s and was stopped "
            "(a hook, filter or credential helper waiting?)"
        ) from exc
    if check and proc.returncode != 0:
        raise GitError(f"git {command}{place} failed: {git_error(proc)}")
    return proc


def git_error(proc: subprocess.CompletedProcess[str]) -> str:
    """git's error output as one line of text."""
    return " ".join((proc.stderr or proc.stdout).split()) or f"exit status {proc.returncode}"
