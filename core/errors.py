"""Every error a front end must tell apart, in a module light enough for any CLI path.

:class:`AoError` is the one base of every ao-tui error: a front end that catches it has
caught everything ao-tui means to say, and its ``exit_code`` is the CLI's answer. The CLI
maps these to exit codes without importing the heavy modules that raise them
(pydantic-backed config, the engine), so `status --json` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_DUPLICATE = 4
EXIT_CONFIG = 5
EXIT_SEND_FAILED = 6
EXIT_STATE = 7


class AoError(Exception):
    """The base of every ao-tui error; the message is one line saying what to do."""

    exit_code = EXIT_FAILED
    """What the CLI exits with when this error ends a command."""


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One thing wrong with a config, located as precisely as the source allows."""

    file: str
    """The config file as the caller named it ("" when the problem is not in a file)."""
    line: int
    """1-based line, 0 when not known."""
    col: int
    """1-based column, 0 when not known."""
    field: str
    """Dotted path of the offending setting (``projects.app.agent``), "" for the file."""
    message: str
    """What is wrong and what is allowed, on one line."""

    def __str__(self) -> str:
        where = self.file
        if where and self.line:
            where = f"{where}:{self.line}:{self.col}"
        parts = [part for part in (where, self.field, self.message) if part]
        return ": ".join(parts)


class ConfigError(AoError):
    """The config cannot be used; ``problems`` lists every reason, one line each."""

    exit_code = EXIT_CONFIG

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    @classmethod
    def single(
        cls, message: str, *, file: str = "", line: int = 0, col: int = 0, field: str = ""
    ) -> ConfigError:
        """An error with exactly one problem."""
        return cls([ConfigProblem(file, line, col, field, message)])


class EngineError(AoError):
    """A request the engine refused; the message says why and what to do instead."""

    exit_code = EXIT_FAILED


class NotFoundError(EngineError):
    """No session with that id."""

    exit_code = EXIT_NOT_FOUND


class DuplicateTaskError(EngineError):
    """An active session already works on the same task."""

    exit_code = EXIT_DUPLICATE


class SessionCapError(EngineError):
    """The project's ``maxConcurrentSessions`` slots are all held; the message names who
    holds them. Exit 4, as the issue asks: like a duplicate, the answer is to finish or
    kill a session first (or raise the cap)."""

    exit_code = EXIT_DUPLICATE
