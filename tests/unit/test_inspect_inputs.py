"""``inspect transcript`` on things that are not transcript files: one line, never a hang.

A FIFO would block the read forever, a device or a directory has no lines to give, an
unreadable file cannot be read: each, as the transcript or as ``--hooks``/``--status``/
``--pane``, gives one stderr line naming it and exit 2.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.unprivileged import ao_unprivileged, shared_dir

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "transcripts"
BASELINE = GOOD / "depth-at-limit.jsonl"


def _inspect(*args: str) -> subprocess.CompletedProcess[str]:
    # A subprocess with a timeout: a FIFO that blocked the read would hang the test run.
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "inspect", "transcript", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe nobody writes to."""
    path = tmp_path / "transcript.jsonl"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    _one_line_error(_inspect(str(fifo)), f"{fifo}: is a FIFO, not a regular file")


@pytest.mark.parametrize("option", ["--hooks", "--status", "--pane"])
def test_a_fifo_as_any_optional_file_is_refused(fifo: Path, option: str) -> None:
    _one_line_error(_inspect(str(BASELINE), option, str(fifo)), "is a FIFO")


def test_dev_null_is_refused() -> None:
    _one_line_error(_inspect("/dev/null"), "/dev/null: is a character device")


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    try:
        _one_line_error(_inspect(str(BASELINE), "--pane", str(path)), "is a socket")
    finally:
        server.close()


def test_a_directory_is_refused(tmp_path: Path) -> None:
    result = _inspect(str(BASELINE), "--status", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_an_unreadable_transcript_is_refused() -> None:
    with shared_dir() as shared:
        path = shared / "transcript.jsonl"
        path.write_bytes(BASELINE.read_bytes())
        path.chmod(0o000)
        result = ao_unprivileged(shared, "inspect", "transcript", str(path))
        _one_line_error(result, f"{path}: cannot read the transcript: Permission denied")
