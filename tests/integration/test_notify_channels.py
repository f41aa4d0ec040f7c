"""Issue 12, "Done when": a person away from the screen learns within seconds (plus any
back-off) that a session escalated, through each channel, exactly once.

Everything is real: a project on a real git repo whose CI (a real command) fails, a shell
agent in real tmux that flails until the reaction budget is spent, the real ``ao-tui
daemon`` process (reconcile, reactions and the outbox), and every channel at once
(tests/support/notify_channels.py): HTTP receivers for the webhook (verifying its HMAC),
Slack, Discord, OpenClaw and ntfy on 127.0.0.1, and a desktop on a private D-Bus session
bus (python-dbusmock's notification daemon). The second test SIGKILLs the daemon in the
middle of delivering, with one receiver slow, and restarts it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.faults import FAULT_ENV
from core.locations import Locations
from core.models import Event
from core.notify.outbox import Outbox
from tests.support.notify_channels import ENV, NOTIFIERS, WEBHOOK_SECRET, Channels, channels
from tests.support.reactions_world import World, commit, make_world, until

pytestmark = pytest.mark.reactions

ROOT = Path(__file__).resolve().parents[2]
FEW_SECONDS = 5.0
"""How soon after the escalation every channel must have it (no back-off on the way)."""
QUIET_AFTER = 2.0
"""How long the test keeps watching after delivery for a second copy."""


def start_daemon(
    world: World, chans: Channels, name: str, fault: str = ""
) -> subprocess.Popen[bytes]:
    """The real ``ao-tui daemon`` on this checkout's code, the channels' bus and the
    config's variables; stdout and stderr go to ``<name>.out`` / ``<name>.err``."""
    env = {**os.environ, **ENV, "DBUS_SESSION_BUS_ADDRESS": chans.bus}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    with (
        (world.tmp_path / f"{name}.out").open("wb") as out,
        (world.tmp_path / f"{name}.err").open("wb") as err,
    ):
        return subprocess.Popen(
            [sys.executable, "-m", "ao_tui", "--config", str(world.config), "daemon"],
            cwd=world.tmp_path,
            env=env,
            stdout=out,
            stderr=err,
        )


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the daemon's clean stop), then wait for it."""
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait(timeout=10)


def escalation(world: World, session_id: str) -> Event | None:
    """The session's first ``escalated`` reaction event."""
    return next(
        (
            e
            for e in world.events(session_id)
            if e.kind == "reaction" and e.data.get("outcome") == "escalated"
        ),
        None,
    )


