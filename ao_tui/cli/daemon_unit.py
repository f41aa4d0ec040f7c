"""``ao-tui daemon unit``: print the service file that runs the daemon at login."""

from __future__ import annotations

from pathlib import Path

import click

from ao_tui.cli.common import EXIT_CONFIG, _load_config, fail
from ao_tui.cli.watch import daemon


@daemon.command("unit")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user unit (Linux).")
@click.option("--launchd", "kind", flag_value="launchd", help="A launchd agent plist (macOS).")
@click.pass_context
def unit(ctx: click.Context, kind: str | None) -> None:
    """Print a service file that runs this ao-tui's daemon: a systemd user unit, or on
    macOS a launchd plist (--systemd / --launchd choose). It runs the same interpreter,
    config and state dir as this command; how to install it is in its first lines, and
    on stderr.
    """
    from ao_tui.service_unit import (
        daemon_service,
        default_kind,
        install_commands,
        launchd_plist,
        systemd_unit,
    )
    from core.config import find_config
    from core.locations import Locations
    from core.registry import Registry

    chosen = kind or default_kind()
    explicit = ctx.obj.get("config")
    path = find_config(Path.cwd(), explicit)
    if path is None:
        fail(
            "no ao.config.yaml here or in any parent directory: the daemon needs one; run "
            "`ao-tui daemon unit` in your repository or pass --config",
            EXIT_CONFIG,
        )
    # A unit for a config that does not load would fail at every start: say so now.
    _load_config(ctx, Registry())
    service = daemon_service(path.absolute(), Locations.from_env().home)
    text = systemd_unit(service) if chosen == "systemd" else launchd_plist(service)
    click.echo(text, nl=False)
    # The file goes to stdout, to be redirected into place; how, goes to the terminal.
    click.echo(f"ao-tui: a {chosen} service for {path.absolute()}; install it with:", err=True)
    for line in install_commands(chosen):
        click.echo(f"  {line}", err=True)
