"""``python -m ao_tui`` runs the CLI."""

from ao_tui.cli import run

run()
