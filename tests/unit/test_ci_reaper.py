"""Finding and ending a CI run's processes: by marker, by ancestry, never failing on /proc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.ci_reaper import MARKER_ENV, descendants, end_run, marked, new_marker

SLEEP = [sys.executable, "-c", "import time; time.sleep(300)"]


def test_markers_are_unique_per_run() -> None:
    assert new_marker(3) != new_marker(3)
    assert new_marker(3).startswith("3-")


def test_a_marked_process_that_left_the_group_is_found_and_ended() -> None:
    marker = new_marker(1)
    escaped = subprocess.Popen(
        SLEEP, env={**os.environ, MARKER_ENV: marker}, start_new_session=True
    )
    bystander = subprocess.Popen(SLEEP, env={**os.environ, MARKER_ENV: new_marker(1)})
    try:
        assert marked(marker) == [escaped.pid]
        assert end_run(marker, grace=2.0) == [escaped.pid]
        assert escaped.wait(timeout=10) == -15
        assert bystander.poll() is None  # another run's process is none of ours
    finally:
        for proc in (escaped, bystander):
            proc.kill()
            proc.wait()


def test_a_process_ignoring_sigterm_is_killed_after_the_grace() -> None:
    marker = new_marker(2)
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(300)",
        ],
        env={**os.environ, MARKER_ENV: marker},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"ready\n"
        end_run(marker, grace=0.5)
        assert stubborn.wait(timeout=10) == -9
    finally:
        stubborn.kill()
        stubborn.wait()


def test_descendants_follow_the_parent_links() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
            "print(c.pid, flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert set(descendants(parent.pid)) == {child}
        assert parent.pid in descendants(os.getpid())
    finally:
        os.kill(child, 9)
        parent.kill()
        parent.wait()


def test_unreadable_and_vanishing_processes_never_make_the_scan_fail(tmp_path: Path) -> None:
    # A stand-in /proc: nothing real can produce every odd entry at once (and these tests
    # run as root, who can read every real process), so the odd cases are built as files.
    marker = new_marker(4)
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "self").mkdir()  # not a pid
    (proc / "1").mkdir()  # environ missing: the process just exited
    (proc / "2").mkdir()
    (proc / "2" / "environ").mkdir()  # unreadable as a file
    (proc / "3").mkdir()
    (proc / "3" / "environ").symlink_to(proc / "nowhere")
    (proc / "3" / "stat").write_text("garbage without parentheses")
    (proc / "4").mkdir()
    (proc / "4" / "stat").write_bytes(b"4 (odd) name)) S \xff")
    gone = 4_194_304 + 17  # above the kernel's pid limit: no such process
    (proc / str(gone)).mkdir()
    (proc / str(gone) / "environ").write_bytes(f"A=1\0{MARKER_ENV}={marker}\0".encode())
    (proc / str(gone) / "stat").write_text(f"{gone} (sleep) S 1 1 1")
    assert marked(marker, proc=proc) == [gone]
    assert descendants(1, proc=proc) == [gone]
    assert end_run(marker, root=1, proc=proc, grace=0.1, deadline=1.0) == []
    assert marked(marker, proc=tmp_path / "no-proc-here") == []
