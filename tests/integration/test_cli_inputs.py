"""What the operator hands the CLI: message and task files read byte for byte, bad bytes
refused with their offset, and a session id that is empty.

Real processes, a real git repository and the recorder shell agent in real tmux, so what
arrives is what the agent's terminal received.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ao_tui.cli import read_text_file
from tests.support.engine import ao, recorder_command, wait_for, write_config


@pytest.fixture
def project(tmp_path: Path, git_repo: Path) -> Path:
    """A repo with an ao.config.yaml for the recorder shell agent; the cwd for ao-tui."""
    write_config(git_repo, git_repo, command=recorder_command(tmp_path / "rec.bin"))
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


class _Named(io.BytesIO):
    """Bytes with a file name, as click hands over an opened ``--file``."""

    name = "msg.txt"


def test_text_files_are_read_byte_for_byte() -> None:
    raw = "line one\r\nline two\rline three\n  trailing  \nnaïve ✓".encode()
    # CR and CRLF are the operator's bytes: not turned into LF on the way.
    assert read_text_file(_Named(raw), "--file").encode() == raw


def test_a_message_file_arrives_exactly(project: Path, tmp_path: Path) -> None:
    assert ao(project, "spawn", "--prompt", "record what arrives").returncode == 0
    wait_for(lambda: (tmp_path / "rec.bin").exists())
    message = "first line\n  indented second line\ttab\nnaïve — ✓ 日本語".encode()
    (tmp_path / "msg.txt").write_bytes(message)
    sent = ao(project, "send", "app-1", "--file", str(tmp_path / "msg.txt"), "--json")
    assert sent.returncode == 0, sent.stderr
    got = wait_for(lambda: (tmp_path / "rec.bin").read_bytes() or None)
    assert message in got


@pytest.mark.parametrize(
    ("verb", "option"),
    [(["send", "app-1"], "--file"), (["spawn"], "--prompt-file")],
)
def test_a_file_that_is_not_utf8_is_exit_2_naming_the_byte(
    project: Path, tmp_path: Path, verb: list[str], option: str
) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café au lait".encode("latin-1"))
    result = ao(project, *verb, option, str(path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert f"{option} {path}: not valid UTF-8 at byte 3 (0xe9); save it as UTF-8" in result.stderr


def test_stdin_that_is_not_utf8_is_named_stdin(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ao_tui", "spawn", "--prompt-file", "-"],
        cwd=project,
        input=b"ok \xff\xfe",
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 2
    assert b"--prompt-file stdin: not valid UTF-8 at byte 3 (0xff)" in proc.stderr


def test_an_endless_file_is_refused_not_read_forever(project: Path) -> None:
    result = ao(project, "send", "app-1", "--file", "/dev/zero", timeout=30)
    assert result.returncode == 2
    assert "--file /dev/zero: larger than 1,000,000 bytes" in result.stderr


def test_status_of_an_empty_id_is_no_such_session(project: Path) -> None:
    assert ao(project, "spawn", "--prompt", "one session").returncode == 0
    for args in (["status", ""], ["status", "", "--json"]):
        result = ao(project, *args)
        assert result.returncode == 3, (args, result.stdout)
        assert result.stdout == "" and "no session ''" in result.stderr
    every = ao(project, "status", "--json")
    assert [s["id"] for s in json.loads(every.stdout)] == ["app-1"]
