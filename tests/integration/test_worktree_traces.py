"""What an agent recorded about a worktree outside it goes when ao-tui removes the worktree
(real tmux on the test socket, real git, the demo agent, which records its folder's trust
in Claude Code's config as Claude Code's plugin does).

Each session used to leave one entry in the operator's ``~/.claude.json`` for good, so the
file grew by one entry per session, read by every Claude start.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from core.engine import Engine
from tests.support.engine import make_engine, write_config


def _projects() -> dict[str, object]:
    config = Path(os.environ["HOME"]) / ".claude.json"
    loaded = json.loads(config.read_text()) if config.exists() else {}
    projects = loaded.get("projects", {})
    assert isinstance(projects, dict)
    return projects


def _engine(tmp_path: Path, git_repo: Path) -> Engine:
    return make_engine(write_config(tmp_path, git_repo, agent="demo"))


def test_kill_takes_the_worktrees_trust_entry_with_it_and_restore_brings_it_back(
    tmp_path: Path, git_repo: Path
) -> None:
    config = Path(os.environ["HOME"]) / ".claude.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"theme": "dark", "projects": {"/mine": {"x": 1}}}))
    engine = _engine(tmp_path, git_repo)
    session = engine.spawn("app", "write the notes")
    worktree = session.worktree
    assert _projects()[worktree] == {"hasTrustDialogAccepted": True}

    killed, _ = engine.kill(session.id)
    assert killed.extra["kill"]["tidied"] == [f"removed {worktree} from {config}"]
    assert worktree not in _projects()
    assert _projects()["/mine"] == {"x": 1}
    assert json.loads(config.read_text())["theme"] == "dark"

    engine.restore(session.id)  # the folder again, trusted again
    assert _projects()[worktree] == {"hasTrustDialogAccepted": True}
    engine.kill(session.id, discard=True)
    assert worktree not in _projects()


def test_a_kill_whose_tidying_fails_still_kills(tmp_path: Path, git_repo: Path) -> None:
    config = Path(os.environ["HOME"]) / ".claude.json"
    engine = _engine(tmp_path, git_repo)
    session = engine.spawn("app", "write the notes")
    config.write_text("{not json")  # the operator's broken config: left as it is
    killed, _ = engine.kill(session.id)
    assert killed.lifecycle.value == "killed"
    assert not Path(session.worktree).exists()
    assert "tidied" not in killed.extra["kill"]
    assert config.read_text() == "{not json"
