"""Run the CLI so file permissions mean what they say, also when the tests run as root.

Root reads and writes whatever the mode bits say, through its capabilities
``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH``; a read-only or unreadable file is only
that without them. ``setpriv`` drops both from the bounding set for one command, so it runs
as root with the mode bits applied. (Dropping to ``nobody`` instead needed the checkout and
its venv to be world-readable, which a clone in a ``mktemp -d`` folder is not.) The files
the tests make live in a temp dir anyone may enter (:func:`shared_dir`), as before.
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

WITHOUT_OVERRIDE = ["--bounding-set=-dac_override,-dac_read_search"]


def need_unprivileged() -> list[str]:
    """The prefix that runs a command with the mode bits applied ([] when not root); skip
    if impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    return [setpriv, *WITHOUT_OVERRIDE]


@contextmanager
def shared_dir() -> Iterator[Path]:
    """A temp dir anyone may enter, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="ao-perm-", dir="/tmp"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ao_unprivileged(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m ao_tui ARGS`` with the mode bits applied (never raises on a failure)."""
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
