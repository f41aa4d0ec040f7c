"""Verbs that set up and repair: init, config, doctor, recover, and inspect."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from core.engine import Engine

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_ERROR,
    EXIT_USAGE,
    _emit,
    _errors,
    _load_config,
    _load_engine,
    fail,
)


@main.command()
@click.option("--force", is_flag=True, help="Overwrite an existing ao.config.yaml.")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
def init(force: bool, directory: Path) -> None:
    """Write ao.config.yaml for the git repository in DIRECTORY."""
    from core.config_init import render_init

    repo = directory.resolve()
    target = repo / "ao.config.yaml"
    if target.exists() and not force:
        fail(f"{target} exists; pass --force to overwrite it", EXIT_USAGE)
    with _errors():
        from core.registry import Registry

        text = render_init(repo, known_agents=Registry().names("agent"))
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(
            f"cannot write {target}: {exc.strerror}; make {repo} writable, or save the config "
            "elsewhere and pass --config PATH",
            EXIT_ERROR,
        )
    from core.config_init import COMMIT_NOTE

    click.echo(f"wrote {target}")
    click.echo(f"  {COMMIT_NOTE}")
    click.echo("  uncomment its ci: line, so that review and merge wait for your tests")


@main.group()
def inspect() -> None:
    """Show what ao-tui derives from an agent's files (to check detection from outside)."""


@inspect.command("transcript")
# The paths are checked by inspect_signals, not click: one line for every kind of bad file
# (missing, a FIFO that would block the read, a device, a directory, unreadable).
@click.argument("path", type=click.Path(readable=False, path_type=Path))
@click.option(
    "--hooks",
    type=click.Path(readable=False, path_type=Path),
    help="Hook log (JSON lines).",
)
@click.option(
    "--status",
    "status_file",
    type=click.Path(readable=False, path_type=Path),
    help="Claude status file.",
)
@click.option(
    "--pane",
    type=click.Path(readable=False, path_type=Path),
    help="A capture of the pane.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inspect_transcript(
    path: Path, hooks: Path | None, status_file: Path | None, pane: Path | None, as_json: bool
) -> None:
    """The activity state those signals mean: {"state", "source", "detail"}."""
    from core.activity.inspect import inspect_signals

    result = inspect_signals(path, hooks, status_file, pane, now=time.time())
    if as_json:
        _emit(result)
    else:
        from core.inert import inert

        # The detail quotes the transcript: prompts, commands, whatever the agent read.
        detail = inert(str(result.get("detail") or ""), one_line=True)
        click.echo(f"{result['state']} (from {result['source']}) {detail}".rstrip())
        for part in ("transcript", "hooks"):
            skipped = result.get(part, {}).get("malformed_lines") or []
            if skipped:
                text = inert("; ".join(skipped), one_line=True)
                click.echo(f"{part}: unreadable lines skipped: {text}")


@main.group()
def config() -> None:
    """Configuration helpers."""


