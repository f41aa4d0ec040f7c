"""ao-tui unit tests."""
