"""The text a verb passes on to an agent: argument or file, cleaned only when asked."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ao_tui.cli.text_input import clean_option, given_text, text_file_option

HOSTILE = "line one\x1b[31m red\r\nline two\x07\n"


def test_the_file_wins_over_the_argument_and_is_kept_byte_for_byte() -> None:
    handle = io.BytesIO(HOSTILE.encode())
    assert given_text("ignored", handle, "--file", clean_text=False) == HOSTILE


def test_with_clean_the_text_loses_its_control_characters() -> None:
    handle = io.BytesIO(HOSTILE.encode())
    assert given_text(None, handle, "--file", clean_text=True) == "line one red\nline two\n"
    assert given_text(HOSTILE, None, "--file", clean_text=True) == "line one red\nline two\n"


def test_nothing_given_is_none_for_the_verb_to_judge() -> None:
    assert given_text(None, None, "--file", clean_text=True) is None
    assert given_text("", None, "--file", clean_text=True) == ""


def test_a_file_that_is_not_utf8_is_a_usage_error_naming_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    handle = io.BytesIO(b"ok \xff")
    with pytest.raises(SystemExit) as exc:
        given_text(None, handle, "--prompt-file", clean_text=False)
    assert exc.value.code == 2
    assert "--prompt-file stdin: not valid UTF-8 at byte 3" in capsys.readouterr().err


def test_the_options_read_a_file_or_stdin_into_the_parameters_named(tmp_path: Path) -> None:
    @click.command()
    @text_file_option("--note-file", "note_file", "the note")
    @clean_option("Clean the note.")
    def verb(note_file: Any, clean_text: bool) -> None:
        click.echo(repr(given_text(None, note_file, "--note-file", clean_text=clean_text)))

    runner = CliRunner()
    cleaned = runner.invoke(verb, ["--note-file", "-", "--clean"], input=HOSTILE.encode())
    assert cleaned.output == repr("line one red\nline two\n") + "\n"
    note = tmp_path / "note.txt"
    note.write_bytes(b"as is\r\n")
    assert runner.invoke(verb, ["--note-file", str(note)]).output == repr("as is\r\n") + "\n"
    shown = " ".join(runner.invoke(verb, ["--help"]).output.split())  # unwrapped
    assert "Read the note from a file ('-' for stdin), as UTF-8, byte for byte." in shown
    assert "Clean the note." in shown
