"""Which signals belong to the agent process running now, after a restore.

A restore starts a new agent process in the same session. The hook log, transcript and
status file keep everything the killed process wrote, down to the ``SessionEnd`` it fired
while dying. Applied after the restore, that ``SessionEnd`` says "exited" about a session
that has just come back, and raises a false "needs you". So after a restore, a signal
stamped before the restore's start (:data:`SIGNALS_FROM`) is never applied.
The reconciler enforces this for every agent; an agent plugin may know more about its
own signals and apply a finer rule of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.models import ActivitySignal

SIGNALS_FROM = "signals_from"
"""The ``session.extra`` key a restore sets to its start time: signals stamped before it
are the previous process's. Only a restore sets it: ``started_at`` is also written when
``doctor --fix`` adopts an agent that was started earlier, whose signals all count."""


def signals_from(extra: Mapping[str, Any]) -> float | None:
    """When the process a restore started began, else None (never restored: no earlier
    process whose signals could linger)."""
    value = extra.get(SIGNALS_FROM)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def at_or_after(stamp: float | None, started_at: float) -> bool:
    """Whether something stamped ``stamp`` happened at or after ``started_at`` (same clock).

    Hooks stamp with ``date +%s.%N``: nanoseconds on Linux, whole seconds where ``%N`` is
    not supported (macOS), so a whole-second stamp is compared by its second. A fixed slack
    would not do: a restore ~0.6 s after the previous start took that start's signals for
    the new one's.
    """
    if stamp is None:
        return True  # no stamp: nothing to compare
    if stamp.is_integer():
        return stamp >= float(int(started_at))
    return stamp >= started_at - 0.05  # float rounding of two reads of the same clock


def of_this_start(
    signals: Iterable[ActivitySignal], extra: Mapping[str, Any]
) -> list[ActivitySignal]:
    """``signals`` without those stamped before the current process of a restored session."""
    started = signals_from(extra)
    if started is None:
        return list(signals)
    return [signal for signal in signals if at_or_after(signal.at, started)]


def launching(started_at: float, extra: Mapping[str, Any], now: float, grace: float) -> bool:
    """Whether a launch on a task (not a resume, which starts on none) began less than
    ``grace`` seconds before ``now``."""
    return (
        bool(started_at) and now - started_at <= grace and extra.get("starts_on_task") is not False
    )
