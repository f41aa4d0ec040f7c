"""The ``ao-tui`` command line: every headless verb, stable exit codes, errors on stderr.

Imports are deferred into each verb so ``--help``, ``status --json`` and other headless
calls never load Textual or Rich (tests/unit/test_import_hygiene.py checks it).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from core.config import Config
    from core.engine import Engine
    from core.models import Session, SessionPR
    from core.registry import Registry
    from core.store import Store

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_DUPLICATE = 4
EXIT_CONFIG = 5
EXIT_SEND_FAILED = 6
EXIT_STATE = 7
EXIT_CI_FAILING = 10
"""``ci --wait``: the CI of the head failed (8 and 9 are merge's)."""
EXIT_CI_RUNNING = 11
"""``ci --wait --timeout``: a check was still running when the time was up."""


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one line on stderr that says what went wrong and what to do, then exit."""
    from core.inert import inert

    # Errors quote titles, issue text and host replies: none of it may act on the terminal.
    click.echo(f"ao-tui: {inert(message)}", err=True)
    raise SystemExit(code)


DEBUG_ENV_VAR = "AO_TUI_DEBUG"
"""Set to 1 to get the traceback of an unexpected error instead of its one-line summary."""


@contextmanager
def _errors() -> Iterator[None]:
    """Turn every error into one stderr line and a stable exit code, never a traceback.

    Every ao-tui error (:class:`core.errors.AoError`) carries its exit code; anything else
    is a bug or an environment failure nobody anticipated: one line naming it and exit 1,
    unless ``AO_TUI_DEBUG=1`` asks for the traceback.
    """
    from core.errors import AoError

    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise  # click prints these itself, with its usage exit code
    except AoError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get(DEBUG_ENV_VAR) == "1":
            raise
        fail(unexpected_error(exc), EXIT_ERROR)


def unexpected_error(exc: BaseException) -> str:
    """One line for an error no ao-tui code anticipated (credentials masked)."""
    from core.redact import redact

    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror}"
    else:
        text = " ".join(str(exc).split()) or "(no message)"
        text = f"{type(exc).__name__}: {text}"
    return (
        f"unexpected error: {redact(text)[:500]}; rerun with {DEBUG_ENV_VAR}=1 for the "
        "traceback and report it"
    )


class _Verbs(click.Group):
    """The verb group: no error escapes any verb as a traceback (see :func:`_errors`)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the chosen verb under the one error handler."""
        with _errors():
            return super().invoke(ctx)


MAX_TEXT_FILE_BYTES = 1_000_000
"""Largest message or task file read; more is not a message (and /dev/zero never ends)."""


def read_text_file(handle: Any, option: str) -> str:
    """The file's text exactly as its bytes say: UTF-8, no newline translation.

    CR and CRLF stay what they are (the text is not ours to rewrite); bytes that are not
    UTF-8 are a usage error naming the byte offset, never a traceback.
    """
    name = getattr(handle, "name", "-")
    name = "stdin" if name in ("-", "<stdin>") else str(name)
    data = handle.read(MAX_TEXT_FILE_BYTES + 1)
    if len(data) > MAX_TEXT_FILE_BYTES:
        fail(
            f"{option} {name}: larger than {MAX_TEXT_FILE_BYTES:,} bytes; put it in a file in "
            "the repository and point the agent at it",
            EXIT_USAGE,
        )
    try:
        return str(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        fail(
            f"{option} {name}: not valid UTF-8 at byte {exc.start} "
            f"(0x{data[exc.start]:02x}); save it as UTF-8",
            EXIT_USAGE,
        )


def _load_engine(ctx: click.Context) -> Engine:
    """The engine for the config in scope (``--config``, ``AO_TUI_CONFIG``, or found upward)."""
    from core.engine import Engine
    from core.registry import Registry

    registry = Registry()
    return Engine(_load_config(ctx, registry), registry=registry)


def _load_config(ctx: click.Context, registry: Registry) -> Config:
    """The config in scope, its warnings on stderr; exit 5 when there is none."""
    from core.config import find_config, load_config

    path = find_config(Path.cwd(), ctx.obj.get("config"))
    if path is None:
        fail(
            "no ao.config.yaml here or in any parent directory; run `ao-tui init` in your "
            "repository or pass --config",
            EXIT_CONFIG,
        )
    from ao_tui.keymap import DEFAULT_KEYMAP

    loaded = load_config(path, known_agents=registry.names("agent"), known_keys=DEFAULT_KEYMAP)
    ctx.obj["config_file"] = path  # long-running verbs follow it (core.config_reload)
    for warning in loaded.warnings:
        click.echo(f"ao-tui: warning: {warning}", err=True)
    return loaded.config


def _fresh_sessions(ctx: click.Context) -> list[Session]:
    """Every session, refreshed now unless a daemon or cockpit already keeps them fresh.

    When another process holds the engine lease it reconciles on every agent signal, so the
    store is current and this call needs neither the config nor the plugins — that keeps
    ``status --json`` cheap for scripts that poll it.
    """
    from core.lease import EngineLease
    from core.locations import Locations

    lease = EngineLease(Locations.from_env().engine_lock, kind="cli")
    if not lease.acquire():
        return _store().list_sessions()
    try:
        engine = _load_engine(ctx)
        engine.reconcile()
        return engine.list()
    finally:
        lease.release()


def _store() -> Store:
    """The state database alone (no config, no plugins)."""
    from core.locations import Locations
    from core.store import Store

    locations = Locations.from_env()
    locations.ensure()
    return Store(locations.database)


def session_json(session: Session) -> dict[str, Any]:
    """The object ``status --json`` and ``spawn --json`` print for one session."""
    from core.attention import needs_you_reason
    from core.models import Zone
    from core.zones import zone_of

    zone = zone_of(session)
    return {
        "id": session.id,
        "project": session.project,
        "agent": session.agent,
        "title": session.title,
        "branch": session.branch,
        "base_branch": session.base_branch,
        "worktree": session.worktree,
        "tmux": session.tmux,
        "lifecycle": session.lifecycle.value,
        "lifecycle_reason": session.lifecycle_reason,
        "zone": zone.value,
        "needs_you": needs_you_reason(session, keys=False) if zone is Zone.NEEDS_YOU else None,
        "activity": session.activity.to_json(),
        "pr": _pr_json(session.pr),
        "attempt": session.attempt,
        "issue": session.issue or None,
        "agent_session_id": session.agent_session_id,
        "created_at": session.created_at,
    }


_PR_KEYS = ("state", "number", "url", "ci", "review", "mergeable", "blockers", "problem")


def _pr_json(pr: SessionPR | None) -> dict[str, Any] | None:
    """The stable ``pr`` object of ``status --json`` (the store keeps more facts)."""
    if pr is None:
        return None
    stored = pr.to_json()
    return {key: stored[key] for key in _PR_KEYS}


def _emit(data: Any) -> None:
    from core.inert import inert_json

    # The same data, but no raw DEL, C1 control or bidi override reaches a terminal.
    click.echo(inert_json(json.dumps(data, ensure_ascii=False)))


def _table(sessions: list[Session]) -> str:
    """The plain table of ``status`` and ``ls`` (:mod:`ao_tui.status_table`)."""
    from ao_tui.status_table import render_table

    return render_table(sessions, time.time())


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


@main.command()
@click.option("-p", "--prompt", help="The task for the agent.")
@click.option(
    "--prompt-file",
    type=click.File("rb"),
    help="Read the task from a file ('-' for stdin), as UTF-8, byte for byte.",
)
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
@click.option(
    "--clean",
    "clean_text",
    is_flag=True,
    help="Remove escape sequences and control characters (other than newline and tab) from "
    "the prompt and title instead of refusing them.",
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
    from core.inert import clean

    if prompt_file is not None:
        prompt = read_text_file(prompt_file, "--prompt-file")
    if clean_text:
        prompt = clean(prompt) if prompt is not None else None
        title = clean(title) if title is not None else None
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
@click.option(
    "--file",
    "text_file",
    type=click.File("rb"),
    help="Read the message from a file ('-' for stdin), as UTF-8, byte for byte.",
)
@click.option("--timeout", default=8.0, show_default=True, help="Seconds to wait for a receipt.")
@click.option(
    "--clean",
    "clean_text",
    is_flag=True,
    help="Send the message without escape sequences and control characters (other than "
    "newline and tab; CRLF becomes LF) instead of refusing it.",
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
    from core.inert import clean
    from core.models import DeliveryResult

    if text_file is not None:
        text = read_text_file(text_file, "--file")
    if text is None:
        fail("give the message as an argument or with --file FILE", EXIT_USAGE)
    if clean_text:
        text = clean(text)
    with _errors():
        engine = _load_engine(ctx)
        result, detail = engine.send(session_id, text, confirm_timeout=timeout)
    if as_json:
        _emit({"result": result.value, "detail": detail})
    else:
        click.echo(f"{result.value}: {detail}", err=result is DeliveryResult.FAILED)
    if result is DeliveryResult.FAILED:
        raise SystemExit(EXIT_SEND_FAILED)


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


@main.command()
@click.argument("session_id", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they happen.")
@click.option(
    "--since",
    type=int,
    default=None,
    help="Start after this sequence number (default: all, or now with --follow).",
)
@click.option(
    "--session",
    "session_option",
    default=None,
    metavar="SESSION_ID",
    help="Only this session's events (the same as giving SESSION_ID).",
)
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one event object per line.")
@click.pass_context
def events(
    ctx: click.Context,
    session_id: str | None,
    follow: bool,
    since: int | None,
    session_option: str | None,
    as_json: bool,
) -> None:
    """The event log (of SESSION_ID only, when given); with --follow, a live stream of every
    state change.

    While no cockpit or daemon watches the sessions, --follow watches them itself (and
    takes over the moment the one that does stops), so the stream never goes quiet.
    """
    import asyncio

    from core.inert import inert
    from core.models import Event

    if session_id is not None and session_option is not None and session_id != session_option:
        fail(
            f"two sessions given ({session_id!r} and --session {session_option!r}); give one",
            EXIT_USAGE,
        )
    session_filter = session_id if session_id is not None else session_option

    def show(event: Event) -> None:
        if session_filter and event.session_id != session_filter:
            return
        if as_json:
            _emit(event.to_json())
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
            # JSON escapes C0 controls but not DEL, C1 or bidi overrides.
            data = inert(json.dumps(event.data, ensure_ascii=False), one_line=True)
            click.echo(f"{event.seq:>6} {stamp} {event.session_id:<12} {event.kind:<10} {data}")
        sys.stdout.flush()

    with _errors():
        engine = _load_engine(ctx)
        if session_filter is not None and engine.store.get_session(session_filter) is None:
            fail(f"no session {session_filter!r}; list them with `ao-tui status`", EXIT_NOT_FOUND)
        if not follow:
            for event in engine.store.events_after(since or 0, limit=1_000_000):
                show(event)
            return
        try:
            asyncio.run(_follow(engine, since, show))
        except KeyboardInterrupt:
            pass


async def _follow(engine: Engine, since: int | None, show: Callable[[Any], None]) -> None:
    """Stream events; reconcile too whenever no daemon or cockpit holds the engine lease
    (now, or later: the stream takes over the moment the holder goes away)."""
    import asyncio

    from core.lease import EngineLease

    stop = asyncio.Event()
    lease = EngineLease(engine.locations.engine_lock, kind="events")
    watcher = asyncio.create_task(_watch_when_free(engine, lease, stop))
    try:
        async for event in engine.events(after=since):
            show(event)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await watcher
        lease.close()


async def _watch_when_free(
    engine: Engine,
    lease: Any,
    stop: Any,
    *,
    interval: float = 1.0,
    on_events: Callable[[Any], None] | None = None,
    on_holder: Callable[[Any], None] | None = None,
    on_taken: Callable[[], None] | None = None,
) -> None:
    """Take the engine lease as soon as it is free, then reconcile until ``stop``.

    A failing tick is said once on stderr (per distinct error) and the loop carries on;
    the lease is given back when the loop ends, so another process can watch.
    """
    from core.daemon import reconcile_loop
    from core.lease import wait_for_lease

    said: list[str] = []

    def tick_failed(exc: Exception) -> None:
        text = f"ao-tui: reconcile failed: {exc}"
        if not said or said[-1] != text:
            said.append(text)
            click.echo(text, err=True)

    following = None
    try:
        if await wait_for_lease(lease, stop, on_holder=on_holder):
            if on_taken is not None:
                on_taken()
            # The watcher starts CI runs at new heads, which must run the file's command
            # of now: it follows the config while it watches.
            following = _follow_config(engine, stop)
            await reconcile_loop(
                engine, stop, interval=interval, on_events=on_events, on_error=tick_failed
            )
    finally:
        if following is not None:
            stop.set()
            with contextlib.suppress(Exception):
                await following
        lease.release()


def _follow_config(engine: Engine, stop: Any) -> Any:
    """Reload the config file into ``engine`` whenever it changes, until ``stop``; each
    reload is one stderr line (a long-running reconciler starts CI runs and must run the
    file's command of now). The task, or None when the config came from no file."""
    import asyncio

    from ao_tui.keymap import DEFAULT_KEYMAP
    from core.config_reload import ConfigFollower, Reload
    from core.inert import inert

    path = click.get_current_context().obj.get("config_file")
    if path is None:
        return None

    def say(found: Reload) -> None:
        if found.error:
            kept = "not reloaded, the previous config stays in use"
            click.echo(f"ao-tui: {path.name} {kept}: {inert(found.error)}", err=True)
        elif found.changed:
            click.echo(f"ao-tui: {path.name} reloaded: {inert(found.summary)}", err=True)

    follower = ConfigFollower(engine, path, known_keys=DEFAULT_KEYMAP)
    return asyncio.create_task(follower.follow(stop, say))


@main.command()
@click.option("--interval", default=1.0, show_default=True, help="Seconds between timer ticks.")
@click.option("--json", "as_json", is_flag=True, help="Print each recorded event as NDJSON.")
@click.pass_context
def daemon(ctx: click.Context, interval: float, as_json: bool) -> None:
    """Run the engine headless: reconcile on every agent signal until interrupted.

    Keeps the sessions watched (prompts noticed, CI finished, exits seen) with no cockpit
    open. Only one process watches at a time: while a cockpit (or another daemon) does,
    this one waits, and takes over within a fraction of a second when it stops.
    """
    import asyncio

    from core.lease import EngineLease, LeaseHolder
    from core.models import Event

    with _errors():
        engine = _load_engine(ctx)
    lease = EngineLease(engine.locations.engine_lock, kind="daemon")

    def show(batch: list[Event]) -> None:
        for event in batch:
            if as_json:
                _emit({"session": event.session_id, "kind": event.kind, "data": event.data})
            else:
                click.echo(f"{event.session_id} {event.kind} {event.data.get('state', '')}")
        sys.stdout.flush()

    def waiting(holder: LeaseHolder | None) -> None:
        if holder is not None:
            click.echo(
                f"ao-tui daemon: {holder.describe()} is watching the sessions; this daemon "
                "takes over when it stops (Ctrl-C quits)",
                err=True,
            )

    def taken() -> None:
        count = len(engine.list())
        click.echo(f"ao-tui daemon: watching {count} sessions; Ctrl-C stops it", err=True)

    async def run() -> None:
        await _watch_when_free(
            engine,
            lease,
            asyncio.Event(),
            interval=interval,
            on_events=show,
            on_holder=waiting,
            on_taken=taken,
        )

    try:
        with _errors():
            try:
                asyncio.run(run())
            except KeyboardInterrupt:
                pass
    finally:
        lease.close()


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
    from core.project_checks import config_problems

    with _errors():
        engine = _load_engine(ctx)
        source = find_config(Path.cwd(), ctx.obj.get("config"))
        problems = config_problems(engine.config.projects, engine.workspace, source)
        if problems:
            raise ConfigError(problems)
    click.echo(f"ok: {len(engine.config.projects)} project(s)")


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
    from core.recovery import recover as rebuild
    from core.registry import Registry

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
def demo(keep: bool, sessions: int, speed: float, headless: bool) -> None:
    """Open the cockpit on a throwaway sandbox of scripted demo agents.

    Needs only tmux and git: no agent install, no network, no GitHub. The agents are
    scripted stand-ins (labelled "demo" everywhere) that edit and commit a small sample
    project, ask permission, fail tests and hit errors, so every part of the cockpit has
    something to show. Everything is removed on exit unless --keep is given.
    """
    from ao_tui.demo import build_demo, hangup_exits, quit_message

    click.echo("ao-tui: building the demo sandbox…", err=True)
    # A closed terminal (SIGHUP) or a kill (SIGTERM) must still remove the sandbox: the
    # cockpit quits (or SystemExit is raised), so the `finally` below runs. Also while it
    # is built: each spawn waits for its agent's launcher, and build_demo undoes a
    # half-built sandbox when SystemExit is raised inside it.
    app: Any = None
    with hangup_exits(lambda: app.exit() if app is not None else None):
        with _errors():
            sandbox = build_demo(sessions=sessions, speed=speed)
        try:
            if headless:
                click.echo(f"demo sandbox in {sandbox.root}; the board every second for 20 s")
                try:
                    for _ in range(20):
                        sandbox.engine.reconcile()
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
        while wait and report["state"] == "running":
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.5)
            report = engine.ci(session_id)
    if as_json:
        _emit(report)
    else:
        _print_ci(session_id, report)
    if wait and report["state"] == "failing":
        raise SystemExit(EXIT_CI_FAILING)
    if wait and report["state"] == "running":
        if not as_json:
            click.echo(f"ao-tui: CI of {session_id} still running after {timeout:g}s", err=True)
        raise SystemExit(EXIT_CI_RUNNING)


def _print_ci(session_id: str, report: dict[str, Any]) -> None:
    """The plain ``ci`` report: one line per check (its command), the failing excerpt."""
    from core.inert import inert

    click.echo(f"{session_id} at {report['head_sha'][:10]}: CI {report['state']}")
    for check in report["checks"]:
        took = "" if check["duration"] is None else f" ({check['duration']:.1f}s)"
        click.echo(f"  {check['state']:<8} {inert(str(check['name']), one_line=True)}{took}")
        if check["state"] == "failing" and check["excerpt"]:
            for line in inert(check["excerpt"]).splitlines():
                click.echo(f"    {line}")
        if check.get("log"):
            click.echo(f"    log: {check['log']}")
    configured = report.get("ci_command")
    ran = [check.get("command") for check in report["checks"] if check.get("command")]
    if configured and ran and configured not in ran:
        now = inert(str(configured), one_line=True)
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
