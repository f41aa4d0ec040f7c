"""The exec-counting wrappers: every start by name is logged, and the real program runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.exec_count import exec_wrappers


def test_each_start_is_logged_and_the_real_program_answers(tmp_path: Path) -> None:
    root = tmp_path / "a folder's name"  # quoted in the scripts
    root.mkdir()
    execs = exec_wrappers(root)
    env = {**os.environ, "PATH": execs.search_path(os.environ["PATH"])}
    for args in (["git", "--version"], ["git", "--version"], ["ps", "-p", str(os.getpid())]):
        proc = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
        assert proc.stdout  # the real program ran, with its arguments
    version = subprocess.run(["git", "--version"], env=env, capture_output=True, text=True)
    assert version.stdout.startswith("git version")
    assert execs.starts() == ["git", "git", "ps", "git"]


def test_a_start_outside_the_wrapped_path_is_not_counted(tmp_path: Path) -> None:
    execs = exec_wrappers(tmp_path)
    subprocess.run(["git", "--version"], capture_output=True, check=True)
    assert execs.starts() == []


def test_a_program_not_installed_gets_no_wrapper(tmp_path: Path) -> None:
    execs = exec_wrappers(tmp_path, ["git", "no-such-program-ao"])
    assert sorted(p.name for p in execs.bindir.iterdir()) == ["git"]
