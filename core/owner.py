"""Which process does something: its pid and the kernel's start time of that pid.

A pid alone names a process only while it runs (pids are reused); with its start time it
names that very process. Kept apart from :mod:`core.manifest` so the engine lease, which
every CLI call takes or reads, needs nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    """The process running an operation: its pid and its start time (pids are reused)."""

    pid: int
    started: str = ""
    """The kernel's start time of the process (``/proc/<pid>/stat`` field 22), if known."""

    @classmethod
    def current(cls) -> Owner:
        """This process."""
        pid = os.getpid()
        return cls(pid, _start_time(pid))

    def alive(self) -> bool:
        """Whether that very process still runs (a zombie or a reused pid is not it)."""
        if self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # exists, owned by someone else
        stat = _proc_stat(self.pid)
        if stat is None:
            return True  # no /proc to ask: trust the signal check
        state, started = stat
        return state not in ("Z", "X") and (not self.started or started == self.started)


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """The state letter and start time of ``pid`` from ``/proc``, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields follow the last ')'.
    fields = raw.rpartition(")")[2].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]


def _start_time(pid: int) -> str:
    stat = _proc_stat(pid)
    return "" if stat is None else stat[1]
