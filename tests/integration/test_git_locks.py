"""Telling a stale git lock from a held one, with real processes and real git."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.file_lock import hold, is_held
from core.slots import WorktreeBusyError
from plugins import git_locks
from tests.conftest import run_git

HOLD_OPEN = (
    "import sys, time\nf = open(sys.argv[1], 'a')\nprint('open', flush=True)\ntime.sleep(60)"
)


def aged(lock: Path, age: float = 60.0) -> Path:
    lock.write_text("")
    os.utime(lock, (time.time() - age, time.time() - age))
    return lock


def test_any_process_with_the_lock_open_holds_it(tmp_path: Path) -> None:
    lock = aged(tmp_path / "index.lock")
    other = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None and other.stdout.readline() == "open\n"
        [holder] = git_locks.holders(lock, []) or []
        assert holder.pid == other.pid
        with pytest.raises(WorktreeBusyError, match=f"pid {other.pid}: "):
            git_locks.settle(lock, [], wait=0.3)
        assert lock.exists()
    finally:
        other.kill()
        other.wait()
    assert git_locks.holders(lock, []) == []
    note = git_locks.settle(lock, [])
    assert note is not None and note.startswith(f"removed the stale git lock {lock} (60s old")
    assert not lock.exists()


def test_a_git_process_working_in_the_place_holds_it_other_programs_do_not(
    git_repo: Path,
) -> None:
    lock = aged(git_repo / ".git" / "HEAD.lock")
    # A program that only sits in the directory (a shell, an editor) holds no git lock.
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=git_repo)
    git = subprocess.Popen(["git", "update-index", "--stdin"], cwd=git_repo, stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not (git_repo / ".git" / "index.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        found = git_locks.holders(lock, [git_repo]) or []
        assert [h.pid for h in found] == [git.pid]
        assert found[0].describe() == f"pid {git.pid}: git update-index --stdin"
        assert git_locks.holders(lock, [git_repo / "elsewhere"]) == []
    finally:
        for proc in (idle, git):
            proc.kill()
            proc.wait()


def test_a_young_lock_without_a_holder_gets_a_few_seconds_first(tmp_path: Path) -> None:
    lock = tmp_path / "index.lock"
    lock.write_text("")
    started = time.monotonic()
    assert git_locks.settle(lock, [tmp_path]) is not None
    assert time.monotonic() - started >= git_locks.STALE_AGE - 0.1
    assert git_locks.settle(lock, [tmp_path]) is None  # nothing left to settle


def test_the_lock_git_reports_is_read_from_its_error(git_repo: Path) -> None:
    (git_repo / "new.txt").write_text("x\n")
    lock = aged(git_repo / ".git" / "index.lock")
    proc = subprocess.run(
        ["git", "add", "new.txt"], cwd=git_repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert git_locks.reported_lock(proc.stderr) == lock
    assert git_locks.reported_lock("fatal: something else") is None
    run_git(git_repo, "status")  # reading never needs the lock


def test_file_lock_times_out_naming_the_holder_and_frees_on_exit(tmp_path: Path) -> None:
    path = tmp_path / "some.lock"
    with hold(path, timeout=1, on_timeout=RuntimeError):
        assert is_held(path)
        with (
            pytest.raises(RuntimeError, match=str(os.getpid())),
            hold(path, timeout=0.2, on_timeout=lambda pid: RuntimeError(f"held by {pid}")),
        ):
            pass
    assert not is_held(path)
    assert not is_held(tmp_path / "missing.lock")


def test_file_lock_where_no_lock_file_can_be_made_does_not_stop_the_work(tmp_path: Path) -> None:
    """A state dir that cannot take a lock file must not turn every kill into a traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ran = False
    with hold(blocker / "sub" / "kill.lock", timeout=1, on_timeout=RuntimeError):
        ran = True
    assert ran
