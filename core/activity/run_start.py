"""When a source's current state began: the time of the first of its records that said so.

A source reports its newest record's time as ``at`` (fusion compares those), but a state
usually spans many records: a turn is tool call after tool call, a permission prompt is
the ``PermissionRequest`` and later the ``Notification`` repeating it. An engine that
reads the log for the first time (a fresh cockpit) must date the state from the first
record of that run, not from the last one, or a prompt waiting for minutes shows ``<1m``.
"""

from __future__ import annotations

from dataclasses import replace

from core.models import ActivitySignal, ActivityState


def run_key(signal: ActivitySignal) -> tuple[ActivityState, str, str]:
    """What must stay the same for two readings to be one run: the state, and for a
    waiting agent the question it asks (a new command is a new prompt)."""
    waiting = signal.waiting_for
    if waiting is None:
        return (signal.state, "", "")
    return (signal.state, waiting.tool, waiting.command)


class RunStart:
    """Follows a source record by record and remembers when its current state began."""

    def __init__(self) -> None:
        """Nothing seen yet."""
        self._key: tuple[ActivityState, str, str] | None = None
        self._began: float | None = None

    def note(self, signal: ActivitySignal | None) -> None:
        """Fold what the source says after one more record (None: nothing yet)."""
        if signal is None:
            self._key = self._began = None
            return
        key = run_key(signal)
        if key != self._key or self._began is None:
            self._key, self._began = key, signal.at
        else:
            # Hooks run in parallel and stamp their own time: lines may be out of order.
            self._began = min(self._began, signal.at)

    def stamp(self, signal: ActivitySignal | None) -> ActivitySignal | None:
        """``signal`` with ``began`` set when its run began before its ``at``."""
        if (
            signal is None
            or self._began is None
            or self._began >= signal.at
            or run_key(signal) != self._key
        ):
            return signal
        return replace(signal, began=self._began)
