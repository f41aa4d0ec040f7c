"""The cockpit looks for orphans without starting a process while nothing changed.

``artifacts_stamp`` is a stat of where artifacts appear (state and worktree folders, the
repository's branch refs and worktree registrations). Real git and a real engine; the
cockpit test counts inventories with a spy on the one function that takes them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import ao_tui.app as app_module
from ao_tui.app import CockpitApp
from core.artifacts import artifacts_stamp, gather
from core.inventory import Inventory, take_inventory
from tests.support.engine import make_engine, write_config
from tests.support.pilot_waits import wait_until


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_the_stamp_changes_exactly_when_an_artifact_may_have(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    first = artifacts_stamp(engine)
    assert first is not None
    assert artifacts_stamp(engine) == first  # nothing happened: the same stamp

    _git(git_repo, "branch", "ao/app-7-left-behind")  # a branch a crash left
    second = artifacts_stamp(engine)
    assert second != first

    _git(git_repo, "worktree", "add", "-q", str(tmp_path / "wt"), "ao/app-7-left-behind")
    third = artifacts_stamp(engine)
    assert third != second

    (engine.locations.sessions_root / "app-8").mkdir(parents=True)  # a state folder
    fourth = artifacts_stamp(engine)
    assert fourth != third

    _git(git_repo, "pack-refs", "--all")  # refs move into packed-refs
    assert artifacts_stamp(engine) != fourth


def test_a_looping_ref_tree_is_stamped_without_following_the_loop(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    heads = git_repo / ".git" / "refs" / "heads"
    (heads / "loop").symlink_to(heads, target_is_directory=True)
    assert artifacts_stamp(engine) is not None
    (heads / "loop").unlink()


async def test_an_idle_cockpit_takes_no_inventory_until_something_changes(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    taken: list[float] = []

    def counting(*args: object, **kwargs: object) -> Inventory:
        taken.append(0.0)
        return take_inventory(*args, **kwargs)  # type: ignore[arg-type]

    # A spy, not a stand-in: the real inventory still runs; this counts the calls.
    monkeypatch.setattr(app_module, "take_inventory", counting)
    app = CockpitApp(engine, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: len(taken) >= 1)
        # What the cockpit's own start may still write (its first tick, on a loaded
        # machine) is taken in once here; from then on nothing changes.
        await pilot.pause(1.0)
        app._check_orphans()
        settled = len(taken)
        for _ in range(3):
            app._check_orphans()
        await pilot.pause(0.5)
        assert len(taken) == settled
        _git(git_repo, "branch", "ao/app-9-orphan")
        app._check_orphans()
        await wait_until(pilot, lambda: len(taken) == settled + 1)


def test_a_half_added_worktree_does_not_hide_the_branches(tmp_path: Path, git_repo: Path) -> None:
    """git killed while adding a worktree (a merge's scratch) leaves an admin folder whose
    ``commondir`` is empty: ``git worktree list`` then fails, and the branches must still
    be seen, or every session's branch would look gone."""
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    session = engine.spawn("app", "a task whose branch must stay seen")
    _git(git_repo, "worktree", "add", "-q", "--detach", str(tmp_path / "scratch"))
    (git_repo / ".git" / "worktrees" / "scratch" / "commondir").write_text("")
    problems: list[str] = []
    found = gather(engine, problems)
    assert session.branch in found[session.id].branches
    assert any("commondir" in p for p in problems), problems
    assert not found[session.id].unregistered
