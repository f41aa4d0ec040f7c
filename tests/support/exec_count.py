"""Counting the programs something starts: wrapper scripts first on PATH log each start.

The engine runs tmux, git and ps by name, so a wrapper of the same name earlier on PATH
sees every start: it appends its name to a log and execs the real program, which then runs
as it would have. Counting this way catches even the shortest process, which polling
``/proc`` would miss. Used by the idle-cost test and the idle-minute benchmark.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

COUNTED = ("tmux", "git", "ps")
"""The programs the engine starts while it watches a fleet."""


@dataclass(frozen=True)
class ExecLog:
    """The wrappers' folder and the log they append to, one program name a line."""

    path: Path
    """The log: one line per start, the program's name."""
    bindir: Path
    """The folder of wrapper scripts, to be put first on PATH."""

    def search_path(self, path: str) -> str:
        """``path`` (a PATH value) with the wrappers' folder first."""
        return f"{self.bindir}{os.pathsep}{path}"

    def starts(self) -> list[str]:
        """The name of every program started so far, oldest first."""
        return self.path.read_text(encoding="utf-8").splitlines()


def exec_wrappers(root: Path, names: Iterable[str] = COUNTED) -> ExecLog:
    """Write a logging wrapper for each of ``names`` found on PATH, under ``root``.

    A name not installed gets no wrapper (nothing could start it). The caller puts
    :meth:`ExecLog.search_path` into the environment the counted code runs in.
    """
    log = root / "execs.log"
    log.touch()
    bindir = root / "exec-wrappers"
    bindir.mkdir()
    for name in names:
        real = shutil.which(name)
        if real is None:
            continue
        wrapper = bindir / name
        wrapper.write_text(
            f"#!/bin/sh\necho {shlex.quote(name)} >> {shlex.quote(str(log))}\n"
            f'exec {shlex.quote(real)} "$@"\n'
        )
        wrapper.chmod(0o755)
    return ExecLog(path=log, bindir=bindir)
