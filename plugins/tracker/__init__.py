"""Tracker plugins: where a project's tasks come from."""
