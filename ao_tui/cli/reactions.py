"""``ao-tui reactions``: what the fleet does on its own, why, and the switches for it.

- ``reactions [PROJECT]``: each key's effective settings and where each came from, and
  whether reactions run at all (``on``, ``paused``, ``off (why)``).
- ``reactions history ID``: one session's episodes, sends (with the text) and events.
- ``reactions pause|resume [ID]``: one session, or every session.
- ``reactions send ID`` / ``reactions drop ID``: the message suggest mode prepared.
- ``escalate ID "why"``: hand a session to the human (what the orchestrator runs).

The work is :mod:`core.reactions.verbs`; this module parses, prints and picks exit codes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from core.engine import Engine
    from core.reactions.rules import Rule

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_USAGE,
    _emit,
    _errors,
    _load_engine,
    fail,
    read_text_file,
    report_delivery,
)


class _ReactionsGroup(click.Group):
    """A group whose first word, when it names no subcommand, is the project to list."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``reactions app`` lists project ``app`` (``--project`` says the same, and is the
        way to name a project called like a subcommand)."""
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["--project", args[0], *args[1:]]
        return super().parse_args(ctx, args)


@main.group(
    cls=_ReactionsGroup,
    invoke_without_command=True,
    subcommand_metavar="[PROJECT] | COMMAND [ARGS]...",
)
@click.option(
    "--project",
    "project",
    default=None,
    metavar="PROJECT",
    help="List this project (default: the one holding the cwd, else every project).",
)
@click.option("--json", "as_json", is_flag=True, help="Print {state, paused, projects} as JSON.")
@click.pass_context
def reactions(ctx: click.Context, project: str | None, as_json: bool) -> None:
    """What reactions are configured (effective values and where each came from), and
    whether they run; the subcommands read a session's history and switch them."""
    if ctx.invoked_subcommand is not None:
        if project is not None or as_json:
            fail(
                f"PROJECT and --json of `reactions` go with the listing only; "
                f"give them after `{ctx.invoked_subcommand}`",
                EXIT_USAGE,
            )
        return
    from core.config import resolve_project
    from core.errors import ConfigError
    from core.reactions.ledger import Ledger
    from core.reactions.rules import orchestrator_timeout
    from core.reactions.verbs import configured, state

    with _errors():
        engine = _load_engine(ctx)
        if project is not None:  # an unknown one is refused as `spawn --project` refuses it
            chosen = [resolve_project(engine.config, project, Path.cwd())[0]]
        else:
            try:
                chosen = [resolve_project(engine.config, None, Path.cwd())[0]]
            except ConfigError:  # several projects and the cwd in none: show them all
                chosen = sorted(engine.config.projects)
        listed = {project_id: configured(engine, project_id) for project_id in chosen}
        tier2 = {pid: orchestrator_timeout(engine.config, pid) for pid in chosen}
        now = state(engine)
        paused = sorted(Ledger(engine.store).paused())
    off = {project_id: why for project_id in listed if (why := _project_off(engine, project_id))}
    if as_json:
        _emit(
            {
                "state": now,
                "paused": paused,
                "projects": [
                    {
                        "project": project_id,
                        "enabled": project_id not in off,
                        "orchestrator_timeout": tier2[project_id][0],
                        "orchestrator_timeout_source": tier2[project_id][1],
                        "reactions": [rule.to_json() for rule in rules.values()],
                    }
                    for project_id, rules in listed.items()
                ],
            }
        )
        return
    from ao_tui.reactions_text import listing_text

    click.echo(listing_text(now, paused, listed, off, tier2))


def _project_off(engine: Engine, project_id: str) -> str:
    """Why every reaction of the project is off by its own config, or ""."""
    project = engine.config.projects[project_id]
    own = project.reactions
    if own is not None and own.enabled is False:
        return f"projects.{project_id}.reactions.enabled is false"
    if (own is None or own.enabled is None) and engine.config.reactions.enabled is False:
        return "reactions.enabled is false"
    return ""


