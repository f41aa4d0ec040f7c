"""A throwaway world for benchmarks: private AO_TUI_HOME, HOME, tmux socket and git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.engine import Engine
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource
from tests.support.engine import make_engine, write_config


@dataclass
class Sandbox:
    """Paths of one benchmark world."""

    root: Path
    repo: Path
    socket: str
    tmux_dir: Path

    def engine(self, agent: str = "shell", command: str | None = None) -> Engine:
        """An engine on a fresh config for the sandbox repo."""
        cfg_dir = self.root / f"cfg-{uuid.uuid4().hex[:6]}"
        cfg_dir.mkdir()
        return make_engine(write_config(cfg_dir, self.repo, agent=agent, command=command))


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    """Set the environment to a private world for the duration; kill its tmux server after."""
    root = Path(tempfile.mkdtemp(prefix="ao-bench-"))
    tmux_dir = Path("/tmp") / f"ao-bench-tmux-{uuid.uuid4().hex[:6]}"
    tmux_dir.mkdir(mode=0o700)
    socket = f"aobench-{uuid.uuid4().hex[:6]}"
    saved = dict(os.environ)
    os.environ.update(
        AO_TUI_HOME=str(root / "home"),
        AO_TUI_TMUX_SOCKET=socket,
        TMUX_TMPDIR=str(tmux_dir),
        HOME=str(root / "user"),
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@invalid",
    )
    os.environ.pop("TMUX", None)
    (root / "user").mkdir()
    repo = root / "repo"
    repo.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    try:
        yield Sandbox(root, repo, socket, tmux_dir)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmux_dir, ignore_errors=True)


def record_claude_sessions(engine: Engine, count: int, hook_lines: list[str]) -> list[Session]:
    """``count`` claude-code session records, each with a live pane and a hook log.

    The panes run ``sleep`` rather than Claude: what is measured is the engine reading
    signals and the store, not the agent.
    """
    sessions = []
    now = time.time()
    for _ in range(count):
        sid = engine.store.allocate_id("app")
        worktree = engine.locations.worktree("app", sid)
        worktree.mkdir(parents=True)
        pane = engine.runtime.create(f"ao-{sid}", worktree, ["sleep", "100000"])
        state_dir = engine.locations.session_dir(sid)
        state_dir.mkdir(parents=True)
        (state_dir / "hooks.jsonl").write_text("".join(line + "\n" for line in hook_lines))
        session = Session(
            id=sid,
            project="app",
            agent="claude-code",
            title=f"benchmark task {sid}",
            prompt=f"benchmark task {sid}",
            branch=f"ao/{sid}-bench",
            worktree=str(worktree),
            tmux=f"ao-{sid}",
            lifecycle=Lifecycle.RUNNING,
            activity=Activity(ActivityState.UNKNOWN, SignalSource.ENGINE, now),
            created_at=now,
            updated_at=now,
            agent_session_id=str(uuid.uuid4()),
            pane_id=pane.pane_id,
            base_branch="main",
        )
        engine.store.insert_session(session, event=("spawned", {}))
        sessions.append(session)
    return sessions
