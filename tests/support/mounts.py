"""Real read-only and full file systems for tests: a tiny tmpfs, a read-only bind mount.

A full disk and a read-only folder are made for real (the kernel answers ENOSPC and EROFS
to every write, to SQLite as to Python), not simulated: ``mount`` needs root (or
CAP_SYS_ADMIN), which the test container has; elsewhere these tests skip, saying why.
Each mount is undone when its ``with`` block ends.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount here ({proc.stderr.strip()}): needs root or CAP_SYS_ADMIN")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextmanager
def tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` (created), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


def remount_read_only(path: Path) -> None:
    """Make the tmpfs at ``path`` read-only from now on."""
    _mount("-o", "remount,ro", str(path))


@contextmanager
def read_only_view(source: Path, target: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``target`` (a bind mount), unmounted afterwards."""
    target.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(target))
    try:
        _mount("-o", "remount,bind,ro", str(target))
        yield target
    finally:
        _umount(target)


def fill(directory: Path) -> None:
    """Write to ``directory`` until its file system has no byte left."""
    chunk = b"\0" * 4096
    with (directory / "filler").open("wb", buffering=0) as handle:
        while True:
            try:
                handle.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
