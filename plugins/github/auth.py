"""Finding the GitHub token: ``GH_TOKEN``, ``GITHUB_TOKEN``, else ``gh auth token``.

The environment is read in the order the ``gh`` CLI itself uses. ``gh`` is optional: it is
asked only when it is on PATH, with a short timeout, and nothing it prints is quoted in an
error. The token lives only in memory, wrapped in :class:`Token` so that a stray ``repr`` or
f-string shows ``***``; it never reaches a log, an exception message, the database or a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from urllib.parse import urlsplit

from core.scm import ScmUnavailableError

GH_TIMEOUT = 5.0
"""Seconds ``gh auth token`` may take before we give up on it."""

NO_TOKEN_HELP = (
    "no GitHub token: set GITHUB_TOKEN or GH_TOKEN, or run `gh auth login`, "
    "or use `scm: local` for this project"
)

_PUBLIC_API_HOSTS = ("api.github.com", "github.com")


class Token:
    """A credential that never shows itself: ``str``/``repr`` print ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        """Wrap ``value`` (already stripped)."""
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the ``Authorization`` header and nothing else."""
        return self._value

    def __repr__(self) -> str:
        """Never the secret."""
        return "Token(***)"

    __str__ = __repr__


def find_token(
    api_url: str = "https://api.github.com",
    *,
    env: Mapping[str, str] | None = None,
    gh_timeout: float = GH_TIMEOUT,
) -> Token:
    """The token for ``api_url``'s host, or :class:`ScmUnavailableError` saying how to get one."""
    environ = os.environ if env is None else env
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        value = environ.get(name, "").strip()
        if value:
            return Token(value)
    gh = shutil.which("gh", path=environ.get("PATH"))
    if gh is None:
        raise ScmUnavailableError(NO_TOKEN_HELP)
    argv = [gh, "auth", "token"]
    host = (urlsplit(api_url).hostname or "").lower()
    if host and host not in _PUBLIC_API_HOSTS:
        argv += ["--hostname", host]  # GitHub Enterprise: gh keeps one login per host
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=gh_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ScmUnavailableError(
            f"{NO_TOKEN_HELP} (`gh auth token` did not answer within {gh_timeout:.0f}s)"
        ) from exc
    except OSError as exc:
        raise ScmUnavailableError(f"{NO_TOKEN_HELP} (cannot run gh: {exc.strerror})") from exc
    value = proc.stdout.strip()
    if proc.returncode != 0 or not value or any(c.isspace() for c in value):
        raise ScmUnavailableError(f"{NO_TOKEN_HELP} (`gh auth token` has no token)")
    return Token(value)
