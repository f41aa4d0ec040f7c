"""ao-tui front ends: the command line (and, next, the Textual cockpit)."""

__all__: list[str] = []
