"""The sweep of merge scratch temp dirs that lost their registration (or never had one):
a dir whose owner lock named a merge goes as soon as that merge is gone; a dir with no
name in it yet may be a merge starting, and goes only after the grace."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from core.file_lock import hold
from plugins import scratch_worktrees
from plugins.scratch_worktrees import OWNER, PREFIX


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _scratch(root: Path, name: str, owner: str | None, age: float = 0.0) -> Path:
    scratch = root / f"{PREFIX}{name}"
    scratch.mkdir()
    if owner is not None:
        (scratch / OWNER).write_text(owner)
    then = time.time() - age
    os.utime(scratch, (then, then))
    return scratch


def test_a_dead_merge_goes_at_once_and_a_starting_one_waits_out_the_grace(
    temp_root: Path,
) -> None:
    grace = scratch_worktrees._UNREGISTERED_GRACE
    dead = _scratch(temp_root, "dead", "4194304")  # its merge held it and is gone
    starting = _scratch(temp_root, "starting", "")  # made its lock file, not locked yet
    bare = _scratch(temp_root, "bare", None)  # killed between making the dir and the lock
    old_bare = _scratch(temp_root, "oldbare", None, age=grace + 5)
    old_empty = _scratch(temp_root, "oldempty", "", age=grace + 5)
    running = _scratch(temp_root, "running", None)
    other = temp_root / "not-ours"
    other.mkdir()
    with hold(running / OWNER, timeout=0, on_timeout=lambda pid: RuntimeError(pid)):
        os.utime(running, (time.time() - grace - 5,) * 2)
        scratch_worktrees._sweep_temp_dirs()
        assert running.exists()
    assert not dead.exists()
    assert starting.exists() and bare.exists()
    assert not old_bare.exists() and not old_empty.exists()
    assert other.exists()
