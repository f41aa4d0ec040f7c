"""``ao-tui inspect transcript``: run the activity readers on files and show the verdict.

Given an agent's transcript and optionally its hook log, status file and a pane capture,
the first installed inspector (an ``inspector`` plugin) that knows the transcript's format
reads each with the same code the live agent plugin uses; here the files are checked, the
signals fused and a JSON-ready report returned. Useful to debug a wrong state on a real
session and to check a new agent release against its files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from core.activity.fusion import fuse
from core.errors import EXIT_USAGE, AoError
from core.models import ActivitySignal
from core.registry import Registry
from core.slots import InspectedFiles, TranscriptInspector


class InspectError(AoError):
    """A file given to ``inspect`` cannot be read as one; the message says which and why."""

    exit_code = EXIT_USAGE


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_readable(path: Path, what: str) -> None:
    """Refuse anything but a regular file this process can read, without blocking on it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InspectError(f"{path}: no such file (the {what})") from None
    except OSError as exc:
        raise InspectError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise InspectError(f"{path}: is {kind}, not a regular file; give the {what} itself")
    try:
        # O_NONBLOCK: should it have become a FIFO meanwhile, opening must not wait.
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as exc:
        raise InspectError(f"{path}: cannot read the {what}: {exc.strerror}") from None


def _signal_json(signal: ActivitySignal | None) -> dict[str, Any] | None:
    """A signal as JSON, for the report's per-source breakdown."""
    if signal is None:
        return None
    return {
        "state": signal.state.value,
        "source": signal.source.value,
        "at": signal.at,
        "detail": signal.detail,
        "waiting_for": None if signal.waiting_for is None else signal.waiting_for.to_json(),
    }


def inspect_signals(
    transcript: Path,
    hooks: Path | None,
    status: Path | None,
    pane: Path | None,
    now: float,
    *,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Read every given file, fuse, and report ``state``/``source``/``detail``/``since``/
    ``waiting_for`` plus a ``transcript`` summary and one entry per source in ``signals``.

    Raises :class:`InspectError` when ``transcript`` does not exist, and when any file
    given is not a regular readable file (a FIFO would block the read forever, a device
    or a directory has no lines to give); the optional files are reported as missing.
    ``registry`` finds the inspectors (the installed plugins when not given).
    """
    check_readable(transcript, "transcript")
    for path, what in ((hooks, "hook log"), (status, "status file"), (pane, "pane capture")):
        if path is not None and path.exists():
            check_readable(path, what)
    inspector = _inspector_for(transcript, hooks, status, pane, now, registry)
    signals, report = inspector.signals, dict(inspector.report)
    activity = fuse([s for s in signals.values() if s is not None], None, now)
    report.update(activity.to_json())
    report["format"] = inspector.format
    report["signals"] = {name: _signal_json(sig) for name, sig in signals.items()}
    return report


def _inspector_for(
    transcript: Path,
    hooks: Path | None,
    status: Path | None,
    pane: Path | None,
    now: float,
    registry: Registry | None,
) -> InspectedFiles:
    """What the first installed inspector that knows the transcript's format read."""
    registry = registry if registry is not None else Registry()
    for name in registry.names("inspector"):
        inspector: TranscriptInspector = registry.get("inspector", name)
        found = inspector.inspect(transcript, hooks, status, pane, now)
        if found is not None:
            return found
    raise InspectError(f"{transcript}: no installed inspector knows this file's format")
