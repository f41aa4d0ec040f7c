"""ao-tui bench tests."""
