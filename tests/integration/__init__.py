"""ao-tui integration tests."""
