"""Short human forms of engine values, shared by the CLI table and the cockpit cards."""

from __future__ import annotations


def age(seconds: float) -> str:
    """``<1m``, ``12m``, ``3h05m``, ``4d``: how long a session has been in its state.

    Minutes are the finest grain: what matters is the agent waiting 40 minutes, not 40
    seconds, and a board whose every row ticks each second costs CPU to redraw.
    """
    whole = max(0, int(seconds))
    if whole < 60:
        return "<1m"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86400:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d"
