"""Reactions end to end with the local SCM: real git, real CI runs, real tmux, and a scripted
shell agent (tests/support/fixing_agent.py) that records every byte and fixes or flails.

The reactor runs as the lease holder runs it (``reconcile_loop(..., react=True)``), or as
the real ``ao-tui daemon`` process for the crash tests. Each test asserts on the event log,
the store (the session's mark, the ledger), the git history and what the agent received.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.faults import FAULT_ENV
from core.models import Lifecycle, Zone
from core.reactions import verbs
from core.reactions.ledger import Ledger
from core.zones import zone_of
from tests.conftest import run_git
from tests.support.reactions_world import (
    FAILING_LINE,
    World,
    commit,
    latency,
    make_world,
    pastes,
    reacting,
    until,
)

pytestmark = pytest.mark.reactions

ROOT = Path(__file__).resolve().parents[2]


def sent(world: World, session_id: str) -> list[dict[str, object]]:
    """The reaction events that typed a message into the agent."""
    return [
        r
        for r in world.reactions(session_id)
        if r.get("outcome") in ("sent", "delivered", "queued")
    ]


async def test_ci_fails_the_agent_gets_the_excerpt_and_commits_a_fix(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "fix")
    session = world.spawn()
    async with reacting(world.engine) as errors:
        red = commit(session, "mode.txt", "fail\n", "slow login")
        await until(lambda: sent(world, session.id), what="the CI failure sent")
        fixed = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "cleared"],
            what="the episode cleared by a green run",
        )
    assert errors == []
    (reaction,) = sent(world, session.id)
    text = str(reaction["text"])
    assert (reaction["key"], reaction["attempt"], reaction["budget"]) == ("ci-failed", 1, 2)
    assert text.startswith(f"CI failed on {red[:10]} (attempt 1 of 2).")
    assert FAILING_LINE in text
    assert "E   délai dépassé: the login took 3 s — the limit is 2 s" in text
    log = world.engine.store.ci_runs(session.id)[0].log_path
    assert f"the full log is {log}" in text
    # Byte-checked: the one paste the agent got is the message, exactly, in UTF-8.
    assert pastes(world.received(session)) == [text.encode()]
    # The agent's fix is on the branch, and CI is green at it.
    worktree = Path(session.worktree)
    subjects = run_git(worktree, "log", "--format=%s", f"{red}..HEAD").splitlines()
    assert subjects == ["fix the failing test"]
    head = run_git(worktree, "rev-parse", "HEAD").strip()
    runs = [(run.head_sha, run.state) for run in world.engine.store.ci_runs(session.id)]
    assert runs == [(red, "failing"), (head, "passing")]
    assert fixed[0]["attempt"] == 1
    now = world.engine.get(session.id)
    assert now.reaction is None and zone_of(now) is not Zone.NEEDS_YOU
    (episode,) = Ledger(world.engine.store).episodes(session.id)
    assert (episode.key, episode.attempts) == ("ci-failed", 1)
    took = latency(world.events(session.id), "ci-failed", ("sent",))
    assert took is not None and took < 5.0, took


async def test_ci_passes_and_auto_merge_merges_at_that_head(tmp_path: Path, git_repo: Path) -> None:
    world = make_world(
        tmp_path,
        git_repo,
        "record",
        reactions="  approved-and-green:\n    auto: true\n    action: auto-merge\n",
    )
    session = world.spawn()
    async with reacting(world.engine) as errors:
        head = commit(session, "login.py", "TIMEOUT = 2\n", "a faster login")
        await until(
            lambda: (pr := world.engine.get(session.id).pr) is not None and pr.ci == "passing",
            what="CI green",
        )
        assert world.engine.get(session.id).lifecycle is Lifecycle.RUNNING  # not approved yet
        await asyncio.to_thread(world.engine.approve, session.id)
        merged = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "merged"],
            what="the auto-merge",
        )
    assert errors == []
    assert merged[0]["key"] == "approved-and-green"
    assert merged[0]["reason"] == f"merged: green and approved at {head[:10]}"
    assert world.engine.get(session.id).lifecycle is Lifecycle.MERGED
    # main holds exactly the head that was green and approved.
    run_git(world.repo, "merge-base", "--is-ancestor", head, "main")
    assert "login.py" in run_git(world.repo, "ls-tree", "--name-only", "main").split()
    assert pastes(world.received(session)) == []  # nothing was typed to the agent


async def test_budget_spent_escalates_to_needs_you_with_the_reason(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "flail")
    session = world.spawn()
    async with reacting(world.engine) as errors:
        commit(session, "mode.txt", "fail\n", "slow login")
        escalated = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "escalated"],
            what="the escalation",
            timeout=90,
        )
    assert errors == []
    reason = "CI still failing after 2 fixes: test_login_timeout"
    assert (escalated[0]["key"], escalated[0]["tier"], escalated[0]["reason"]) == (
        "ci-failed",
        3,
        reason,
    )
    # Two attempts, one per failing head (fail -> push -> fail counts), then the operator.
    got = pastes(world.received(session))
    assert [r["attempt"] for r in sent(world, session.id)] == [1, 2]
    assert got == [str(r["text"]).encode() for r in sent(world, session.id)]
    subjects = run_git(Path(session.worktree), "log", "--format=%s", "-3").splitlines()
    assert subjects == [
        "try 2: a change that fixes nothing",
        "try 1: a change that fixes nothing",
        "slow login",
    ]
    now = world.engine.get(session.id)
    assert zone_of(now) is Zone.NEEDS_YOU
    assert now.reaction is not None
    assert (now.reaction.status, now.reaction.attempts, now.reaction.budget) == ("escalated", 2, 2)
    assert now.reaction.reason == reason


async def test_a_conflict_after_another_merge_tells_the_agent_the_files(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "record")
    first, second = world.spawn("shorter timeout"), world.spawn("longer timeout")
    commit(first, "settings.py", "TIMEOUT = 1\n", "timeout 1")
    commit(second, "settings.py", "TIMEOUT = 5\n", "timeout 5")
    async with reacting(world.engine) as errors:
        await until(
            lambda: all(
                (pr := world.engine.get(s.id).pr) is not None and pr.ci == "passing"
                for s in (first, second)
            ),
            what="both green",
        )
        await asyncio.to_thread(world.engine.approve, first.id)
        await asyncio.to_thread(world.engine.merge, first.id)
        told = await until(lambda: sent(world, second.id), what="the conflict sent")
    assert errors == []
    text = str(told[0]["text"])
    base = run_git(world.repo, "rev-parse", "main").strip()
    assert told[0]["key"] == "merge-conflicts"
    assert text.startswith(f"Your branch conflicts with main at {base[:10]} (attempt 1).")
    assert "Conflicting files:\n- settings.py\n" in text
    assert pastes(world.received(second)) == [text.encode()]


async def test_paused_nothing_is_sent_until_resumed(tmp_path: Path, git_repo: Path) -> None:
    world = make_world(tmp_path, git_repo, "record")
    session = world.spawn()
    assert verbs.pause(world.engine, session.id)
    async with reacting(world.engine) as errors:
        commit(session, "mode.txt", "fail\n", "slow login")
        await until(
            lambda: [e for e in world.events(session.id) if e.kind == "ci-failed"],
            what="CI failing",
        )
        await asyncio.sleep(3)  # several feed wakes and ticks: still nothing
        assert sent(world, session.id) == []
        assert world.received(session) == b""
        assert world.engine.get(session.id).reaction is None
        # The same condition is acted on once reactions are back on: the pause held it.
        assert verbs.resume(world.engine, session.id)
        await until(lambda: sent(world, session.id), what="the send after resume")
    assert errors == []
    outcomes = [r["outcome"] for r in world.reactions(session.id)]
    assert outcomes[:3] == ["paused", "resumed", "sent"]


async def test_suggest_mode_sends_nothing_until_the_key(tmp_path: Path, git_repo: Path) -> None:
    world = make_world(tmp_path, git_repo, "fix", reactions="  mode: suggest\n")
    session = world.spawn()
    async with reacting(world.engine) as errors:
        commit(session, "mode.txt", "fail\n", "slow login")
        suggested = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "suggested"],
            what="the suggestion",
        )
        await asyncio.sleep(2)
        assert sent(world, session.id) == [] and world.received(session) == b""
        now = world.engine.get(session.id)
        assert zone_of(now) is Zone.NEEDS_YOU
        assert now.reaction is not None and now.reaction.status == "suggested"
        # The operator's key: the prepared message, as is.
        await asyncio.to_thread(verbs.send_suggestion, world.engine, session.id)
        await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "cleared"],
            what="the fix going green",
        )
    assert errors == []
    text = str(suggested[0]["text"])
    assert pastes(world.received(session)) == [text.encode()]
    (by_operator,) = sent(world, session.id)
    assert by_operator["by"] == "operator" and by_operator["text"] == text


async def test_an_exited_agent_is_restored_once_then_escalated(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "mortal")
    session = world.spawn()
    async with reacting(world.engine) as errors:
        await asyncio.to_thread(world.engine.send, session.id, "exit now")
        escalated = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "escalated"],
            what="the escalation",
        )
    assert errors == []
    outcomes = [(r["key"], r["outcome"]) for r in world.reactions(session.id)]
    assert outcomes == [("agent-exited", "restored"), ("agent-exited", "escalated")]
    assert escalated[0]["reason"].startswith("the agent exited again after 1 restore: ")
    lives = world.tmp_path / "records" / f"{Path(session.worktree).name}.lives"
    assert len(lives.read_text().split()) == 2  # the first life and one restore
    now = world.engine.get(session.id)
    assert zone_of(now) is Zone.NEEDS_YOU
    assert now.reaction is not None and now.reaction.key == "agent-exited"


def start_daemon(world: World, fault: str = "") -> subprocess.Popen[bytes]:
    """The real ``ao-tui daemon`` on the world's config; ``fault`` names the crash point
    (core/faults.py) at which it SIGKILLs itself."""
    env = {**os.environ}
    # This checkout's code, whichever one the venv installed (the fault points are here).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "--config", str(world.config), "daemon"],
        cwd=world.tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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


@pytest.mark.parametrize(
    ("fault", "first_settled"),
    [
        # Killed after the intent was stored, before typing: the restart types it once.
        ("reaction.recorded", "sent"),
        # Killed after typing, before the outcome was stored: a shell agent keeps no record
        # to check, so the restart does not type it again and says so.
        ("reaction.typed", "failed"),
    ],
)
async def test_a_daemon_killed_mid_reaction_neither_doubles_nor_forgets(
    tmp_path: Path, git_repo: Path, fault: str, first_settled: str
) -> None:
    world = make_world(tmp_path, git_repo, "flail")
    session = world.spawn()
    commit(session, "mode.txt", "fail\n", "slow login")
    crashed = start_daemon(world, fault)
    try:
        code = await asyncio.to_thread(crashed.wait, 60)
    finally:
        if crashed.poll() is None:
            crashed.kill()
    assert code == -signal.SIGKILL
    (send,) = Ledger(world.engine.store).sends(session.id)
    assert (send.attempt, send.state) == (
        1,
        "pending" if fault == "reaction.recorded" else "typing",
    )
    daemon = start_daemon(world)
    try:
        escalated = await until(
            lambda: [r for r in world.reactions(session.id) if r["outcome"] == "escalated"],
            what="the escalation after the restart",
            timeout=90,
        )
    finally:
        await asyncio.to_thread(stop_daemon, daemon)
    reactions = world.reactions(session.id)
    ci = [(r["attempt"], r["outcome"]) for r in reactions if r["key"] == "ci-failed"]
    # Attempt 1 settled once, attempt 2 on the agent's next red head, then the operator:
    # the budget of 2 counted the attempt the crash interrupted.
    assert ci == [(1, first_settled), (2, "sent"), (2, "escalated")]
    assert escalated[0]["reason"] == "CI still failing after 2 fixes: test_login_timeout"
    got = pastes(world.received(session))
    assert len(got) == 2, got  # one per attempt: nothing typed twice
    assert b"(attempt 1 of 2)" in got[0] and b"(attempt 2 of 2)" in got[1]
    sends = Ledger(world.engine.store).sends(session.id)
    assert [(s.attempt, s.state) for s in sends] == [
        (1, "sent" if fault == "reaction.recorded" else "dropped"),
        (2, "sent"),
    ]
    now = world.engine.get(session.id)
    assert now.reaction is not None and (now.reaction.attempts, now.reaction.status) == (
        2,
        "escalated",
    )
