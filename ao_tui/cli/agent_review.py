"""The ``review`` group: a reviewer's findings and verdict on a session's head.

``ao-tui review comment ID --file F --line N "text"``, ``ao-tui review request-changes ID
["summary"]`` and ``ao-tui review approve ID ["summary"]``. ``ID`` is the author's session;
the reviewer is the session named by ``AO_TUI_ACTOR`` (ao-tui sets it for the reviewer
agents it spawns), or the operator. The work is :mod:`core.review_verbs`'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import click

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import _emit, _errors, _load_engine

if TYPE_CHECKING:
    from core.agent_reviews import AgentReview, ReviewComment


@main.group()
def review() -> None:
    """Review a session's head: comment on lines, then request changes or approve."""


@review.command()
@click.argument("session_id")
@click.option("--file", "path", required=True, help="The file, from the repository's root.")
@click.option("--line", "line", required=True, help="The line number in that file (from 1).")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the comment and its review.")
@click.pass_context
def comment(
    ctx: click.Context, session_id: str, path: str, line: str, text: str, as_json: bool
) -> None:
    """Add a finding at FILE:LINE to the review of SESSION_ID's head."""
    from core.review_verbs import checked_line_text

    with _errors():
        number = checked_line_text(line)
        engine = _load_engine(ctx)
        found, added = engine.review_comment(session_id, path, number, text)
    if as_json:
        _emit({**found.to_json(), "comment": added.to_json()})
    else:
        click.echo(
            f"{session_id} at {found.head_sha[:10]}: comment {added.path}:{added.line} recorded"
        )


@review.command(name="request-changes")
@click.argument("session_id")
@click.argument("summary", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print the submitted review.")
@click.pass_context
def request_changes(ctx: click.Context, session_id: str, summary: str, as_json: bool) -> None:
    """Submit the review of SESSION_ID's head, asking for changes."""
    _submit(ctx, session_id, "changes_requested", summary, as_json)


@review.command()
@click.argument("session_id")
@click.argument("summary", required=False, default="")
@click.option("--json", "as_json", is_flag=True, help="Print the submitted review.")
@click.pass_context
def approve(ctx: click.Context, session_id: str, summary: str, as_json: bool) -> None:
    """Submit the review of SESSION_ID's head, approving it."""
    _submit(ctx, session_id, "approved", summary, as_json)


def _submit(
    ctx: click.Context,
    session_id: str,
    verdict: Literal["changes_requested", "approved"],
    summary: str,
    as_json: bool,
) -> None:
    with _errors():
        engine = _load_engine(ctx)
        done, comments, notes = engine.review_submit(session_id, verdict, summary)
    if as_json:
        _emit({**done.to_json(comments), "notes": notes})
        return
    click.echo(_line(done, comments))
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _line(done: AgentReview, comments: list[ReviewComment]) -> str:
    what = "changes requested" if done.verdict == "changes_requested" else "approved"
    count = len(comments)
    return (
        f"{done.session_id} at {done.head_sha[:10]}: {what} "
        f"({count} comment{'' if count == 1 else 's'})"
    )
