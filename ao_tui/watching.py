"""Who watches the sessions, in the header's words: this cockpit, another process, nobody.

Only the holder of the engine lease (:mod:`core.lease`) reconciles: reads the agents'
signals, moves sessions between zones, notices finished CI. A cockpit that does not hold
it shows what the holder records, so the header must say who that is, and say loudly
when nobody is: then no prompt raises a toast and no state changes on the board.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.lease import LeaseHolder

_SHORT: dict[str, str] = {
    "cockpit": "cockpit",
    "daemon": "daemon",
    "events": "events",
    "cli": "ao-tui cmd",
    "recover": "recover",
}
"""Kinds of holder in the fewest words, for a header at 80 columns."""

NOBODY_LINE = "NOBODY IS WATCHING: sessions are not being refreshed (run ao-tui daemon)"
"""The full-width alarm under the counts while no process holds the lease (72 columns)."""


@dataclass(frozen=True)
class Watching:
    """Whether this cockpit reconciles, else who does (``holder``), as last checked.

    ``known`` is False until the first check (then the header says nothing yet).
    """

    this: bool = False
    holder: LeaseHolder | None = None
    known: bool = True

    @property
    def nobody(self) -> bool:
        """No process holds the lease: nothing refreshes the sessions."""
        return self.known and not self.this and self.holder is None

    def texts(self) -> list[str]:
        """What the header says, longest first; the last is the least it may say."""
        if not self.known:
            return []
        if self.this:
            return ["watching: this cockpit", "watch: this"]
        holder = self.holder
        if holder is None:
            return ["NOBODY IS WATCHING", "NOBODY WATCHING"]
        short = _SHORT.get(holder.kind, "other")
        if holder.pid is None:
            return [f"watching: {holder.describe()}", f"watch: {short}"]
        return [f"watching: {holder.describe()}", f"watch: {short} {holder.pid}"]


UNKNOWN = Watching(known=False)
"""Before the first look at the lease."""
THIS_COCKPIT = Watching(this=True)
"""This cockpit holds the lease and runs the reconcile loop."""
