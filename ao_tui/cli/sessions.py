"""Verbs on sessions: spawn, issues, status, ls, send, respond, attach, kill, restore."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from core.models import Session

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    _emit,
    _errors,
    _fresh_sessions,
    _load_engine,
    _store,
    _table,
    fail,
    report_delivery,
    session_json,
)
from ao_tui.cli.text_input import clean_option, given_text, text_file_option


@main.command()
@click.option("-p", "--prompt", help="The task for the agent.")
@text_file_option("--prompt-file", "prompt_file", "the task")
@click.option("--project", help="Project id from the config (default: the one containing the cwd).")
@click.option("--title", help="Short title shown on the board (default: the prompt's first line).")
@click.option("--agent", "agent_name", help="Agent to run (default: the project's).")
@click.option(
    "--issue",
    default="",
    help="Work on this issue (42, #42, T-3) from the project's tracker; its title and body "
    "become the task and --prompt is added as a note.",
)
@click.option("--force", is_flag=True, help="Spawn even if an active session has the same task.")
@clean_option(
    "Remove escape sequences and control characters (other than newline and tab) from "
    "the prompt and title instead of refusing them."
)
@click.option("--json", "as_json", is_flag=True, help="Print the new session as JSON.")
@click.pass_context
def spawn(
    ctx: click.Context,
    prompt: str | None,
    prompt_file: Any,
    project: str | None,
    title: str | None,
    agent_name: str | None,
    issue: str,
    force: bool,
    clean_text: bool,
    as_json: bool,
) -> None:
    """Start an agent on a task: worktree, branch, tmux session, agent."""
    from core.config import resolve_project

    prompt = given_text(prompt, prompt_file, "--prompt-file", clean_text=clean_text)
    title = given_text(title, None, "--title", clean_text=clean_text)
    if not prompt and not issue:
        fail("give the task with --prompt TEXT, --prompt-file FILE or --issue ID", EXIT_USAGE)
    with _errors():
        engine = _load_engine(ctx)
        project_id, _ = resolve_project(engine.config, project, Path.cwd())
        session = engine.spawn(
            project_id, prompt or "", title=title, agent_name=agent_name, issue=issue, force=force
        )
    if as_json:
        _emit(session_json(session))
    else:
        click.echo(f"{session.id}  {session.branch}  (attach: ao-tui attach {session.id})")


@main.command()
@click.option("--project", help="Project id from the config (default: the one containing the cwd).")
@click.option("--limit", default=100, show_default=True, help="At most this many issues.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.pass_context
def issues(ctx: click.Context, project: str | None, limit: int, as_json: bool) -> None:
    """Open issues of the project's tracker, and the session working on each."""
    from core.config import resolve_project
    from core.models import ACTIVE_LIFECYCLES

    with _errors():
        engine = _load_engine(ctx)
        project_id, _ = resolve_project(engine.config, project, Path.cwd())
        found = engine.issues(project_id, limit=limit)
        working = {
            s.issue: s.id
            for s in engine.store.list_sessions()
            if s.project == project_id and s.issue and s.lifecycle in ACTIVE_LIFECYCLES
        }
    if as_json:
        _emit([{**issue.to_json(), "session": working.get(issue.key)} for issue in found])
        return
    if not found:
        click.echo(f"no open issues in {project_id}'s tracker")
    from core.inert import inert

    for issue in found:
        taken = working.get(issue.key, "-")
        click.echo(f"#{issue.key:<8} {taken:<12} {inert(issue.title, one_line=True)}")


@main.command()
@click.argument("session_id", required=False)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (one array, or one object for an id)."
)
@click.option(
    "--orphans",
    is_flag=True,
    help="List orphans and half-done operations instead (what `doctor --fix` would do).",
)
@click.pass_context
def status(ctx: click.Context, session_id: str | None, as_json: bool, orphans: bool) -> None:
    """Every session (or one) with its zone and what its agent is doing."""
    if orphans:
        _status_orphans(ctx, as_json)
        return
    with _errors():
        sessions = _fresh_sessions(ctx)
        if session_id is not None:  # '' is an id that matches nothing, not "every session"
            sessions = [s for s in sessions if s.id == session_id]
            if not sessions:
                fail(f"no session {session_id!r}; list them with `ao-tui status`", EXIT_NOT_FOUND)
    if as_json:
        data = [session_json(s) for s in sessions]
        _emit(data[0] if session_id is not None else data)
    elif not sessions:
        click.echo("no sessions; start one with `ao-tui spawn --prompt ...`")
    else:
        click.echo(_table(sessions))
    if not as_json and not session_id:
        _orphan_notice(sessions)


def _orphan_notice(sessions: list[Session]) -> None:
    """One stderr line naming sessions the state dir shows as orphaned or half-done."""
    from core.inventory import local_findings
    from core.locations import Locations

    flagged = local_findings(Locations.from_env(), sessions)
    if flagged:
        names = ", ".join(flagged[:5]) + (", …" if len(flagged) > 5 else "")
        click.echo(
            f"ao-tui: {len(flagged)} orphaned or half-done session(s) ({names}): "
            "`ao-tui doctor` shows them, `ao-tui doctor --fix` adopts or cleans them up",
            err=True,
        )


