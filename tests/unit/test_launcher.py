"""The launcher's side of the hand-over: bounded waits, clear errors, nothing left."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.launcher import PlanError, hand_over, main, make_pipe, receive


def test_a_plan_goes_through_the_pipe_and_the_pipe_is_removed(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "s")
    writer = threading.Thread(
        target=hand_over, args=(pipe, ["true", "x"], {"A": "1"}, tmp_path), daemon=True
    )
    writer.start()
    plan = receive(pipe, timeout=10)
    writer.join(10)
    assert plan == {"argv": ["true", "x"], "env": {"A": "1"}, "cwd": str(tmp_path)}
    assert not pipe.exists()


def test_the_engine_gives_up_when_no_launcher_comes(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "s")
    with pytest.raises(PlanError, match="did not start within 0s"):
        hand_over(pipe, ["true"], {}, tmp_path, timeout=0.2)


def test_the_launcher_gives_up_when_no_plan_comes(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "s")
    with pytest.raises(PlanError, match="no launch plan arrived within 0s"):
        receive(pipe, timeout=0.3)
    assert not pipe.exists()


def test_an_incomplete_plan_is_refused(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "s")

    def write_half() -> None:
        fd = os.open(pipe, os.O_WRONLY)
        os.write(fd, b'{"argv": ["tr')
        os.close(fd)

    threading.Thread(target=write_half, daemon=True).start()
    with pytest.raises(PlanError, match="incomplete"):
        receive(pipe, timeout=10)


def test_the_launcher_says_why_in_the_pane_and_exits_127(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "core.launcher", str(tmp_path / "missing.fifo")],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 127
    assert proc.stderr.startswith("ao-tui launcher: cannot read")
    assert main(["a", "b"]) == 2


def test_the_engine_stops_waiting_when_the_launcher_is_gone(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "s")
    started = time.monotonic()
    with pytest.raises(PlanError, match="ended before its launcher took the plan"):
        hand_over(pipe, ["true"], {}, tmp_path, timeout=20, launcher_gone=lambda: True)
    assert time.monotonic() - started < 5