@reactions.command()
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print {session, paused, episodes, ...}.")
@click.pass_context
def history(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """One session's reactions: its episodes, every message sent (with its text) and the
    reaction events of the log."""
    from core.reactions import verbs
    from core.reactions.log import reaction_events
    from core.reactions.rules import effective_rules

    with _errors():
        engine = _load_engine(ctx)
        found = verbs.history(engine, session_id)
        events = reaction_events(engine.store, session_id)
        now = verbs.state(engine)
        project = engine.get(session_id).project
        rules: dict[str, Rule] = (
            effective_rules(engine.config, project) if project in engine.config.projects else {}
        )
    if as_json:
        _emit(
            {
                **found.to_json(),
                "state": now,
                "events": [event.to_json() for event in events],
            }
        )
        return
    from ao_tui.reactions_text import history_text

    budgets = {key: rule.budget for key, rule in rules.items()}
    click.echo(
        history_text(session_id, now, found.paused, found.episodes, found.sends, events, budgets)
    )


@reactions.command()
@click.argument("session_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print {scope, paused, changed, state}.")
@click.pass_context
def pause(ctx: click.Context, session_id: str | None, as_json: bool) -> None:
    """Switch reactions off for SESSION_ID, or for every session (no id)."""
    _switch(ctx, session_id, on=False, as_json=as_json)


@reactions.command()
@click.argument("session_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print {scope, paused, changed, state}.")
@click.pass_context
def resume(ctx: click.Context, session_id: str | None, as_json: bool) -> None:
    """Switch reactions back on for SESSION_ID, or for every session (no id); for a
    session, also take back an escalation made by hand (``ao-tui escalate``)."""
    _switch(ctx, session_id, on=True, as_json=as_json)


def _switch(ctx: click.Context, session_id: str | None, *, on: bool, as_json: bool) -> None:
    """Pause or resume, idempotently: saying so when nothing changed is not an error."""
    from core.reactions import verbs
    from core.reactions.ledger import ALL, Ledger

    with _errors():
        engine = _load_engine(ctx)
        taken = on and session_id is not None and verbs.take_back(engine, session_id)
        changed = verbs.resume(engine, session_id) if on else verbs.pause(engine, session_id)
        now = verbs.state(engine)
        scopes = Ledger(engine.store).paused()
    scope = ALL if session_id is None else session_id
    if as_json:
        _emit(
            {
                "scope": scope,
                "paused": scope in scopes,
                "changed": changed or taken,
                "state": now,
                **({"taken_back": True} if taken else {}),
            }
        )
        return
    whom = "every session" if session_id is None else session_id
    verb = "resumed" if on else "paused"
    if taken:
        click.echo(f"{session_id}: the escalation made by hand is taken back")
    if changed:
        click.echo(f"reactions {verb} for {whom}")
    elif taken:
        pass  # they were not paused: taking it back was all there was to do
    elif on:
        click.echo(f"reactions were not paused for {whom}; nothing to resume")
    else:
        click.echo(f"reactions were already paused for {whom}")
    if on and session_id is not None and ALL in scopes:
        click.echo(
            "note: they stay paused for every session; `ao-tui reactions resume` resumes them",
            err=True,
        )
    if now.startswith("off"):
        click.echo(f"note: reactions are {now} in this config either way", err=True)


@reactions.command(name="send")
@click.argument("session_id")
@click.option("--edit", "edit", default=None, metavar="TEXT", help="Send this text instead.")
@click.option(
    "--file",
    "text_file",
    type=click.File("rb"),
    help="Send the text of this file instead ('-' for stdin), as UTF-8, byte for byte.",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"result": ..., "detail": ...}.')
@click.pass_context
def send_suggested(
    ctx: click.Context, session_id: str, edit: str | None, text_file: Any, as_json: bool
) -> None:
    """Send the message suggest mode prepared for SESSION_ID (as is, or your edit of it);
    exit 6 if it could not be delivered."""
    from core.reactions.verbs import send_suggestion

    if edit is not None and text_file is not None:
        fail("give the edited text with --edit TEXT or --file FILE, not both", EXIT_USAGE)
    text = read_text_file(text_file, "--file") if text_file is not None else edit
    with _errors():
        result, detail = send_suggestion(_load_engine(ctx), session_id, text)
    report_delivery(result, detail, as_json=as_json)


@reactions.command()
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help='Print {"session": ..., "dropped": true}.')
@click.pass_context
def drop(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """Discard the message suggest mode prepared for SESSION_ID; you deal with it."""
    from core.reactions.verbs import drop_suggestion

    with _errors():
        drop_suggestion(_load_engine(ctx), session_id)
    if as_json:
        _emit({"session": session_id, "dropped": True})
    else:
        click.echo(f"{session_id}: the suggested message was dropped; nothing was sent")


@main.command()
@click.argument("session_id")
@click.argument("why")
@click.option("--json", "as_json", is_flag=True, help="Print {session, reaction} as JSON.")
@click.pass_context
def escalate(ctx: click.Context, session_id: str, why: str, as_json: bool) -> None:
    """Hand SESSION_ID to the human, saying WHY: it goes to Needs you and a person is
    notified. What the orchestrator runs when judgment is needed; `ao-tui reactions resume
    SESSION_ID` takes it back."""
    with _errors():
        engine = _load_engine(ctx)
        mark = engine.escalate(session_id, why)
    if as_json:
        _emit({"session": session_id, "reaction": mark.to_json()})
    else:
        from core.inert import inert

        click.echo(f"{session_id} needs you: {inert(mark.reason, one_line=True)}")
