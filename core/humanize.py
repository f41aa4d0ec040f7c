"""Short human forms of engine values, shared by the CLI table and the cockpit cards."""

from __future__ import annotations


def age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h05m``, ``4d``: how long a session has been in its state."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86400:
        return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"
    return f"{whole // 86400}d"
