"""ao-tui e2e tests."""
