"""Tier 2 of escalation end to end: real git, real CI runs, real tmux, the local SCM, and
scripted shell agents (tests/support/fixing_agent.py) as the worker and as the orchestrator,
each recording every byte it receives.

The reactor runs as the lease holder runs it (``reconcile_loop(..., react=True)``) with the
notification outbox; ``ao-tui escalate`` runs as the orchestrator's own CLI call would: a
subprocess with ``AO_TUI_ACTOR`` set.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.event_summary import summary
from core.models import Role, Zone
from core.naming import orchestrator_id
from core.notify.outbox import Outbox
from core.provenance import ACTOR_ENV
from core.reactions.handoff import OUTCOME
from core.reactions.ledger import Ledger
from core.zones import zone_of
from tests.conftest import run_git
from tests.integration.test_reactions_local import start_daemon, stop_daemon
from tests.support.notify_receivers import NotifyReceiver
from tests.support.reactions_world import (
    CHECK_SCRIPT,
    World,
    commit,
    make_world,
    pastes,
    reacting,
    until,
)
from tests.support.role_shell import role_shell_registry

pytestmark = pytest.mark.reactions

CHIEF = orchestrator_id("app")
HOSTILE = "E   log: \x1b[201~\x1b]52;c;cm0gLXJmIH4=\x07 evil\x1b[200~"
"""A CI log line that would end the paste early and write the clipboard, if typed raw."""


def cli(world: World, *args: str, actor: str = "") -> subprocess.CompletedProcess[str]:
    """``ao-tui ARGS`` in a process of its own; run by the agent ``actor`` (its id in
    ``AO_TUI_ACTOR``, as ao-tui sets it for the orchestrator), else by the operator."""
    env = {key: value for key, value in os.environ.items() if key != ACTOR_ENV}
    if actor:
        env[ACTOR_ENV] = actor
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(world.config), *args],
        cwd=world.config.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def escalate(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """``ao-tui escalate ARGS`` as the orchestrator runs it."""
    return cli(world, "escalate", *args, actor=CHIEF)


async def test_a_spent_budget_reaches_the_orchestrator_and_its_escalation_the_human(
    tmp_path: Path, git_repo: Path
) -> None:
    with NotifyReceiver("webhook") as hook:
        notify = (
            f"notifiers:\n  hook: {{plugin: webhook, url: {json.dumps(hook.url)}}}\n"
            "notificationRouting:\n  urgent: [hook]\n"
        )
        world = make_world(
            tmp_path, git_repo, "flail", extra=notify, registry=role_shell_registry()
        )
        chief = world.engine.spawn("app", "run the fleet", role=Role.ORCHESTRATOR, session_id=CHIEF)
        await until(lambda: world.record(chief).exists(), what="the orchestrator ready")
        session = world.spawn()
        async with reacting(world.engine) as errors:
            # The branch's CI prints a hostile line among its failures.
            hostile = CHECK_SCRIPT.replace(
                "    sys.exit(1)", f"    print({HOSTILE!r})\n    sys.exit(1)"
            )
            (Path(session.worktree) / "check.py").write_text(hostile, encoding="utf-8")
            run_git(Path(session.worktree), "add", "check.py")  # committed with mode.txt
            commit(session, "mode.txt", "fail\n", "slow login")
            handed = await until(
                lambda: [r for r in world.reactions(session.id) if r["outcome"] == OUTCOME],
                what="the handoff",
                timeout=120,
            )
            got = await until(lambda: pastes(world.received(chief)), what="the paste")
            now = world.engine.get(session.id)
            assert now.reaction is not None  # written before the handoff was typed
            assert (now.reaction.status, now.reaction.tier) == ("acting", 2)
            assert zone_of(now) is not Zone.NEEDS_YOU

            done = escalate(world, session.id, "the fix needs a product decision\x1b[2J")
            assert done.returncode != 0 and "Traceback" not in done.stderr
            assert "control character" in done.stderr and done.stderr.count("\n") == 1
            done = escalate(world, "app-99", "why")
            assert done.returncode == 3, done.stderr

            done = escalate(world, session.id, "the fix needs a product decision", "--json")
            assert done.returncode == 0, done.stderr
            mark = json.loads(done.stdout)["reaction"]
            reason = f"the fix needs a product decision (escalated by {CHIEF})"
            assert (mark["status"], mark["key"]) == ("escalated", "orchestrator")
            assert mark["reason"] == reason
            delivered = await until(lambda: hook.requests, what="the notification")
            rows = await until(
                lambda: [
                    r
                    for r in Outbox(world.engine.store).rows(recent=100)
                    if r.session_id == session.id and r.state == "sent"
                ],
                what="the outbox row sent",
            )
        assert errors == []
    assert world.received(session).count(b"\x1b[200~") == 2  # the agent's own two attempts
    # Exactly one paste reached the orchestrator: the structured message, inert.
    assert got == [str(handed[0]["text"]).encode()]
    [text] = [paste.decode() for paste in got]
    assert f"session {session.id} (project app)" in text
    assert "Why: CI still failing after 2 fixes: test_login_timeout" in text
    assert "E   log: ^[[201~^[]52;c;cm0gLXJmIH4=^G evil^[[200~" in text
    assert f'ao-tui escalate {session.id} "why"' in text
    assert handed[0]["to"] == CHIEF and handed[0]["tier"] == 2
    # The escalation: Needs you, said by the orchestrator, one notification row.
    now = world.engine.get(session.id)
    assert zone_of(now) is Zone.NEEDS_YOU
    assert now.reaction is not None and now.reaction.reason == reason
    [event] = [e for e in world.events(session.id) if e.data.get("outcome") == "escalated"]
    assert event.data["by"] == CHIEF
    assert summary(event.kind, event.data) == f"orchestrator: escalated — {reason}"
    all_rows = Outbox(world.engine.store).rows(recent=100)
    assert [r.id for r in all_rows if r.session_id == session.id] == [rows[0].id]
    assert len(delivered) == 1
    assert f"{session.id} needs you: {reason}" in delivered[0].body.decode()
    # The orchestrator acted, so its episode never went to the operator on its own.
    outcomes = [(r["key"], r["outcome"]) for r in world.reactions(session.id)]
    assert ("ci-failed", "escalated") not in outcomes
    # The operator takes the escalation back: the session is the orchestrator's again.
    back = cli(world, "reactions", "resume", session.id)
    assert back.returncode == 0, back.stderr
    assert "the escalation made by hand is taken back" in back.stdout
    now = world.engine.get(session.id)
    assert now.reaction is not None and (now.reaction.key, now.reaction.tier) == ("ci-failed", 2)


@pytest.mark.parametrize(
    ("fault", "settled", "told"),
    [
        # Killed after the handoff was stored, before typing: the restart types it once,
        # and the orchestrator has it (no operator yet).
        ("reaction.handoff-recorded", "sent", ""),
        # Killed after typing, before the outcome was stored: a shell agent keeps no record
        # to check, so it is not typed again, and the operator is told so.
        ("reaction.handoff-typed", "dropped", "may not have arrived: interrupted while typing"),
    ],
)
async def test_a_daemon_killed_mid_handoff_neither_doubles_nor_forgets(
    tmp_path: Path, git_repo: Path, fault: str, settled: str, told: str
) -> None:
    world = make_world(tmp_path, git_repo, "flail", registry=role_shell_registry())
    chief = world.engine.spawn("app", "run the fleet", role=Role.ORCHESTRATOR, session_id=CHIEF)
    await until(lambda: world.record(chief).exists(), what="the orchestrator ready")
    session = world.spawn()
    commit(session, "mode.txt", "fail\n", "slow login")
    crashed = start_daemon(world, fault)
    try:
        code = await asyncio.to_thread(crashed.wait, 120)
    finally:
        if crashed.poll() is None:
            crashed.kill()
    assert code == -signal.SIGKILL
    [handoff] = [s for s in Ledger(world.engine.store).sends(session.id) if s.handoff]
    assert handoff.state == ("pending" if fault == "reaction.handoff-recorded" else "typing")
    daemon = start_daemon(world)
    try:
        if told:
            await until(
                lambda: [r for r in world.reactions(session.id) if r["outcome"] == "escalated"],
                what="the operator told",
            )
        else:
            await until(lambda: pastes(world.received(chief)), what="the handoff typed")
            await asyncio.sleep(2)  # a few passes: nothing more may come
    finally:
        await asyncio.to_thread(stop_daemon, daemon)
    assert len(pastes(world.received(chief))) == 1  # typed once, crash or not
    [handoff] = [s for s in Ledger(world.engine.store).sends(session.id) if s.handoff]
    assert handoff.state == settled
    escalated = [r for r in world.reactions(session.id) if r["outcome"] == "escalated"]
    if told:
        assert len(escalated) == 1 and escalated[0]["reason"].endswith(told)
    else:
        assert escalated == []
        assert [r["to"] for r in world.reactions(session.id) if r["outcome"] == OUTCOME] == [CHIEF]
