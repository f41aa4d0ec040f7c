"""Cockpit tests: Pilot behaviour, SVG snapshots, a real-tmux round trip, timing."""