@config.command("schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of ao.config.yaml."""
    from core.config import config_schema

    click.echo(json.dumps(config_schema(), indent=2))


@config.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Load the config in scope and report every problem, in each project's repository too."""
    from core.config import find_config
    from core.errors import ConfigError
    from core.permission_policy import describe
    from core.project_checks import config_problems

    with _errors():
        engine = _load_engine(ctx)
        source = find_config(Path.cwd(), ctx.obj.get("config"))

        def agent_of(project: Any) -> tuple[str, object]:
            name = project.agent_name(engine.config.defaults)
            return name, engine.agent(name)

        problems = config_problems(engine.config.projects, engine.workspace, source, agent_of)
        if problems:
            raise ConfigError(problems)
        policies: list[str] = []
        for project_id, project in engine.config.projects.items():
            name, plugin = agent_of(project)
            policy = describe(plugin, project.agent_config.allow)
            if policy:  # the permission policy, for the operator to read over once
                policies.append(f"  {project_id}: {name} {policy}")
    click.echo(f"ok: {len(engine.config.projects)} project(s)")
    for line in policies:
        click.echo(line)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option(
    "--fix",
    is_flag=True,
    help="Adopt orphans that hold work or a live agent, clean up those that hold none, "
    "finish half-done operations.",
)
@click.pass_context
def doctor(ctx: click.Context, as_json: bool, fix: bool) -> None:
    """Check tmux, git, agent binaries, config, state dir and sessions; name each fix."""
    from core.doctor import run_all

    with _errors():
        checks, engine = run_all(ctx.obj.get("config"))
    if not fix:
        if as_json:
            _emit([c.to_json() for c in checks])
        else:
            _print_checks(checks)
        if any(c.status == "fail" for c in checks):
            raise SystemExit(EXIT_ERROR)
        return
    if engine is None:
        _print_checks([c for c in checks if c.status == "fail"])
        fail("nothing was fixed: the checks above must pass first")
    _doctor_fix(engine, checks, as_json)


def _print_checks(checks: list[Any]) -> None:
    for check in checks:
        mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}[check.status]
        line = f"[{mark}] {check.name}: {check.detail}"
        click.echo(line + (f"\n        fix: {check.fix}" if check.fix else ""))


def _doctor_fix(engine: Engine, checks: list[Any], as_json: bool) -> None:
    """Fix every finding, print one line per artifact, then what is left (exit 1 if any)."""
    from core.inventory import take_inventory
    from core.recovery import fix_findings, release_stale_git_locks

    with _errors():
        results = release_stale_git_locks(engine)
        results += fix_findings(engine, take_inventory(engine))
        remaining = take_inventory(engine).findings
    failed = [c for c in checks if c.status == "fail"]
    if as_json:
        _emit(
            {
                "checks": [c.to_json() for c in checks],
                "fixed": [r.to_json() for r in results],
                "remaining": [f.to_json() for f in remaining],
            }
        )
    else:
        for result in results:
            mark = "" if result.ok else "NOT "
            click.echo(f"{result.session_id}: {mark}{result.action}: {result.detail}")
        if not results:
            click.echo("nothing to fix: no orphans, no half-done operations")
        for finding in remaining:
            click.echo(
                f"ao-tui: {finding.session_id} still {finding.kind}: {finding.problem} "
                f"({finding.fix})",
                err=True,
            )
        _print_checks(failed)
    if remaining or failed or not all(r.ok for r in results):
        raise SystemExit(EXIT_ERROR)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was rebuilt as JSON.")
@click.pass_context
def recover(ctx: click.Context, as_json: bool) -> None:
    """Rebuild the session rows from what exists (a damaged state.db is moved aside).

    Reads the worktrees, branches, tmux sessions, state folders and session manifests of
    every project in the config. The old database is renamed, never deleted.
    """
    from core.locations import Locations
    from core.registry import Registry
    from core.state_rebuild import recover as rebuild

    with _errors():
        registry = Registry()
        config = _load_config(ctx, registry)
        report = rebuild(config, Locations.from_env(), registry)
    if as_json:
        _emit(report.to_json())
        return
    if report.damage is not None:
        moved = report.moved_to[0] if report.moved_to else "?"
        click.echo(f"{report.database} could not be used: {report.damage}; moved aside to {moved}")
    for problem in report.problems:
        click.echo(f"ao-tui: {problem}", err=True)
    for session in report.rebuilt:
        source = session.extra.get("recovered", {}).get("from", "")
        state = session.lifecycle.value
        click.echo(f"rebuilt {session.id}  {state:<8} {session.branch}  (from {source})")
    if not report.rebuilt:
        click.echo("no session without a row was found; nothing to rebuild")
    counters = ", ".join(f"{prefix} at {last}" for prefix, last in report.counters.items())
    if counters:
        click.echo(f"numbering continues after: {counters}")
