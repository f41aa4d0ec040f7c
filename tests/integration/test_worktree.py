"""The git worktree workspace against real git repositories in temp dirs (nothing mocked)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from core.slots import SlotError, Workspace
from plugins.workspace import WorktreeWorkspace
from tests.conftest import run_git

# Files an agent might leave behind, named to trip up anything that splits or parses names.
ODD_NAMES = ["with space.txt", "ünïcödé ☃.md", "-leading-dash.txt", "sub dir/nested file.txt"]
OUR_FILES = [".ao-tui/", ".claude/settings.local.json"]


@pytest.fixture
def workspace() -> WorktreeWorkspace:
    """The plugin under test (it holds no state)."""
    return WorktreeWorkspace()


@pytest.fixture
def worktree(workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path) -> Path:
    """A worktree of ``git_repo`` on branch ``ao/t-1`` forked from ``main``."""
    path = tmp_path / "worktrees" / "t-1"
    workspace.create(git_repo, path, "ao/t-1", "main")
    return path


def worktree_list(repo: Path) -> str:
    """``git worktree list --porcelain``, the registrations git knows about."""
    return run_git(repo, "worktree", "list", "--porcelain")


def committed_files(path: Path, rev: str = "HEAD") -> set[str]:
    """The paths changed by commit ``rev``."""
    out = run_git(path, "show", "--name-only", "-z", "--format=", rev)
    return {name for name in out.split("\0") if name}


def assert_nothing_left(repo: Path, path: Path, branch: str, registrations: str) -> None:
    """No directory, no branch and no new worktree registration after a failure."""
    assert not path.exists()
    assert not WorktreeWorkspace().branch_exists(repo, branch)
    assert worktree_list(repo) == registrations


def test_satisfies_the_workspace_protocol(workspace: WorktreeWorkspace) -> None:
    assert isinstance(workspace, Workspace)
    assert workspace.name == "worktree"


def test_create_forks_a_new_branch(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    assert (worktree / "README.md").read_text() == "# demo\n"
    assert run_git(worktree, "symbolic-ref", "--short", "HEAD").strip() == "ao/t-1"
    assert workspace.head_sha(worktree) == workspace.head_sha(git_repo)
    assert workspace.branch_exists(git_repo, "ao/t-1")
    assert f"worktree {worktree}\n" in worktree_list(git_repo)


def test_exclude_writes_the_file_git_reads_once(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    exclude_file = git_repo / ".git" / "info" / "exclude"
    exclude_file.write_text("# existing line without newline")
    workspace.exclude(worktree, OUR_FILES)
    workspace.exclude(worktree, [*OUR_FILES, OUR_FILES[0]])
    lines = exclude_file.read_text().splitlines()
    assert lines == ["# existing line without newline", *OUR_FILES]

    (worktree / ".ao-tui").mkdir()
    (worktree / ".ao-tui" / "hooks.jsonl").write_text("{}\n")
    assert run_git(worktree, "status", "--porcelain") == ""

    with pytest.raises(SlotError, match="exclude pattern"):
        workspace.exclude(worktree, ["a\n!README.md"])


def test_save_work_commits_everything_but_our_files(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    workspace.exclude(worktree, OUR_FILES)
    (worktree / "README.md").write_text("# demo\nchanged by the agent\n")
    for name in ODD_NAMES:
        (worktree / name).parent.mkdir(parents=True, exist_ok=True)
        (worktree / name).write_text(f"content of {name}\n")
    (worktree / ".ao-tui").mkdir()
    (worktree / ".ao-tui" / "state.json").write_text("{}")
    (worktree / ".claude").mkdir()
    (worktree / ".claude" / "settings.local.json").write_text("{}")
    before = workspace.head_sha(worktree)

    sha = workspace.save_work(worktree, "-WIP: t-1 saved; by ao-tui")

    assert sha is not None and sha != before
    assert workspace.head_sha(worktree) == sha
    assert committed_files(worktree) == {"README.md", *ODD_NAMES}
    assert run_git(worktree, "log", "-1", "--format=%s").strip() == "-WIP: t-1 saved; by ao-tui"
    assert run_git(worktree, "log", "-1", "--format=%an").strip() == "ao test"
    assert run_git(worktree, "status", "--porcelain") == ""
    assert (worktree / ".ao-tui" / "state.json").exists()  # kept, just not committed
    assert workspace.head_sha(git_repo) == before  # main is untouched

    assert workspace.save_work(worktree, "nothing to save") is None
    assert workspace.head_sha(worktree) == sha


def test_save_work_skips_failing_hooks(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    (worktree / "new.txt").write_text("x\n")
    assert workspace.save_work(worktree, "WIP") is not None


def test_save_work_without_any_git_identity(
    workspace: WorktreeWorkspace,
    worktree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    empty_home = tmp_path / "empty-home"
    empty_home.mkdir()
    monkeypatch.setenv("HOME", str(empty_home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(empty_home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("NAME", "EMAIL"):
        monkeypatch.delenv(f"GIT_AUTHOR_{var}")
        monkeypatch.delenv(f"GIT_COMMITTER_{var}")
    monkeypatch.delenv("EMAIL", raising=False)
    (worktree / "new.txt").write_text("x\n")

    assert workspace.save_work(worktree, "WIP") is not None
    assert run_git(worktree, "log", "-1", "--format=%an <%ae>").strip() == (
        "ao-tui <ao-tui@localhost>"
    )


def test_remove_keeps_the_branch_and_reopen_restores_the_files(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    for name in ODD_NAMES:
        (worktree / name).parent.mkdir(parents=True, exist_ok=True)
        (worktree / name).write_text(f"content of {name}\n")
    sha = workspace.save_work(worktree, "WIP")
    (worktree / "uncommitted.txt").write_text("dropped on purpose\n")

    workspace.remove(git_repo, worktree)
    assert not worktree.exists()
    assert f"worktree {worktree}\n" not in worktree_list(git_repo)
    assert workspace.branch_exists(git_repo, "ao/t-1")
    assert run_git(git_repo, "rev-parse", "ao/t-1").strip() == sha
    workspace.remove(git_repo, worktree)  # already gone: just prunes

    workspace.reopen(git_repo, worktree, "ao/t-1")
    assert workspace.head_sha(worktree) == sha
    assert run_git(worktree, "symbolic-ref", "--short", "HEAD").strip() == "ao/t-1"
    for name in ODD_NAMES:
        assert (worktree / name).read_text() == f"content of {name}\n"
    assert not (worktree / "uncommitted.txt").exists()


def test_reopen_after_the_directory_was_deleted_by_hand(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    shutil.rmtree(worktree)  # leaves a stale registration holding the branch
    workspace.reopen(git_repo, worktree, "ao/t-1")
    assert (worktree / "README.md").exists()


def test_reopen_refusals(workspace: WorktreeWorkspace, git_repo: Path, worktree: Path) -> None:
    with pytest.raises(SlotError, match="already exists"):
        workspace.reopen(git_repo, worktree, "ao/t-1")
    workspace.remove(git_repo, worktree)
    with pytest.raises(SlotError, match="no longer exists"):
        workspace.reopen(git_repo, worktree, "ao/never-made")
    assert not worktree.exists()


def test_create_refuses_an_existing_branch(
    workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path
) -> None:
    run_git(git_repo, "branch", "ao/taken")
    before = worktree_list(git_repo)
    path = tmp_path / "wt"
    with pytest.raises(SlotError, match=r"branch 'ao/taken' already exists"):
        workspace.create(git_repo, path, "ao/taken", "main")
    assert not path.exists()
    assert worktree_list(git_repo) == before
    assert workspace.branch_exists(git_repo, "ao/taken")  # someone else's: left alone


def test_create_refuses_an_existing_path(
    workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wt"
    path.mkdir()
    (path / "precious.txt").write_text("keep me\n")
    before = worktree_list(git_repo)
    with pytest.raises(SlotError, match="already exists"):
        workspace.create(git_repo, path, "ao/t-2", "main")
    assert (path / "precious.txt").read_text() == "keep me\n"
    assert not workspace.branch_exists(git_repo, "ao/t-2")
    assert worktree_list(git_repo) == before


@pytest.mark.parametrize(
    "base",
    [
        "no-such-branch",
        "-main",
        "main~5",
        "",
        "HEAD",
        "v1.0",
        "SHA",
        "origin/main",
        "refs/heads/main",
    ],
)
def test_create_refuses_a_base_that_is_not_a_local_branch(
    workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path, base: str
) -> None:
    """A session merges back into its base: HEAD, a tag, a sha or a remote ref cannot take it."""
    run_git(git_repo, "tag", "v1.0")
    run_git(git_repo, "update-ref", "refs/remotes/origin/main", "main")
    if base == "SHA":
        base = run_git(git_repo, "rev-parse", "HEAD").strip()
    before = worktree_list(git_repo)
    with pytest.raises(SlotError, match="is not a local branch"):
        workspace.create(git_repo, tmp_path / "wt", "ao/t-3", base)
    assert_nothing_left(git_repo, tmp_path / "wt", "ao/t-3", before)


@pytest.mark.parametrize(
    "branch", ["-x", "a..b", "has space", "ends/", "x.lock", "", "@{-1}", "HEAD"]
)
def test_create_refuses_a_bad_branch_name(
    workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path, branch: str
) -> None:
    before = worktree_list(git_repo)
    with pytest.raises(SlotError, match="invalid branch name"):
        workspace.create(git_repo, tmp_path / "wt", branch, "main")
    assert not (tmp_path / "wt").exists()
    assert worktree_list(git_repo) == before


def test_failed_checkout_leaves_nothing_behind(
    workspace: WorktreeWorkspace, git_repo: Path, tmp_path: Path
) -> None:
    """git leaves the worktree and branch in place when post-checkout fails; we must not."""
    hook = git_repo / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\necho refused by hook >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    before = worktree_list(git_repo)
    with pytest.raises(SlotError, match="refused by hook"):
        workspace.create(git_repo, tmp_path / "wt", "ao/t-4", "main")
    assert_nothing_left(git_repo, tmp_path / "wt", "ao/t-4", before)


def test_default_branch(workspace: WorktreeWorkspace, git_repo: Path, worktree: Path) -> None:
    assert workspace.default_branch(git_repo) == "main"
    assert workspace.default_branch(worktree) == "main"  # the main worktree's, not ours

    run_git(git_repo, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    run_git(git_repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    assert workspace.default_branch(git_repo) == "trunk"


def test_default_branch_of_a_detached_repo(workspace: WorktreeWorkspace, git_repo: Path) -> None:
    run_git(git_repo, "branch", "-m", "main", "develop")
    assert workspace.default_branch(git_repo) == "develop"
    run_git(git_repo, "checkout", "-q", "--detach")
    assert workspace.default_branch(git_repo) == "main"


def test_delete_branch_only_without_own_commits(
    workspace: WorktreeWorkspace, git_repo: Path, worktree: Path
) -> None:
    (worktree / "work.txt").write_text("agent work\n")
    workspace.save_work(worktree, "WIP")
    workspace.remove(git_repo, worktree)
    with pytest.raises(SlotError, match="commits of its own"):
        workspace.delete_branch(git_repo, "ao/t-1")
    with pytest.raises(SlotError, match="commits of its own"):
        workspace.delete_branch(git_repo, "ao/t-1", base="main")
    assert workspace.branch_exists(git_repo, "ao/t-1")

    workspace.create(git_repo, worktree.with_name("t-2"), "ao/t-2", "main")
    workspace.remove(git_repo, worktree.with_name("t-2"))
    workspace.delete_branch(git_repo, "ao/t-2")
    assert not workspace.branch_exists(git_repo, "ao/t-2")
    workspace.delete_branch(git_repo, "ao/t-2")  # already gone: not an error
