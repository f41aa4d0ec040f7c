"""The verb group itself, and the verbs that open the cockpit (on the config, or on the demo)."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    pass

from ao_tui.cli.common import (
    EXIT_CONFIG,
    _errors,
    _load_engine,
    _table,
    _Verbs,
    fail,
)


@click.group(cls=_Verbs, invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (else AO_TUI_CONFIG, else found upward).",
)
@click.version_option(package_name="ao-tui")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """A terminal cockpit for running fleets of AI coding agents in parallel."""
    ctx.ensure_object(dict)
    ctx.obj["config"] = config_path
    if ctx.invoked_subcommand is None:
        _open_cockpit(ctx)


@main.command()
@click.option("--keep", is_flag=True, help="Keep the sandbox (sessions, worktrees) on exit.")
@click.option(
    "--sessions",
    default=6,
    show_default=True,
    type=click.IntRange(1, 24),
    help="How many demo sessions to start.",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 100.0),
    help="How much faster than real time the scripted agents work.",
)
@click.option(
    "--headless",
    is_flag=True,
    help="Print the board every second for 20 s instead of opening the cockpit.",
)
@click.option(
    "--night",
    is_flag=True,
    help="A small night instead: the demo orchestrator spawns workers from a task file; CI "
    "fails and is fixed, an agent reviews, work merges, one session reaches you.",
)
def demo(keep: bool, sessions: int, speed: float, headless: bool, night: bool) -> None:
    """Open the cockpit on a throwaway sandbox of scripted demo agents.

    Needs only tmux and git: no agent install, no network, no GitHub. The agents are
    scripted stand-ins (labelled "demo" everywhere) that edit and commit a small sample
    project, ask permission, fail tests and hit errors, so every part of the cockpit has
    something to show. Everything is removed on exit unless --keep is given.
    """
    from ao_tui.demo import build_demo, hangup_exits, quit_message
    from ao_tui.demo_night import build_night

    click.echo("ao-tui: building the demo sandbox…", err=True)
    # A closed terminal (SIGHUP) or a kill (SIGTERM) must still remove the sandbox: the
    # cockpit quits (or SystemExit is raised), so the `finally` below runs. Also while it
    # is built: each spawn waits for its agent's launcher, and build_demo undoes a
    # half-built sandbox when SystemExit is raised inside it.
    app: Any = None
    with hangup_exits(lambda: app.exit() if app is not None else None):
        with _errors():
            if night:
                sandbox = build_night(speed=speed)
            else:
                sandbox = build_demo(sessions=sessions, speed=speed)
        try:
            if headless:
                click.echo(f"demo sandbox in {sandbox.root}; the board every second for 20 s")
                # No cockpit watches: the sandbox does, reactions included, so a failing CI
                # goes back to its agent here too.
                sandbox.watch()
                try:
                    for _ in range(20):
                        click.echo(time.strftime("-- %H:%M:%S"))
                        click.echo(_table(sandbox.engine.list()))
                        sys.stdout.flush()
                        time.sleep(1.0)
                except KeyboardInterrupt:
                    pass
            else:
                # Textual costs ~150 ms to import: only the cockpit pays for it.
                from ao_tui.app import CockpitApp

                app = CockpitApp(
                    sandbox.engine,
                    quit_message=quit_message(keep),
                    config_path=sandbox.config_path,
                )
                app.run()
        finally:
            message = sandbox.close(keep=keep)
            with contextlib.suppress(OSError):  # the terminal may be gone
                click.echo(message, err=True)


def _open_cockpit(ctx: click.Context) -> None:
    """Run the cockpit for the config in scope; sessions keep running after it quits."""
    with _errors():
        engine = _load_engine(ctx)
    # Textual costs ~150 ms to import: only the cockpit pays for it, never a headless verb.
    from ao_tui.app import CockpitApp
    from ao_tui.keymap import KeymapError

    settings = engine.config.cockpit
    try:
        app = CockpitApp(
            engine,
            keymap=dict(settings.keys),
            notify_bell=settings.bell,
            config_path=ctx.obj.get("config_file"),
        )
    except KeymapError as exc:
        fail(f"config: cockpit.keys: {exc}", EXIT_CONFIG)
    app.run()
