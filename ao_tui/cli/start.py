"""``ao-tui start`` and ``ao-tui stop``: the daemon, the project's orchestrator, the cockpit.

``start`` does what a user of Agent Orchestrator expects of its ``start``: the sessions are
watched (a detached ``ao-tui daemon`` is started when none runs), the project's orchestrator
session runs (:mod:`core.orchestrator.control`), and the cockpit opens. ``stop`` stops the
orchestrator only; neither ever kills a worker.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ao_tui.cli.cockpit import _open_cockpit, main
from ao_tui.cli.common import _emit, _errors, _load_engine

if TYPE_CHECKING:
    from core.engine import Engine

DAEMON_START_WAIT = 30.0
"""Seconds ``start`` waits for the daemon it started to say it runs (it loads the config
and the plugins first)."""


@main.command()
@click.argument("project", required=False)
@click.option(
    "--no-orchestrator", is_flag=True, help="Do not start the project's orchestrator session."
)
@click.option("--agent", "agent_name", help="Agent of a new orchestrator (default: the project's).")
@click.option(
    "--no-cockpit",
    is_flag=True,
    help="Do not open the cockpit (implied by --json, and when not run on a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def start(
    ctx: click.Context,
    project: str | None,
    no_orchestrator: bool,
    agent_name: str | None,
    no_cockpit: bool,
    as_json: bool,
) -> None:
    """Watch the sessions, run PROJECT's orchestrator, and open the cockpit.

    Starts `ao-tui daemon` in the background when no daemon runs (it outlives this
    terminal and logs to $AO_TUI_HOME/daemon.log), then spawns the project's orchestrator
    session (`<prefix>-orchestrator`), or restores it if it exited or was stopped. PROJECT
    defaults to the project containing the current directory, or the only one.
    """
    from core.config import resolve_project
    from core.orchestrator.control import ensure_orchestrator

    with _errors():
        engine = _load_engine(ctx)
        project_id, _ = resolve_project(engine.config, project, Path.cwd())
        daemon = ensure_daemon(engine, ctx.obj.get("config_file"))
        outcome = (
            None
            if no_orchestrator
            else ensure_orchestrator(engine, project_id, agent_name=agent_name)
        )
    if as_json:
        _emit(
            {
                "project": project_id,
                "daemon": daemon,
                "orchestrator": outcome.to_json() if outcome else None,
            }
        )
    else:
        click.echo(_daemon_line(daemon))
        if outcome is None:
            click.echo(f"orchestrator: not started (--no-orchestrator); project {project_id}")
        else:
            click.echo(
                f"orchestrator {outcome.session_id}: {outcome.action} "
                f"(attach: ao-tui attach {outcome.session_id}; stop: ao-tui stop {project_id})"
            )
    sys.stdout.flush()
    if no_cockpit or as_json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        return
    engine.store.close()
    _open_cockpit(ctx)


@main.command()
@click.argument("project", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def stop(ctx: click.Context, project: str | None, as_json: bool) -> None:
    """Stop PROJECT's orchestrator session; the workers and the daemon keep running.

    `ao-tui start` brings it back in place (same id, same conversation).
    """
    from core.config import resolve_project
    from core.orchestrator.control import stop_orchestrator

    with _errors():
        engine = _load_engine(ctx)
        project_id, _ = resolve_project(engine.config, project, Path.cwd())
        outcome = stop_orchestrator(engine, project_id)
    if as_json:
        _emit({"project": project_id, "orchestrator": outcome.to_json()})
    elif outcome.action == "absent":
        click.echo(
            f"project {project_id} has no orchestrator ({outcome.session_id}); nothing to stop"
        )
    elif outcome.action == "not running":
        click.echo(f"{outcome.session_id} is not running; nothing to stop")
    else:
        click.echo(
            f"{outcome.session_id} stopped; the workers keep running "
            f"(`ao-tui start {project_id}` brings it back)"
        )


def ensure_daemon(engine: Engine, config_file: Path | None) -> dict[str, Any]:
    """Start a detached ``ao-tui daemon`` unless one runs; what was found or done.

    Under a lock, so two ``start`` calls at once start one daemon. The daemon gets its own
    session (no terminal's hang-up reaches it) and this environment minus what a session
    with a role was given (:func:`core.agent_env.without_role`).
    """
    import os

    from core.agent_env import without_role
    from core.daemon_presence import daemon_pid, daemon_running
    from core.errors import EngineError
    from core.file_lock import hold

    home = engine.locations.home
    if daemon_running(home):
        return {"action": "running", "pid": daemon_pid(home)}
    lock = home / "locks" / "daemon-start.lock"

    def too_long(pid: int | None) -> Exception:
        return EngineError(
            f"another ao-tui start (pid {pid or 'unknown'}) is starting the daemon; try again"
        )

    with hold(lock, timeout=DAEMON_START_WAIT, on_timeout=too_long):
        if daemon_running(home):
            return {"action": "running", "pid": daemon_pid(home)}
        argv = [sys.executable, "-m", "ao_tui"]
        if config_file is not None:
            argv += ["--config", str(config_file)]
        argv.append("daemon")
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(config_file.parent if config_file is not None else home),
            env=without_role(dict(os.environ)),
            start_new_session=True,
        )
        deadline = time.monotonic() + DAEMON_START_WAIT
        while not daemon_running(home):
            status = process.poll()
            if status is not None:
                raise EngineError(
                    f"the daemon exited at once (status {status}); run `ao-tui daemon` to see "
                    f"why, or read {home / 'daemon.log'}"
                )
            if time.monotonic() > deadline:
                raise EngineError(
                    f"the daemon (pid {process.pid}) did not start within "
                    f"{DAEMON_START_WAIT:g}s; read {home / 'daemon.log'}"
                )
            time.sleep(0.05)
        # Reaped when it ends, should this process (a cockpit) outlive it.
        threading.Thread(target=process.wait, daemon=True).start()
        return {"action": "started", "pid": process.pid}


def _daemon_line(daemon: dict[str, Any]) -> str:
    """One line saying whether the daemon was started or already ran."""
    pid = daemon.get("pid")
    where = f" (pid {pid})" if pid else ""
    if daemon["action"] == "started":
        return f"daemon: started{where}; it watches the sessions with no cockpit open"
    return f"daemon: already running{where}"