def ao_cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """``ao-tui ARGS`` on this checkout's code and the world's config."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(world.config), *args],
        cwd=world.tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def outbox_json(world: World) -> list[dict[str, Any]]:
    """The rows ``ao-tui notify outbox --json`` lists."""
    done = ao_cli(world, "notify", "outbox", "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)["rows"]
    return rows


def all_sent(world: World) -> bool:
    """Whether the outbox holds one sent row per notifier (read from the store)."""
    rows = Outbox(world.engine.store).rows()
    return len(rows) == len(NOTIFIERS) and all(r.state == "sent" for r in rows)


def database_dump() -> str:
    """Every table of the store, as SQL text (the outbox, events, sessions, ledgers)."""
    connection = sqlite3.connect(f"file:{Locations.from_env().database}?mode=ro", uri=True)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def assert_no_secret(chans: Channels, places: dict[str, str]) -> None:
    """No configured secret (token, signing secret, webhook path) in any of ``places``."""
    leaks = [(where, s) for where, text in places.items() for s in chans.secrets() if s in text]
    assert leaks == [], leaks


def everything_written(world: World, names: list[str]) -> dict[str, str]:
    """What the daemons and the CLI left for a person or a log to read."""
    log = Locations.from_env().home / "daemon.log"
    places = {
        "daemon.log": log.read_text(encoding="utf-8"),
        "events": json.dumps(
            [(e.kind, e.data) for e in world.engine.store.events_after(0, limit=100_000)]
        ),
        "database": database_dump(),
        "notify outbox": ao_cli(world, "notify", "outbox").stdout,
        "notify outbox --json": ao_cli(world, "notify", "outbox", "--json").stdout,
    }
    for name in names:
        for stream in ("out", "err"):
            places[f"{name}.{stream}"] = (world.tmp_path / f"{name}.{stream}").read_text()
    assert places["daemon.log"], "the daemon logged nothing"
    return places


async def test_an_escalation_reaches_every_channel_once_within_seconds(
    tmp_path: Path, git_repo: Path
) -> None:
    with channels(tmp_path) as chans:
        world = make_world(tmp_path, git_repo, "flail", extra=chans.notifier_yaml())
        session = world.spawn()
        commit(session, "mode.txt", "fail\n", "slow login")
        daemon = start_daemon(world, chans, "daemon")
        try:
            escalated = await until(
                lambda: escalation(world, session.id), what="the escalation", timeout=120
            )
            await until(lambda: all_sent(world), what="every row sent", timeout=30)
            await until(
                lambda: all(chans.seen().values()), what="every channel reached", timeout=10
            )
            await asyncio.sleep(QUIET_AFTER)  # a second copy would arrive by now
            seen = chans.seen()
            notifies = chans.desktop.notifies()
            hook_requests = list(chans.receivers["webhook"].requests)
        finally:
            stop_daemon(daemon)
        rows = outbox_json(world)
        places = everything_written(world, ["daemon"])

    reason = "CI still failing after 2 fixes: test_login_timeout"
    assert escalated.data["reason"] == reason
    title = f"{session.id} needs you: {reason}"
    key_of = {row["notifier"]: row["key"] for row in rows}
    latencies = {}
    for name, channel in NOTIFIERS.items():
        (got,) = seen[channel]  # exactly one request, nothing retried or doubled
        assert (got.title, got.key) == (title, key_of[name]), channel
        latencies[channel] = got.at - escalated.ts
    assert all(0 <= took < FEW_SECONDS for took in latencies.values()), latencies
    print("\nescalated event -> channel (s):", json.dumps(latencies, sort_keys=True))
    # The webhook receiver answers 401 to a bad signature; check it here as well.
    (request,) = hook_requests
    digest = hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-ao-signature-256"] == f"sha256={digest}"
    event = request.json()["event"]
    assert (event["type"], event["priority"], event["sessionId"]) == (
        "reaction.escalated",
        "urgent",
        session.id,
    )
    assert f"ao-tui attach {session.id}" in event["message"]
    (notify,) = notifies
    assert notify[6]["urgency"] == ("y", 2)  # critical
    # The outbox as the CLI shows it: one sent row per notifier, sent at the first try.
    assert sorted(row["notifier"] for row in rows) == sorted(NOTIFIERS)
    assert {(row["state"], row["attempts"], row["title"]) for row in rows} == {("sent", 1, title)}
    outcomes = [
        e.data["outcome"] for e in world.engine.store.events_after(0) if e.kind == "notification"
    ]
    assert outcomes == ["sent"] * len(NOTIFIERS)
    assert_no_secret(chans, places)


@pytest.mark.parametrize("fault", ["notify.claimed", "notify.sent"])
async def test_a_daemon_killed_mid_delivery_still_reaches_each_channel_once(
    tmp_path: Path, git_repo: Path, fault: str
) -> None:
    # Slack answers its first request 3 s late and leads the route, so its send is in
    # flight when the first other send reaches the fault point.
    with channels(tmp_path, slow="slack", delay=3.0) as chans:
        world = make_world(
            tmp_path,
            git_repo,
            "flail",
            reactions="  ci-failed:\n    retries: 1\n",
            extra=chans.notifier_yaml(first="team"),
        )
        session = world.spawn()
        commit(session, "mode.txt", "fail\n", "slow login")
        crashed = start_daemon(world, chans, "crashed", fault)
        try:
            code = await until(crashed.poll, what="the crash", timeout=120)
        finally:
            if crashed.poll() is None:
                crashed.kill()
        assert code == -signal.SIGKILL
        before = {channel: [s.key for s in got] for channel, got in chans.seen().items()}
        cut_short = [r for r in Outbox(world.engine.store).rows() if r.state == "sending"]
        assert cut_short, "killed mid-delivery: a row is left being sent"
        daemon = start_daemon(world, chans, "daemon")
        try:
            await until(lambda: all_sent(world), what="every row sent", timeout=60)
            await until(
                lambda: all(chans.seen().values()), what="every channel reached", timeout=10
            )
            await asyncio.sleep(QUIET_AFTER)
            seen = chans.seen()
        finally:
            stop_daemon(daemon)
        rows = outbox_json(world)
        places = everything_written(world, ["crashed", "daemon"])

    title = f"{session.id} needs you: CI still failing after 1 fix: test_login_timeout"
    key_of = {row["notifier"]: row["key"] for row in rows}
    for name, channel in NOTIFIERS.items():
        keys = {s.key for s in seen[channel]}
        assert keys == {key_of[name]}, channel  # one notification, as the receiver counts
        assert {s.title for s in seen[channel]} == {title}
    # A row cut short after its receiver took it is sent again, with the same key.
    resent = [r for r in cut_short if r.key in before[NOTIFIERS[r.notifier]]]
    for row in resent:
        assert [s.key for s in seen[NOTIFIERS[row.notifier]]] == [row.key, row.key]
    if fault == "notify.sent":
        assert resent, "the row that reached notify.sent had been received"
    assert {row["state"] for row in rows} == {"sent"}
    assert_no_secret(chans, places)
