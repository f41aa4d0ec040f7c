"""Text a verb is given to pass on to an agent (spawn's task, send's message).

Both verbs take it the same ways: as an argument or option, or from a file (``-`` for
stdin) read byte for byte as UTF-8, and with ``--clean`` stripped of escape sequences and
control characters instead of refused. These are the options and the one reading of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ao_tui.cli.common import read_text_file

F = TypeVar("F", bound=Callable[..., Any])


def text_file_option(flag: str, dest: str, what: str) -> Callable[[F], F]:
    """``flag FILE``: read ``what`` (``the task``) from a file, into parameter ``dest``."""
    return click.option(
        flag,
        dest,
        type=click.File("rb"),
        help=f"Read {what} from a file ('-' for stdin), as UTF-8, byte for byte.",
    )


def clean_option(help_text: str) -> Callable[[F], F]:
    """``--clean``, into parameter ``clean_text``: strip control characters, don't refuse."""
    return click.option("--clean", "clean_text", is_flag=True, help=help_text)


def given_text(text: str | None, text_file: Any, option: str, *, clean_text: bool) -> str | None:
    """The text given: the file's when ``text_file`` is open (read as ``option``), else
    ``text``; with ``clean_text``, escape sequences and control characters removed.

    None when nothing was given: whether that is an error is the verb's to say.
    """
    from core.inert import clean

    if text_file is not None:
        text = read_text_file(text_file, option)
    if clean_text and text is not None:
        text = clean(text)
    return text
