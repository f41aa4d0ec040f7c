"""The ``ao-tui`` command line: every headless verb, stable exit codes, errors on stderr.

Imports are deferred into each verb so ``--help``, ``status --json`` and other headless
calls never load Textual or Rich (tests/unit/test_import_hygiene.py checks it).

One module per verb group: :mod:`.common` (exit codes, the error handler, loading the
engine), :mod:`.cockpit` (the group, the cockpit and the demo), :mod:`.sessions`,
:mod:`.watch` (events, daemon), :mod:`.daemon_unit` (daemon unit),
:mod:`.review` (ci, approve, merge, diff),
:mod:`.reactions` (the ``reactions`` group), :mod:`.notify` (the ``notify`` group),
:mod:`.report` (the morning report), :mod:`.start` (start, stop) and
:mod:`.housekeeping` (init, inspect, config, doctor, recover). Importing the package
registers every verb on :func:`main`; :func:`run` is the console script's entry point.
"""

import gc

from ao_tui.cli import (
    agent_review,
    daemon_unit,
    housekeeping,
    notify,
    reactions,
    report,
    review,
    sessions,
    start,
    watch,
)
from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_CI_FAILING,
    EXIT_CI_RUNNING,
    EXIT_CONFIG,
    EXIT_DUPLICATE,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_SEND_FAILED,
    EXIT_STATE,
    EXIT_USAGE,
    fail,
    read_text_file,
    session_json,
    unexpected_error,
)

__all__ = [
    "EXIT_CI_FAILING",
    "EXIT_CI_RUNNING",
    "EXIT_CONFIG",
    "EXIT_DUPLICATE",
    "EXIT_ERROR",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_SEND_FAILED",
    "EXIT_STATE",
    "EXIT_USAGE",
    "agent_review",
    "daemon_unit",
    "fail",
    "housekeeping",
    "main",
    "notify",
    "reactions",
    "read_text_file",
    "report",
    "review",
    "run",
    "session_json",
    "sessions",
    "start",
    "unexpected_error",
    "watch",
]


def run() -> None:
    """The ``ao-tui`` command (and ``python -m ao_tui``): :func:`main` as a process of its own.

    The process ends when the verb does, so the cycle collector's last full pass over every
    object left (a pass over ~300 modules' objects costs ~15 ms, a tenth of a one-shot
    ``status --json``; issue 10 §8) is skipped by freezing them: the memory goes back with
    the process. ``main`` itself (what tests invoke in-process) leaves the collector alone.
    """
    try:
        main()
    finally:
        gc.freeze()
