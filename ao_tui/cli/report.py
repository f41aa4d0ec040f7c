"""``ao-tui report [--since 12h] [--json]``: the morning report.

One line per session (outcome and cause, CI cycles, reactions fired, human interventions,
time to merge, tokens and cost) under a summary line. The work is :mod:`core.report`; this
module parses ``--since`` and prints.
"""

from __future__ import annotations

import time

import click

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import EXIT_USAGE, _emit, _errors, _load_engine, fail


def since_seconds(text: str) -> float:
    """Seconds in ``--since`` (``12h``, ``30m``, ``2d``, ``1h30m``); exit 2 naming the
    option when it is not a duration."""
    from core.config_reactions import parse_duration

    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        fail(f"--since {text!r} is not a duration; write e.g. '12h', '30m' or '2d'", EXIT_USAGE)
    return seconds


@main.command()
@click.option(
    "--since",
    "since",
    default=None,
    metavar="DURATION",
    help="Only sessions alive now or changed in this long (e.g. 12h); default: every session.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document.")
@click.pass_context
def report(ctx: click.Context, since: str | None, as_json: bool) -> None:
    """What every session came to overnight: outcome and why, CI cycles, reactions,
    human interventions, time to merge, tokens and cost."""
    from core.report import build_report, render

    cutoff = None if since is None else time.time() - since_seconds(since)
    with _errors():
        engine = _load_engine(ctx)
        result = build_report(engine.store, engine.config.report, since=cutoff)
    if as_json:
        _emit(result.to_json())
    else:
        click.echo(render(result))
