"""Commit provenance: commits in a session's worktree carry its trailers, and nowhere else.

Real git, real tmux on the test socket, the shell agent, the local SCM, the real CLI. The
test repository has a ``prepare-commit-msg`` hook of the user's own that appends a line to
a marker file: it must still run in the session's worktree, and stay byte for byte as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from core.engine import Engine
from core.slots import SlotError
from plugins.workspace import commit_hooks
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, write_config

AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"
MODEL = "claude-sonnet-4-5"
USER_HOOK = """#!/bin/sh
echo "$2" >> "{marker}"
"""


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "user-hook-ran.txt"


@pytest.fixture
def user_hook(git_repo: Path, marker: Path) -> Path:
    hook = git_repo / ".git" / "hooks" / "prepare-commit-msg"
    hook.write_text(USER_HOOK.format(marker=marker))
    hook.chmod(0o755)
    return hook


@pytest.fixture
def engine(tmp_path: Path, git_repo: Path, user_hook: Path) -> Engine:
    project = f"    agentConfig:\n      command: {AGENT!r}\n      model: {MODEL}\n"
    return make_engine(write_config(tmp_path, git_repo, extra_project_yaml=project))


def trailers(repo: Path, rev: str) -> list[str]:
    """The trailer lines of commit ``rev``, as git parses them."""
    out = run_git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return [line for line in out.splitlines() if line]


def commit(worktree: Path, name: str, *args: str) -> None:
    (worktree / name).write_text(f"{name}\n")
    run_git(worktree, "add", "--all")
    run_git(worktree, "commit", "-q", *args)


def test_every_commit_in_a_session_worktree_carries_one_set_of_trailers(
    engine: Engine, git_repo: Path, user_hook: Path, marker: Path, tmp_path: Path
) -> None:
    hook_before = (user_hook.read_bytes(), user_hook.stat().st_mode)
    session = engine.spawn("app", "add a feature")
    worktree = Path(session.worktree)
    expected = [f"Ao-Session: {session.id}", f"Ao-Agent: shell ({MODEL})"]

    commit(worktree, "a.txt", "-m", "add a")
    assert trailers(worktree, "HEAD") == expected
    # An amend, with a new message and without, and --no-verify: still exactly one set.
    run_git(worktree, "commit", "-q", "--amend", "-m", "add a, amended")
    assert trailers(worktree, "HEAD") == expected
    run_git(worktree, "commit", "-q", "--amend", "--no-edit", "--no-verify")
    assert trailers(worktree, "HEAD") == expected
    # A message written in an editor is stamped after the editor closed.
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "written in an editor\\n" > "$1"\n')
    editor.chmod(0o755)
    (worktree / "b.txt").write_text("b\n")
    run_git(worktree, "add", "--all")
    run_git(worktree, "-c", f"core.editor={editor}", "commit", "-q")
    assert run_git(worktree, "log", "-1", "--format=%s").strip() == "written in an editor"
    assert trailers(worktree, "HEAD") == expected
    # A merge made in the worktree (another branch into the session's).
    run_git(worktree, "branch", "side", "HEAD~1")
    run_git(worktree, "switch", "-q", "side")
    commit(worktree, "c.txt", "-m", "side work")
    run_git(worktree, "switch", "-q", session.branch)
    run_git(worktree, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    assert trailers(worktree, "HEAD") == expected
    # A rebase replays the commits: still one set each.
    run_git(worktree, "rebase", "-q", "--rebase-merges", "main")
    for rev in ("HEAD", "HEAD^1", "HEAD^2"):
        assert trailers(worktree, rev) == expected

    # The user's own hook ran for every one of those commits, and is unchanged.
    assert marker.read_text().splitlines()[:4] == ["message", "message", "commit", ""]
    assert (user_hook.read_bytes(), user_hook.stat().st_mode) == hook_before
    # The main checkout: no hooks path of ours, and its commits carry nothing.
    hooks = run_git(git_repo, "rev-parse", "--git-path", "hooks").strip()
    assert (git_repo / hooks).resolve() == (git_repo / ".git" / "hooks").resolve()
    ran = len(marker.read_text().splitlines())
    commit(git_repo, "main.txt", "-m", "the user's own commit")
    assert trailers(git_repo, "HEAD") == []
    assert len(marker.read_text().splitlines()) == ran + 1  # their hook, as before


def test_ao_tuis_merge_and_squash_commits_carry_the_trailers(engine: Engine) -> None:
    first = engine.spawn("app", "first change")
    commit(Path(first.worktree), "one.txt", "-m", "one")
    engine.approve(first.id)
    _, sha = engine.merge(first.id, method="merge")
    repo = engine.project("app").path
    assert trailers(repo, sha) == [f"Ao-Session: {first.id}", f"Ao-Agent: shell ({MODEL})"]
    assert run_git(repo, "log", "-1", "--format=%P", sha).count(" ") == 1  # a merge commit

    second = engine.spawn("app", "second change")
    commit(Path(second.worktree), "two.txt", "-m", "two")
    engine.approve(second.id)
    _, sha = engine.merge(second.id, method="squash")
    assert trailers(repo, sha) == [f"Ao-Session: {second.id}", f"Ao-Agent: shell ({MODEL})"]


def test_the_wip_commit_of_a_kill_and_commits_after_restore_carry_the_trailers(
    engine: Engine,
) -> None:
    session = engine.spawn("app", "unfinished work")
    worktree = Path(session.worktree)
    (worktree / "half.txt").write_text("half\n")
    _, wip = engine.kill(session.id)
    assert wip is not None
    repo = engine.project("app").path
    assert trailers(repo, wip)[-2:] == [f"Ao-Session: {session.id}", f"Ao-Agent: shell ({MODEL})"]
    engine.restore(session.id)  # the worktree is made again: so are its hooks
    commit(worktree, "rest.txt", "-m", "the rest")
    assert trailers(worktree, "HEAD") == [f"Ao-Session: {session.id}", f"Ao-Agent: shell ({MODEL})"]


def test_the_hooks_are_never_installed_in_the_main_checkout(git_repo: Path) -> None:
    with pytest.raises(SlotError, match="main checkout"):
        commit_hooks.install(git_repo, [("Ao-Session", "app-1")])
    assert run_git(git_repo, "config", "--list", "--local").count("hookspath") == 0


def test_log_lists_commits_by_session_and_agent(engine: Engine, tmp_path: Path) -> None:
    first = engine.spawn("app", "first change")
    commit(Path(first.worktree), "one.txt", "-m", "one")
    engine.approve(first.id)
    engine.merge(first.id, method="merge")
    second = engine.spawn("app", "second change")
    commit(Path(second.worktree), "two.txt", "-m", "two")

    proc = ao(tmp_path, "log", "--json")
    assert proc.returncode == 0, proc.stderr
    commits = json.loads(proc.stdout)["commits"]
    merge_subject = f"Merge {first.branch} ({first.id}): first change"
    assert sorted((c["session"], c["subject"]) for c in commits) == sorted(
        [(second.id, "two"), (first.id, merge_subject), (first.id, "one")]
    )
    assert set(commits[0]) == {"sha", "session", "agent", "project", "subject", "author", "time"}
    assert {c["agent"] for c in commits} == {f"shell ({MODEL})"}
    assert {c["project"] for c in commits} == {"app"}

    proc = ao(tmp_path, "log", "--session", second.id, "--json")
    assert [c["subject"] for c in json.loads(proc.stdout)["commits"]] == ["two"]
    proc = ao(tmp_path, "log")
    assert proc.returncode == 0, proc.stderr
    assert f"{first.id}  shell ({MODEL})  (app)" in proc.stdout
