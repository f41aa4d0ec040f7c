"""Item 6: a new session never takes an id something on disk already carries, and a failed
spawn removes only what it made itself.

The world is real (git repo, tmux on the test socket, the state dir); "the database was
reset" is a fresh store while another session's artifacts are still there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.inventory import INTERRUPTED, take_inventory
from core.manifest import read_manifest
from core.registry import Registry
from core.slots import SlotError
from tests.conftest import run_git
from tests.integration.test_spawn_rollback import Faulty
from tests.support.engine import make_engine, write_config

PRECIOUS = '{"session_id": "11111111-2222-3333-4444-555555555555", "hook": "Stop"}\n'


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path) -> Engine:
    """An engine whose shell agent just waits (``sleep``)."""
    return make_engine(write_config(tmp_path, git_repo, command="sleep 600"))


def _state_folder(engine: Engine, repo: Path) -> Callable[[], bool]:
    folder = engine.locations.session_dir("app-1")
    folder.mkdir(parents=True)
    (folder / "hooks.jsonl").write_text(PRECIOUS)
    return lambda: (folder / "hooks.jsonl").read_text() == PRECIOUS


def _worktree(engine: Engine, repo: Path) -> Callable[[], bool]:
    path = engine.locations.worktree("app", "app-1")
    run_git(repo, "worktree", "add", "-q", "-b", "someone-elses", str(path), "main")
    (path / "draft.txt").write_text("uncommitted\n")
    return lambda: (path / "draft.txt").read_text() == "uncommitted\n"


def _branch(engine: Engine, repo: Path) -> Callable[[], bool]:
    run_git(repo, "checkout", "-q", "-b", "ao/app-1-earlier-task")
    (repo / "earlier.txt").write_text("committed work\n")
    run_git(repo, "add", "earlier.txt")
    run_git(repo, "commit", "-q", "-m", "earlier work")
    sha = run_git(repo, "rev-parse", "HEAD").strip()
    run_git(repo, "checkout", "-q", "main")
    return lambda: run_git(repo, "rev-parse", "ao/app-1-earlier-task").strip() == sha


def _tmux(engine: Engine, repo: Path) -> Callable[[], bool]:
    pane = engine.runtime.create("ao-app-1", repo, ["sleep", "600"])
    return lambda: engine.runtime.list_panes()["ao-app-1"].pane_pid == pane.pane_pid


ARTIFACTS = {
    "state folder": _state_folder,
    "worktree": _worktree,
    "branch": _branch,
    "tmux session": _tmux,
}


@pytest.mark.parametrize("kind", list(ARTIFACTS))
def test_spawn_skips_an_id_an_artifact_already_carries(
    engine: Engine, git_repo: Path, kind: str
) -> None:
    still_there = ARTIFACTS[kind](engine, git_repo)
    session = engine.spawn("app", "a brand new task")
    assert session.id == "app-2"
    assert still_there()
    # the counter moved past the skipped id: numbering goes on from there
    assert engine.store.peek_id("app") == "app-3"


def test_a_failed_spawn_never_deletes_another_sessions_state_folder(
    engine: Engine, git_repo: Path
) -> None:
    """The issue's case: the database was reset while app-1 still runs with its hook log."""
    hooks_intact = _state_folder(engine, git_repo)
    tmux_intact = _tmux(engine, git_repo)
    session = engine.spawn("app", "a brand new task")
    assert session.id == "app-2"
    assert hooks_intact() and tmux_intact()


def test_a_state_folder_appearing_after_allocation_is_refused_and_kept(
    tmp_path: Path, git_repo: Path
) -> None:
    """Another process made the folder between allocation and spawn's mkdir (a race the
    allocation cannot see): spawn refuses and leaves it alone, even though a later step of
    the same spawn would have failed and rolled back."""
    registry = Registry(discover=False)
    real = Registry()
    registry.register(
        "runtime", "tmux", functools.partial(Faulty, real.get("runtime", "tmux"), "create")
    )
    registry.register("workspace", "worktree", lambda: real.get("workspace", "worktree"))
    registry.register("agent", "shell", lambda: real.get("agent", "shell"))
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"), registry)
    folder = engine.locations.session_dir("app-1")
    allocate = engine.store.allocate_id

    def racing_allocate(prefix: str, **kwargs: Any) -> str:
        sid = allocate(prefix, **kwargs)
        folder.mkdir(parents=True)  # the other process wins the race here
        (folder / "hooks.jsonl").write_text(PRECIOUS)
        return sid

    engine.store.allocate_id = racing_allocate  # type: ignore[method-assign]
    with pytest.raises(EngineError, match="state folder"):
        engine.spawn("app", "doomed task")
    assert (folder / "hooks.jsonl").read_text() == PRECIOUS
    assert set(run_git(git_repo, "branch", "--format=%(refname:short)").split()) == {"main"}


def test_a_rollback_that_cannot_finish_keeps_the_manifest_and_is_reported(
    tmp_path: Path, git_repo: Path
) -> None:
    """tmux fails to start the agent, then git fails to remove the new worktree: the state
    folder (with the manifest) must stay, so the leftover worktree is still explained."""
    registry = Registry(discover=False)
    real = Registry()
    workspace = real.get("workspace", "worktree")
    registry.register(
        "runtime", "tmux", functools.partial(Faulty, real.get("runtime", "tmux"), "create")
    )
    registry.register("workspace", "worktree", functools.partial(Faulty, workspace, "remove"))
    registry.register("agent", "shell", lambda: real.get("agent", "shell"))
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"), registry)
    with pytest.raises(EngineError, match="injected failure in create"):
        engine.spawn("app", "doomed task")
    manifest = read_manifest(engine.locations.session_dir("app-1"))
    assert manifest is not None and manifest.operation == "spawn"
    assert manifest.branch == "ao/app-1-doomed-task"
    assert engine.locations.worktree("app", "app-1").is_dir()
    [finding] = take_inventory(engine).findings
    assert (finding.session_id, finding.kind) == ("app-1", INTERRUPTED)


def test_ids_skipped_when_the_state_dir_holds_them_even_without_git_or_tmux(
    engine: Engine,
) -> None:
    """The cockpit's branch preview asks on every keystroke: the state dir alone counts."""
    engine.locations.session_dir("app-1").mkdir(parents=True)
    (engine.locations.home / "worktrees" / "app" / "app-2").mkdir(parents=True)
    assert engine.predict_branch("app", "next task") == "ao/app-3-next-task"


def test_spawn_fails_cleanly_when_a_slot_cannot_list(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository git cannot read is refused before anything is made."""

    def broken(*args: Any, **kwargs: Any) -> dict[str, str]:
        raise SlotError("injected: git cannot read the repository")

    monkeypatch.setattr(engine.workspace, "list_branches", broken)
    # The engine turns the plugin's failure into its own error (core.plugin_failures).
    with pytest.raises(EngineError, match=r"spawn in project app failed: .*cannot read"):
        engine.spawn("app", "a task")
    assert not engine.locations.session_dir("app-1").exists()
    assert engine.store.list_sessions() == []
