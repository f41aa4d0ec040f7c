"""The engine end to end with the `shell` agent, on real tmux (test socket) and real git."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine
from core.errors import DuplicateTaskError, EngineError, NotFoundError
from core.models import ActivityState, DeliveryResult, Lifecycle, Zone
from core.registry import Registry
from core.slots import PaneInfo
from core.zones import zone_of
from plugins.runtime.tmux import TmuxRuntime
from tests.conftest import run_git
from tests.support.engine import make_engine, recorder_command, wait_for, write_config


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    return tmp_path / "received.bin"


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path, recorded: Path) -> Engine:
    cfg = write_config(tmp_path, git_repo, command=recorder_command(recorded))
    return make_engine(cfg)


def tmux_sessions() -> set[str]:
    proc = subprocess.run(
        ["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return set(proc.stdout.split())


def branches(repo: Path) -> set[str]:
    return set(run_git(repo, "branch", "--format=%(refname:short)").split())


def test_spawn_creates_worktree_branch_and_tmux_session(engine: Engine, git_repo: Path) -> None:
    session = engine.spawn("app", "Fix the flaky login test")
    assert session.id == "app-1"
    assert session.branch == "ao/app-1-fix-the-flaky-login-test"
    assert session.lifecycle is Lifecycle.RUNNING
    worktree = Path(session.worktree)
    assert (worktree / "README.md").exists()
    assert run_git(worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == session.branch
    assert "ao-app-1" in tmux_sessions()
    assert engine.store.get_session("app-1") == session
    assert [e.kind for e in engine.store.events_after(0)] == ["spawned"]


def test_ids_are_never_reused_even_after_kill(engine: Engine) -> None:
    first = engine.spawn("app", "task one")
    engine.kill(first.id)
    second = engine.spawn("app", "task two")
    assert (first.id, second.id) == ("app-1", "app-2")


def test_duplicate_task_is_refused_unless_forced(engine: Engine) -> None:
    engine.spawn("app", "Fix the flaky login test")
    with pytest.raises(DuplicateTaskError, match="app-1 already works on this task"):
        engine.spawn("app", "  fix the flaky   login test ")
    with pytest.raises(DuplicateTaskError):
        engine.spawn("app", "Fix the flakey login-test")  # a typo is still the same task
    forced = engine.spawn("app", "Fix the flaky login test", force=True)
    assert forced.id == "app-2"
    # numbers make different tasks, however alike the words
    assert engine.spawn("app", "fix issue 12").id == "app-3"
    assert engine.spawn("app", "fix issue 13").id == "app-4"


@pytest.mark.parametrize(
    "text",
    [
        "say \"hi\" and 'bye'",
        "trailing semicolon;",
        "$(touch PWNED) and `touch PWNED2`",
        "C-c C-d Escape Enter",
        "literal backslash-n \\n and a real\nnewline\nand tabs\t!",
        "emoji 🚀🧪 and accents éàü 漢字",
        "x" * 100_000,
    ],
    ids=["quotes", "semicolon", "subshell", "key-names", "newlines", "emoji", "100KB"],
)
def test_hostile_messages_arrive_byte_for_byte(engine: Engine, recorded: Path, text: str) -> None:
    session = engine.spawn("app", "record what arrives")
    wait_for(lambda: recorded.exists(), timeout=10)
    result, _ = engine.send(session.id, text)
    assert result is DeliveryResult.SENT
    expected = text.encode() + b"\r"  # Enter arrives as CR in raw mode
    got = wait_for(
        lambda: recorded.read_bytes() if len(recorded.read_bytes()) >= len(expected) else None,
        timeout=20,
    )
    assert got == expected
    worktree = Path(session.worktree)
    assert not (worktree / "PWNED").exists()
    assert not (worktree / "PWNED2").exists()


def test_kill_saves_dirty_worktree_as_wip_commit(engine: Engine, git_repo: Path) -> None:
    session = engine.spawn("app", "make a mess")
    worktree = Path(session.worktree)
    (worktree / "README.md").write_text("changed\n")
    (worktree / "new file é.txt").write_text("untracked work\n")
    killed, wip = engine.kill(session.id)
    assert killed.lifecycle is Lifecycle.KILLED
    assert wip is not None
    assert not worktree.exists()
    assert "ao-app-1" not in tmux_sessions()
    assert session.branch in branches(git_repo)
    files = run_git(git_repo, "show", "--name-only", "--format=", session.branch)
    assert "new file é.txt" in files or '"new file' in files
    assert run_git(git_repo, "show", f"{session.branch}:README.md") == "changed\n"
    # our own files never land in the WIP commit
    assert ".claude" not in files
    assert zone_of(killed) is Zone.DONE


def test_kill_discard_throws_work_away(engine: Engine, git_repo: Path) -> None:
    session = engine.spawn("app", "throwaway")
    (Path(session.worktree) / "scratch.txt").write_text("x")
    _, wip = engine.kill(session.id, discard=True)
    assert wip is None
    assert run_git(git_repo, "rev-parse", session.branch) == run_git(git_repo, "rev-parse", "main")


def test_restore_after_kill_brings_back_worktree_and_agent(engine: Engine, recorded: Path) -> None:
    session = engine.spawn("app", "come back")
    (Path(session.worktree) / "work.txt").write_text("keep me\n")
    engine.kill(session.id)
    restored = engine.restore(session.id)
    assert (restored.id, restored.branch, restored.worktree) == (
        session.id,
        session.branch,
        session.worktree,
    )
    assert restored.attempt == 2
    assert restored.lifecycle is Lifecycle.RUNNING
    assert (Path(restored.worktree) / "work.txt").read_text() == "keep me\n"
    assert "ao-app-1" in tmux_sessions()
    with pytest.raises(EngineError, match="is running"):
        engine.restore(session.id)


def test_tmux_server_killed_is_noticed_and_restore_recovers(engine: Engine) -> None:
    a = engine.spawn("app", "first task")
    b = engine.spawn("app", "second task")
    subprocess.run(["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "kill-server"], check=False)
    events = engine.reconcile()
    assert {e.session_id for e in events} == {a.id, b.id}
    for sid in (a.id, b.id):
        s = engine.get(sid)
        assert s.lifecycle is Lifecycle.EXITED
        assert s.activity.state is ActivityState.EXITED
        assert zone_of(s) is Zone.NEEDS_YOU
    assert engine.reconcile() == []  # changes only
    engine.restore(a.id)
    engine.restore(b.id)
    engine.reconcile()
    assert {engine.get(a.id).lifecycle, engine.get(b.id).lifecycle} == {Lifecycle.RUNNING}


def test_agent_exit_is_noticed_with_its_status(tmp_path: Path, git_repo: Path) -> None:
    cfg = write_config(tmp_path, git_repo, command="python3 -c 'import sys; sys.exit(3)'")
    engine = make_engine(cfg)
    session = engine.spawn("app", "exits at once")

    def exited() -> bool:
        # Under load the first change seen may be the agent's activity, not its exit.
        engine.reconcile()
        return engine.get(session.id).lifecycle is Lifecycle.EXITED

    wait_for(exited, timeout=15)
    s = engine.get(session.id)
    assert "status 3" in s.lifecycle_reason


def test_send_to_a_dead_session_fails_cleanly(engine: Engine) -> None:
    session = engine.spawn("app", "short life")
    engine.kill(session.id)
    result, detail = engine.send(session.id, "hello?")
    assert result is DeliveryResult.FAILED
    assert "not running" in detail


@pytest.mark.parametrize("bad", ["../x", "/", "app 1", "", "app-1; rm -rf /", "APP-1"])
def test_hostile_session_ids_are_refused(engine: Engine, bad: str) -> None:
    with pytest.raises(NotFoundError):
        engine.get(bad)


def test_missing_agent_binary_is_refused_before_anything_is_created(
    tmp_path: Path, git_repo: Path
) -> None:
    cfg = write_config(tmp_path, git_repo, command="no-such-agent-binary --flag")
    engine = make_engine(cfg)
    with pytest.raises(EngineError, match=r"no-such-agent-binary.*not found on PATH"):
        engine.spawn("app", "never starts")
    assert branches(git_repo) == {"main"}
    assert not any((engine.locations.home / "worktrees").rglob("README.md"))
    assert engine.store.list_sessions() == []


async def test_events_from_another_process_arrive_without_waiting_for_resync(
    engine: Engine,
) -> None:
    import asyncio

    from core.store import Store

    stream = engine.feed.changes()
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.3)  # the stream is idle, waiting
    other = Store(engine.locations.database)  # another writer, as a CLI process would be
    start = asyncio.get_running_loop().time()
    other.append_event("app-1", "message", {"result": "sent"})
    event = (await asyncio.wait_for(first, timeout=5)).event
    waited = asyncio.get_running_loop().time() - start
    assert (event.session_id, event.kind) == ("app-1", "message")
    assert waited < 1.0  # well under the 2 s resync: the file stamp woke it
    await stream.aclose()
    other.close()


class _SlowToReturnTmux(TmuxRuntime):
    """Real tmux whose ``create`` returns late, as on a loaded machine (the agent is already
    running by then)."""

    def create(self, *args: Any, **kwargs: Any) -> PaneInfo:
        pane = super().create(*args, **kwargs)
        time.sleep(0.5)
        return pane


def test_restore_counts_its_start_from_before_the_agent_runs(
    tmp_path: Path, git_repo: Path
) -> None:
    # A send waits for the agent's first signal after `started_at`; stamped after a slow
    # start, the resumed agent's first signal came "before" it and the send never went.
    stamp = tmp_path / "started-at"
    script = tmp_path / "stamp.py"
    script.write_text(
        "import sys, time\nopen(sys.argv[1], 'w').write(repr(time.time()))\ntime.sleep(600)\n"
    )
    registry = Registry()
    registry.register("runtime", "tmux", _SlowToReturnTmux)
    cfg = write_config(tmp_path, git_repo, command=f"{sys.executable} {script} {stamp}")
    engine = make_engine(cfg, registry)
    session = engine.spawn("app", "stamp the start")
    engine.kill(session.id)
    stamp.unlink(missing_ok=True)
    restored = engine.restore(session.id)
    started = float(wait_for(lambda: stamp.read_text() if stamp.exists() else ""))
    assert float(str(restored.extra["started_at"])) <= started
