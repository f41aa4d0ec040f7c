"""ao-tui test suite."""
