"""``ao-tui notify``: the channels that reach a person, and the outbox on the way to them.

- ``notify test [NAME]``: a test message through one notifier, or every one configured,
  sent from here (not through the daemon); each result, and exit 6 if any failed.
- ``notify outbox``: rows still to be delivered (pending, held, failed, with reasons) and
  the recent delivered ones.
- ``notify retry ID``: send a failed or held row again now (the daemon's worker does).

The work is :mod:`core.notify`; this module parses, prints and picks exit codes. Nothing
printed holds a notifier's URL or token: rows store none, and errors are masked.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from ao_tui.cli.cockpit import main
from ao_tui.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_SEND_FAILED,
    EXIT_STATE,
    _emit,
    _errors,
    _load_engine,
    fail,
)

if TYPE_CHECKING:
    from core.notify.outbox import Row


@main.group()
def notify() -> None:
    """Notifications: test a channel, read the outbox, retry a row."""


@notify.command(name="test")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print {results: [...]} as JSON.")
@click.pass_context
def test_notifier(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Send a test notification through NAME, or through every configured notifier;
    exit 6 if one could not deliver."""
    from core.config_notify import BUILT_IN_NOTIFIERS, routes
    from core.notify.model import NotifierError
    from core.notify.sending import resolve, send_now
    from core.notify.words import trial_notification

    with _errors():
        engine = _load_engine(ctx)
    config = engine.config
    routed = {n for p in ("urgent", "action", "warning", "info") for n in routes(config, p)}
    known = sorted(set(config.notifiers) | routed)
    if name is not None:
        if name not in config.notifiers and name not in BUILT_IN_NOTIFIERS:
            listed = ", ".join(known) or "none configured"
            fail(f"no notifier named {name!r} (configured: {listed})", EXIT_NOT_FOUND)
        chosen = [name]
    else:
        chosen = known
        if not chosen:
            fail(
                "no notifier is configured; add one under `notifiers:` and route priorities "
                "to it with `notificationRouting:` (see the README's Notifications)",
                EXIT_NOT_FOUND,
            )
    results: list[dict[str, Any]] = []
    for each in chosen:
        now = time.time()
        entry = config.notifiers.get(each)
        plugin = entry.plugin if entry is not None else each
        key = f"ao-test-{int(now * 1000):x}"
        started = time.monotonic()
        error = None
        try:
            send_now(resolve(each, config, engine.registry), trial_notification(each, now), key)
        except NotifierError as exc:
            error = str(exc)
        results.append(
            {
                "notifier": each,
                "plugin": plugin,
                "ok": error is None,
                "error": error,
                "key": key,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    if as_json:
        _emit({"results": results})
    else:
        for result in results:
            verdict = "sent" if result["ok"] else f"FAILED: {result['error']}"
            line = f"{result['notifier']} ({result['plugin']}): {verdict}"
            click.echo(line, err=not result["ok"])
    if any(not result["ok"] for result in results):
        raise SystemExit(EXIT_SEND_FAILED)


@notify.command()
@click.option("--recent", default=20, show_default=True, help="Delivered rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Print {rows: [...]} as JSON.")
def outbox(recent: int, as_json: bool) -> None:
    """The notifications still to go (pending, held, failed, with the reasons) and the
    most recent delivered ones."""
    from ao_tui.cli.common import _store
    from core.notify.outbox import Outbox

    with _errors():
        rows = Outbox(_store()).rows(recent=max(0, recent))
    if as_json:
        _emit({"rows": [row.to_json() for row in rows]})
        return
    if not rows:
        click.echo("the outbox is empty: no notification was sent or is waiting")
        return
    for row in rows:
        click.echo(_line(row))


@notify.command()
@click.argument("row_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the row as JSON.")
def retry(row_id: int, as_json: bool) -> None:
    """Send row ROW_ID again now (a failed, held or backing-off one): the process that
    watches the sessions (daemon or cockpit) delivers it."""
    from ao_tui.cli.common import _store
    from core.notify.outbox import Outbox
    from core.notify.worker import KIND

    with _errors():
        store = _store()
        box = Outbox(store)
        before = box.row(row_id)
        if before is None:
            fail(f"no outbox row {row_id}; list them with `ao-tui notify outbox`", EXIT_NOT_FOUND)
        if before.state in ("sent", "batched", "sending"):
            fail(
                f"row {row_id} is {before.state}; only a failed, held or pending row is retried",
                EXIT_STATE,
            )
        row = box.retry(row_id)
        assert row is not None
        # The event is what wakes the worker of the watching process (the change feed).
        store.append_event(
            row.session_id, KIND, {"outcome": "retry", "id": row.id, "notifier": row.notifier}
        )
    if as_json:
        _emit(row.to_json())
    else:
        click.echo(f"row {row_id} ({row.notifier}) will be sent again now")


def _line(row: Row) -> str:
    """One row of the outbox listing."""
    from core.inert import inert

    stamp = time.strftime("%m-%d %H:%M", time.localtime(row.created_at))
    state = row.state if not row.hold else f"{row.state}:{row.hold}"
    more = f" (+{row.repeats} repeats)" if row.repeats else ""
    tail = ""
    if row.state == "pending" and row.attempts:
        wait = max(0, round(row.next_at - time.time()))
        tail = f"  (retry in {wait}s, attempt {row.attempts + 1})"
    if row.last_error and row.state != "sent":
        tail += f"  {row.last_error}"
    title = inert(row.notification.title, one_line=True)
    who = row.session_id or "-"
    return (
        f"{row.id:>5} {stamp} {state:<14} {row.priority:<7} {row.notifier:<12} {who:<10} "
        f"{title}{more}{inert(tail, one_line=True)}"
    )
