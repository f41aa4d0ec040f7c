"""Named crash points for the fault-injection tests; inert outside a pytest run.

The engine calls :func:`fault_point` between the steps of spawn, kill, restore and merge,
and the reactor between recording a send, typing it and recording its outcome.
It does nothing unless BOTH ``AO_TUI_FAULT_POINT`` names that exact point AND the process
runs under pytest (``PYTEST_CURRENT_TEST``, which pytest sets and its subprocesses inherit).
Then the process SIGKILLs itself, exactly as a crash or ``kill -9`` would stop it there, so
the tests can check that nothing is lost and everything left behind is reported.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "AO_TUI_FAULT_POINT"
"""The variable naming the point at which a test wants this process killed."""


def fault_point(name: str) -> None:
    """Under a test that asked for ``name``: die here with SIGKILL. Otherwise: nothing."""
    wanted = os.environ.get(FAULT_ENV)
    if wanted and wanted == name and "PYTEST_CURRENT_TEST" in os.environ:
        os.kill(os.getpid(), signal.SIGKILL)
