"""Noise control: when a notification may go out.

- **Repeats** of the same fact for the same session inside ``dedupeWindow`` collapse into
  the first one (its row counts them).
- **Quiet hours** hold every notification but an ``urgent`` one until the hours end.
- A **digest** holds the priorities it lists until the next multiple of ``every`` (on the
  clock, so a restart keeps the same schedule), then sends them as one message.

Pure decisions over the config and a clock; :mod:`core.notify.outbox` stores them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.config_reactions import parse_duration

Placement = tuple[Literal["pending", "held"], Literal["", "quiet", "digest"], float]
"""A new row's state, why it is held ("" when it is not) and when it is due."""
LocalTime = Callable[[float], time.struct_time]


@dataclass(frozen=True)
class Pacing:
    """The ``notifications:`` section, read once per use."""

    window: float = 0.0
    """Seconds within which a repeat collapses (0: never)."""
    quiet: tuple[int, int] | None = None
    """Quiet hours as minutes after midnight, local time: (start, end)."""
    digest_every: float | None = None
    digest_priorities: frozenset[str] = frozenset()
    localtime: LocalTime = time.localtime

    @classmethod
    def of(cls, config: Any, *, localtime: LocalTime = time.localtime) -> Pacing:
        """The pacing ``config.notifications`` asks for."""
        section = config.notifications
        window = parse_duration(section.dedupe_window) or 0.0
        quiet = None
        if section.quiet_hours is not None:
            quiet = (_minutes(section.quiet_hours.start), _minutes(section.quiet_hours.end))
        every = priorities = None
        if section.digest is not None:
            every = parse_duration(section.digest.every)
            priorities = frozenset(section.digest.priorities)
        return cls(
            window=float(window),
            quiet=quiet,
            digest_every=every,
            digest_priorities=priorities or frozenset(),
            localtime=localtime,
        )

    def quiet_until(self, now: float) -> float | None:
        """When the quiet hours holding ``now`` end (epoch seconds); None when ``now`` is
        not in quiet hours."""
        if self.quiet is None:
            return None
        start, end = self.quiet
        if start == end:
            return None  # an empty span: no quiet hours
        local = self.localtime(now)
        minute = local.tm_hour * 60 + local.tm_min
        inside = start <= minute < end if start < end else minute >= start or minute < end
        if not inside:
            return None
        left = (end - minute) % (24 * 60)
        return now - local.tm_sec - (now % 1) + left * 60

    def next_digest(self, now: float) -> float:
        """The end of the digest period holding ``now``."""
        every = self.digest_every or 60.0
        return (math.floor(now / every) + 1) * every

    def place(self, priority: str, now: float, *, in_digest: bool = False) -> Placement:
        """Where a new row of ``priority`` goes: out now, or held (and until when).
        ``in_digest``: the row is a digest itself (never digested again)."""
        if (
            not in_digest
            and self.digest_every is not None
            and priority in self.digest_priorities
            and priority != "urgent"
        ):
            return ("held", "digest", self.next_digest(now))
        if priority != "urgent":
            until = self.quiet_until(now)
            if until is not None:
                return ("held", "quiet", until)
        return ("pending", "", now)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)
