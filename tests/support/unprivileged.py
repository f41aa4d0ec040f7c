"""Run the CLI as an ordinary user, so file permissions mean what they say.

The tests run as root in the container, and root reads and writes whatever the mode bits
say; a read-only or unreadable file is only that for an ordinary user. ``setpriv`` drops to
``nobody`` for one command (the venv and the repository are world-readable). The files the
command must reach live in a world-traversable temp dir (:func:`shared_dir`), since pytest's
own tmp dirs are private to root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def need_unprivileged() -> list[str]:
    """The prefix that runs a command as ``nobody`` ([] when not root); skip if impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, *NOBODY]


@contextmanager
def shared_dir() -> Iterator[Path]:
    """A temp dir anyone may enter, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ao-perm-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ao_as_nobody(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m ao_tui ARGS`` as an ordinary user (never raises on a failure)."""
    prefix = need_unprivileged()
    return subprocess.run(
        [*prefix, sys.executable, "-m", "ao_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
