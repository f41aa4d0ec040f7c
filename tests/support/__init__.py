"""Test helpers for ao-tui's own core: config files, engines, polling, recorder agents."""
