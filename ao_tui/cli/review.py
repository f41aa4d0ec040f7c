"""Verbs that review and land a session's work: ci, approve, merge, diff, log."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from core.ci_report import CiReport

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_CI_FAILING,
    EXIT_CI_RUNNING,
    EXIT_ERROR,
    EXIT_USAGE,
    _emit,
    _errors,
    _load_engine,
    fail,
    session_json,
)


@main.command()
@click.argument("session_id")
@click.option("--run", "rerun", is_flag=True, help="Run CI again on the current head.")
@click.option(
    "--wait",
    is_flag=True,
    help="Wait until no check is running; then exit 0 if CI passes (or there is none), "
    f"{EXIT_CI_FAILING} if it fails.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help=f"With --wait: give up after this long and exit {EXIT_CI_RUNNING} if a check still runs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {state, checks} as JSON.")
@click.pass_context
def ci(
    ctx: click.Context,
    session_id: str,
    rerun: bool,
    wait: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """CI of a session's head commit: each check with its state and the log excerpt.

    Each check is labelled with the command that run ran. With --wait the exit status
    says the outcome: 0 passing or no CI, 10 failing, 11 still running after --timeout.
    """
    if timeout is not None and not wait:
        fail("--timeout only goes with --wait", EXIT_USAGE)
    with _errors():
        engine = _load_engine(ctx)
        report = engine.ci(session_id, run=rerun)
        deadline = None if timeout is None else time.monotonic() + timeout
        while wait and report.state == "running":
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.5)
            report = engine.ci(session_id)
    if as_json:
        _emit(report.to_json())
    else:
        _print_ci(session_id, report)
    if wait and report.state == "failing":
        raise SystemExit(EXIT_CI_FAILING)
    if wait and report.state == "running":
        if not as_json:
            click.echo(f"ao-tui: CI of {session_id} still running after {timeout:g}s", err=True)
        raise SystemExit(EXIT_CI_RUNNING)


def _print_ci(session_id: str, report: CiReport) -> None:
    """The plain ``ci`` report: one line per check (its command), the failing excerpt."""
    from core.inert import inert

    click.echo(f"{session_id} at {report.head_sha[:10]}: CI {report.state}")
    # Each check as --json shows it: its name and excerpt masked, the excerpt bounded.
    for check in (run.to_json() for run in report.checks):
        took = "" if check["duration"] is None else f" ({check['duration']:.1f}s)"
        click.echo(f"  {check['state']:<8} {inert(str(check['name']), one_line=True)}{took}")
        if check["state"] == "failing" and check["excerpt"]:
            for line in inert(check["excerpt"]).splitlines():
                click.echo(f"    {line}")
        if check.get("log"):
            click.echo(f"    log: {check['log']}")
    configured = report.command_changed()
    if configured:
        now = inert(configured, one_line=True)
        click.echo(
            f"note: ci.command is now {now!r}; `ao-tui ci {session_id} --run` runs it", err=True
        )


@main.command()
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON.")
@click.pass_context
def approve(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """Approve the session's current head commit (a later push needs a new approval)."""
    with _errors():
        session = _load_engine(ctx).approve(session_id)
    if as_json:
        _emit(session_json(session))
    else:
        from core.inert import inert

        pr = session.pr
        blockers = "; ".join(pr.blockers if pr else ()) or "none"
        state = pr.state if pr else None
        click.echo(inert(f"{session.id} approved; PR {state}; blockers: {blockers}"))


@main.command()
@click.argument("session_id")
@click.option(
    "--method",
    type=click.Choice(["merge", "squash", "rebase"]),
    help="How to land the branch (default: the project's merge.method).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Merge even with blockers (CI failing, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the merged session as JSON.")
@click.pass_context
def merge(
    ctx: click.Context,
    session_id: str,
    method: str | None,
    yes: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Land a session's branch on its base branch; refused while blocked unless --force."""
    from core.inert import inert
    from core.scm import MergeBlockedError

    with _errors():
        engine = _load_engine(ctx)
        if not yes:
            pr = engine.reconcile_one(session_id).pr
            click.echo(f"{session_id}: PR {pr.state if pr else 'none'}", err=True)
            for blocker in pr.blockers if pr else ():
                click.echo(f"  blocker: {inert(str(blocker), one_line=True)}", err=True)
            if not sys.stdin.isatty():
                fail("not a terminal: pass --yes to merge without asking", EXIT_USAGE)
            if not click.confirm("Merge now?", err=True):
                fail("not merged", EXIT_ERROR)
        try:
            session, sha = engine.merge(session_id, method=method, force=force)
        except MergeBlockedError as exc:
            click.echo(f"ao-tui: {session_id} cannot be merged:", err=True)
            for blocker in exc.blockers:
                click.echo(f"  - {inert(str(blocker), one_line=True)}", err=True)
            click.echo("fix them, or pass --force to merge anyway", err=True)
            raise SystemExit(exc.exit_code) from None
    notes = list(session.pr.notes) if session.pr else []
    if as_json:
        _emit({**session_json(session), "sha": sha, "notes": notes})
        return
    click.echo(f"{session.id} merged into {session.base_branch} as {sha[:10]}")
    for note in notes:
        click.echo(f"note: {inert(str(note))}", err=True)


@main.command()
@click.argument("session_id")
@click.option("--stat", is_flag=True, help="Files changed with counts only.")
@click.pass_context
def diff(ctx: click.Context, session_id: str, stat: bool) -> None:
    """The session branch's changes against its base branch.

    On a terminal, control characters in the changed files are shown (``^[``) rather than
    sent to it; piped, the diff is passed on byte for byte.
    """
    with _errors():
        text = _load_engine(ctx).diff(session_id, stat=stat)
    if sys.stdout.isatty():
        from core.inert import inert

        text = inert(text)
    # color=True: piped, click would strip what looks like colour codes from the files.
    click.echo(text, nl=False, color=True)


@main.command(name="log")
@click.option("--session", "session_id", default=None, help="Only this session's commits.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="List at most this many commits, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {commits: [...]} as JSON.")
@click.pass_context
def log_(ctx: click.Context, session_id: str | None, limit: int, as_json: bool) -> None:
    """Commits the sessions made, by session and agent (their Ao-Session/Ao-Agent trailers).

    Every local branch of each project's repository is read, so merged work is listed too,
    with the merge commits ao-tui made.
    """
    with _errors():
        entries = _load_engine(ctx).log(session_id, limit=limit)
    if as_json:
        _emit({"commits": [entry.to_json() for entry in entries]})
        return
    if not entries:
        click.echo(f"no commits of {session_id} found" if session_id else "no commits found")
        return
    from core.inert import inert

    current = None
    for entry in sorted(entries, key=lambda e: (e.session, -e.time)):
        if entry.session != current:
            current = entry.session
            click.echo(inert(f"{entry.session}  {entry.agent}  ({entry.project})", one_line=True))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.time))
        click.echo("  " + inert(f"{entry.sha[:10]}  {when}  {entry.subject}", one_line=True))
