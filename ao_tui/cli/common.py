"""What every verb shares: exit codes, the one error handler, loading the engine and
printing sessions."""

from __future__ import annotations

import gc
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from core.config import Config
    from core.engine import Engine
    from core.models import DeliveryResult, Session, SessionPR
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


def _load_engine(ctx: click.Context, *, snapshot: bool = False, acting: bool = True) -> Engine:
    """The engine for the config in scope (``--config``, ``AO_TUI_CONFIG``, or found upward).

    ``snapshot``: the verb only reads settings (``status``), so the config may be rebuilt
    from its snapshot (:mod:`core.config_snapshot`) rather than validated again.
    ``acting``: the verb acts for whoever runs it, so when an agent ao-tui started runs
    it, the events it logs name that agent (:func:`core.provenance.actor_from`); False for
    the verbs that watch (their events are the engine's own).
    """
    from core.engine import Engine
    from core.registry import ENTRY_POINT_GROUP, Registry

    if snapshot:
        from core.locations import Locations
        from core.plugin_index import installed_entries

        index = Locations.from_env().plugin_index
        registry = Registry(entries=installed_entries(ENTRY_POINT_GROUP, index))
    else:
        registry = Registry()
    engine = Engine(_load_config(ctx, registry, snapshot=snapshot), registry=registry)
    engine.config_file = ctx.obj.get("config_file")
    if acting:
        from core.provenance import actor_from

        engine.store.actor = actor_from(os.environ)
    return engine


def _load_config(ctx: click.Context, registry: Registry, *, snapshot: bool = False) -> Config:
    """The config in scope, its warnings on stderr; exit 5 when there is none."""
    from core.config_files import find_config

    path = find_config(Path.cwd(), ctx.obj.get("config"))
    if path is None:
        fail(
            "no ao.config.yaml here or in any parent directory; run `ao-tui init` in your "
            "repository or pass --config",
            EXIT_CONFIG,
        )
    from ao_tui.keymap import DEFAULT_KEYMAP

    agents = registry.names("agent")
    if snapshot:
        from core.config_snapshot import load_settings
        from core.locations import Locations

        locations = Locations.from_env()
        loaded = load_settings(
            path, known_agents=agents, known_keys=DEFAULT_KEYMAP, locations=locations
        )
        config, warnings = loaded.config, loaded.warnings
    else:
        from core.config import load_config

        full = load_config(path, known_agents=agents, known_keys=DEFAULT_KEYMAP)
        config, warnings = full.config, full.warnings
    ctx.obj["config_file"] = path  # long-running verbs follow it (core.config_reload)
    for warning in warnings:
        click.echo(f"ao-tui: warning: {warning}", err=True)
    return config


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
        with _collector_paused():
            engine = _load_engine(ctx, snapshot=True)
            engine.reconcile()
            return engine.list()
    finally:
        lease.release()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cycle collector off for one bounded piece of work, then as it was.

    Importing the engine and its plugins allocates enough to set off a dozen collections,
    each walking every object made so far (~7 ms of a one-shot ``status``; issue 10 §8);
    the few cycles one reconcile leaves are collected once it is back on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


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
        "role": session.role.value,
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
        "reaction": session.reaction.to_json() if session.reaction is not None else None,
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


def report_delivery(result: DeliveryResult, detail: str, *, as_json: bool) -> None:
    """Print what became of a message (``send``, ``reactions send``); exit 6 if it failed."""
    from core.models import DeliveryResult

    if as_json:
        _emit({"result": result.value, "detail": detail})
    else:
        click.echo(f"{result.value}: {detail}", err=result is DeliveryResult.FAILED)
    if result is DeliveryResult.FAILED:
        raise SystemExit(EXIT_SEND_FAILED)


def _table(sessions: list[Session]) -> str:
    """The plain table of ``status`` and ``ls`` (:mod:`ao_tui.status_table`)."""
    from ao_tui.status_table import render_table

    return render_table(sessions, time.time())
