"""Whether a project's ``ci.command`` can start: ``sh`` is there, it parses the line, and
(best effort) the program the line starts with can be found.

The command is a shell line run as ``sh -c <command>`` in the session worktree
(:mod:`plugins.scm.local`), so the shell itself is asked whether it parses (``sh -n``,
which reads without running anything). Which program the line starts is a guess made
without running it (:func:`first_program`); a line that starts with a keyword (``if``,
``for``) or an expansion (``$TOOL``) is not guessed at. ``config check`` asks the first
two questions, ``doctor`` all three.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.inert import inert

SHELL = "sh"
"""The shell CI commands run with (POSIX ``sh``, as a CI system's ``run:`` step)."""

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_SKIPPED = frozenset({"exec", "command"})
"""Prefixes that run the word after them."""
_KEYWORDS = frozenset(
    {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac"}
    | {"{", "}", "!", "[[", "function", "select"}
)
"""Words after which the program depends on what the line computes: not guessed at."""
_BUILTINS = frozenset(
    {".", ":", "alias", "cd", "eval", "export", "readonly", "set", "shift", "source", "trap"}
    | {"ulimit", "umask", "unset", "true"}
)
"""Builtins that prepare the shell (``cd src && pytest``): the next command is looked at."""
_SEPARATOR_CHARS = frozenset(";&|()")
_EXPANSION = re.compile(r"[$`*?\[~]")
_PARSE_TIMEOUT = 10.0
_SHELL_PREFIX = re.compile(r"^\S*sh: (-c: )?(line )?(\d+: )?")


def shell_problem(command: str) -> str:
    """Why ``sh -c command`` cannot run (no ``sh``, or a line it cannot parse), or ""."""
    if "\0" in command:
        return "it holds a NUL character, which no shell line can"
    shell = shutil.which(SHELL)
    if shell is None:
        return f"`{SHELL}` is not on PATH, and the CI command runs with `{SHELL} -c`"
    try:
        proc = subprocess.run(
            [shell, "-n", "-c", command],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_PARSE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{SHELL} -n` could not check the line: {exc}"
    if proc.returncode == 0:
        return ""
    # What sh says may quote the user's line: one inert line of it.
    said = inert(" ".join(proc.stderr.split()), one_line=True)
    # dash says "/usr/bin/sh: 1: Syntax error: ...", bash "sh: -c: line 1: ...".
    said = _SHELL_PREFIX.sub("", said) or f"exit status {proc.returncode}"
    return f"{SHELL} cannot parse it: {said[:200]}"


def first_program(command: str) -> str | None:
    """The program ``command`` starts, as a shell would find it; None when it cannot be
    told without running the line (a keyword, an expansion, bad quoting).

    Assignments and ``exec``/``command`` in front are skipped, and so is a command that
    only prepares the shell (``cd src && pytest`` starts ``pytest``).
    """
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        words = list(lexer)
    except ValueError:
        return None
    at_start = True
    for word in words:
        if word and set(word) <= _SEPARATOR_CHARS:
            at_start = True  # `;`, `&&`, `||`, `|`, `(`: a new command begins
            continue
        if not at_start or _ASSIGNMENT.match(word) or word in _SKIPPED:
            continue
        if word in _KEYWORDS or _EXPANSION.search(word):
            return None
        if word in _BUILTINS:
            at_start = False
            continue
        return word
    return None


@dataclass(frozen=True)
class ProgramCheck:
    """What the best-effort look-up of a CI command's program found."""

    program: str | None
    """The word looked up (None: not guessed at; see :func:`first_program`)."""
    path: str = ""
    """Where it was found ("" when not found or not looked up)."""
    problem: str = ""
    """Why it cannot start ("" when found or not looked up)."""


def check_program(command: str, *, env: Mapping[str, str], cwd: Path) -> ProgramCheck:
    """Look up the program ``command`` starts as its run would: on the run's ``PATH``
    (``env``), or relative to ``cwd`` (the repository) for a path like ``./run-tests``."""
    program = first_program(command)
    if program is None:
        return ProgramCheck(None)
    if "/" in program:
        candidate = Path(program) if Path(program).is_absolute() else cwd / program
        if not candidate.is_file():
            return ProgramCheck(program, problem=f"{program!r} does not exist (in {cwd})")
        if not os.access(candidate, os.X_OK):
            return ProgramCheck(program, problem=f"{program!r} is not executable")
        return ProgramCheck(program, path=str(candidate))
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        return ProgramCheck(program, problem=f"{program!r} is not on the CI run's PATH")
    return ProgramCheck(program, path=found)