def _status_orphans(ctx: click.Context, as_json: bool) -> None:
    """``status --orphans``: every finding of the inventory (needs the config)."""
    from core.inventory import take_inventory

    with _errors():
        inventory = take_inventory(_load_engine(ctx))
    for problem in inventory.problems:
        click.echo(f"ao-tui: {problem}", err=True)
    if as_json:
        _emit([finding.to_json() for finding in inventory.findings])
        return
    if not inventory.findings:
        click.echo("no orphans and no half-done operations")
    for finding in inventory.findings:
        click.echo(f"{finding.session_id}  {finding.kind}: {finding.problem}")
        click.echo(f"    fix: {finding.fix}")


@main.command(name="ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def ls_(ctx: click.Context, as_json: bool) -> None:
    """List sessions as last recorded (no refresh, no config needed)."""
    with _errors():
        sessions = _store().list_sessions()
    if as_json:
        _emit([session_json(s) for s in sessions])
    else:
        click.echo(_table(sessions) if sessions else "no sessions")


@main.command()
@click.argument("session_id")
@click.argument("text", required=False)
@text_file_option("--file", "text_file", "the message")
@click.option("--timeout", default=8.0, show_default=True, help="Seconds to wait for a receipt.")
@clean_option(
    "Send the message without escape sequences and control characters (other than "
    "newline and tab; CRLF becomes LF) instead of refusing it."
)
@click.option("--json", "as_json", is_flag=True, help='Print {"result": ..., "detail": ...}.')
@click.pass_context
def send(
    ctx: click.Context,
    session_id: str,
    text: str | None,
    text_file: Any,
    timeout: float,
    clean_text: bool,
    as_json: bool,
) -> None:
    """Send a message to a session's agent; exit 6 if it could not be delivered.

    A message holding a control character other than newline and tab is refused (exit 1,
    naming the character, its line, column and byte offset) unless --clean is given.
    """
    text = given_text(text, text_file, "--file", clean_text=clean_text)
    if text is None:
        fail("give the message as an argument or with --file FILE", EXIT_USAGE)
    with _errors():
        engine = _load_engine(ctx)
        result, detail = engine.send(session_id, text, confirm_timeout=timeout)
    report_delivery(result, detail, as_json=as_json)


@main.command()
@click.argument("session_id")
@click.argument("answer", type=click.Choice(["yes", "no"]))
@click.option(
    "--expect",
    metavar="COMMAND",
    default=None,
    help="Answer only if the prompt asks exactly this (its command, or 'TOOL: command' as "
    "in `status`); else refuse (exit 1), answer nothing and say what it asks now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the session after answering.")
@click.pass_context
def respond(
    ctx: click.Context, session_id: str, answer: str, expect: str | None, as_json: bool
) -> None:
    """Answer the permission prompt a session's agent is waiting on.

    With --expect the answer is bound to the prompt you looked at: if the agent asks
    anything else by now (another command, or nothing), nothing is sent.
    """
    if expect is not None and not expect.strip():
        fail(
            "--expect needs the command the prompt shows, e.g. --expect 'rm -rf build'", EXIT_USAGE
        )
    with _errors():
        session = _load_engine(ctx).respond(session_id, answer == "yes", expect=expect)
    if as_json:
        _emit(session_json(session))
    else:
        click.echo(f"{session.id}: answered {answer}; now {session.activity.state.value}")


@main.command()
@click.argument("session_id")
@click.pass_context
def attach(ctx: click.Context, session_id: str) -> None:
    """Put this terminal on the session's tmux session (detach with the tmux prefix + d)."""
    with _errors():
        argv = _load_engine(ctx).attach_argv(session_id)
    os.execvp(argv[0], argv)


@main.command()
@click.argument("session_id")
@click.option("--discard", is_flag=True, help="Throw uncommitted work away instead of saving it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def kill(ctx: click.Context, session_id: str, discard: bool, as_json: bool) -> None:
    """Stop a session; uncommitted work is saved as a WIP commit on its branch first."""
    with _errors():
        session, wip = _load_engine(ctx).kill(session_id, discard=discard)
    notes = [str(note) for note in (session.extra.get("kill") or {}).get("notes") or []]
    if as_json:
        _emit({**session_json(session), "wip_commit": wip, "notes": notes})
        return
    # A merged or done session keeps its state: the kill only removed what it left behind.
    done = "killed" if session.lifecycle.value == "killed" else f"stays {session.lifecycle.value}"
    if wip:
        click.echo(f"{session.id} {done}; uncommitted work saved as {wip[:10]} on {session.branch}")
    else:
        click.echo(f"{session.id} {done}; branch {session.branch} kept")
    for note in notes:
        click.echo(f"note: {note}", err=True)


@main.command()
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
@click.pass_context
def restore(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """Bring an exited or killed session back in place (same id, branch, worktree)."""
    with _errors():
        session = _load_engine(ctx).restore(session_id)
    notes = [str(note) for note in (session.extra.get("restore") or {}).get("notes") or []]
    if as_json:
        _emit({**session_json(session), "notes": notes})
        return
    click.echo(f"{session.id} restored (attempt {session.attempt})")
    for note in notes:
        click.echo(f"note: {note}", err=True)
