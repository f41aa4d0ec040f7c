"""A project's base must be a local branch of a repository with commits (real git, real CLI).

``spawn`` forked from ``HEAD``, a tag or a sha and ``merge`` then failed; ``config check``
accepted a ``defaultBranch`` that does not exist and a repository with no commits. All of
them are refused now, with the config field, its line and the fix named (exit 5).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_git
from tests.support.engine import ao, write_config


def project_with_base(repo: Path, directory: Path, base: str | None) -> Path:
    """A config for ``repo`` whose ``defaultBranch`` is ``base`` (None: not set)."""
    config = write_config(directory, repo)
    text = config.read_text()
    line = "    defaultBranch: main\n"
    config.write_text(text.replace(line, "" if base is None else f"    defaultBranch: '{base}'\n"))
    return config


def add_refs(repo: Path) -> str:
    """A tag, a remote-tracking branch and a second branch; the head commit's sha."""
    run_git(repo, "tag", "v1.0")
    run_git(repo, "update-ref", "refs/remotes/origin/main", "main")
    run_git(repo, "update-ref", "refs/remotes/origin/release", "main")
    run_git(repo, "branch", "develop")
    return run_git(repo, "rev-parse", "HEAD").strip()


BAD_BASES = {
    "HEAD": "names whatever is checked out, not a branch",
    "v1.0": "'v1.0' is a tag, not a branch",
    "SHA": "looks like a commit id, not a branch",
    "origin/main": "is a remote-tracking branch, not a local one",
    "release": "no local branch 'release' (only origin/release",
    "nope": "there is no local branch 'nope' (branches: develop, main)",
}


@pytest.mark.parametrize("base", sorted(BAD_BASES))
def test_spawn_refuses_a_base_that_is_not_a_local_branch(
    tmp_path: Path, git_repo: Path, base: str
) -> None:
    sha = add_refs(git_repo)
    given = sha if base == "SHA" else base
    config = project_with_base(git_repo, tmp_path, given)
    before = run_git(git_repo, "branch", "--format=%(refname:short)")
    proc = ao(tmp_path, "--config", str(config), "spawn", "--prompt", "fix it")
    assert proc.returncode == 5, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith("ao-tui: projects.app.defaultBranch: ")
    assert BAD_BASES[base] in line
    assert "set projects.app.defaultBranch to a branch, e.g. main" in line
    # nothing was made: no branch, no worktree, no session, no id spent
    assert run_git(git_repo, "branch", "--format=%(refname:short)") == before
    assert len(run_git(git_repo, "worktree", "list").splitlines()) == 1
    status = ao(tmp_path, "--config", str(config), "status", "--json")
    assert json.loads(status.stdout) == []


def test_config_check_names_the_line_of_a_default_branch_that_is_a_tag(
    tmp_path: Path, git_repo: Path
) -> None:
    add_refs(git_repo)
    config = project_with_base(git_repo, tmp_path, "v1.0")
    line_no = config.read_text().splitlines().index("    defaultBranch: 'v1.0'") + 1
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5, proc.stderr
    assert proc.stderr.splitlines() == [
        f"ao-tui: {config}:{line_no}:20: projects.app.defaultBranch: 'v1.0' is a tag, not a "
        "branch (branches: develop, main); set projects.app.defaultBranch to a branch, e.g. main"
    ]


def test_config_check_refuses_a_default_branch_that_does_not_exist(
    tmp_path: Path, git_repo: Path
) -> None:
    config = project_with_base(git_repo, tmp_path, "mian")
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5
    assert "projects.app.defaultBranch: there is no local branch 'mian' (branches: main)" in (
        proc.stderr
    )


def test_config_check_refuses_a_repository_without_commits(tmp_path: Path) -> None:
    repo = tmp_path / "empty"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    config = write_config(tmp_path, repo)
    path_line = next(
        n for n, text in enumerate(config.read_text().splitlines(), 1) if "path:" in text
    )
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5, proc.stderr
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"ao-tui: {config}:{path_line}:11: projects.app.path: ")
    assert "has no commits yet" in line and "make a first commit" in line
    spawn = ao(tmp_path, "--config", str(config), "spawn", "--prompt", "fix it")
    assert spawn.returncode == 5
    assert "make a first commit" in spawn.stderr


def test_config_check_refuses_a_detected_default_branch_that_is_only_remote(
    tmp_path: Path, git_repo: Path
) -> None:
    run_git(git_repo, "update-ref", "refs/remotes/origin/trunk", "main")
    run_git(git_repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    config = project_with_base(git_repo, tmp_path, None)
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5
    [line] = proc.stderr.splitlines()
    assert "projects.app.defaultBranch: the detected default branch: there is no local " in line
    assert "git branch trunk origin/trunk" in line
    assert line.endswith("set projects.app.defaultBranch to a branch, e.g. main")


def test_config_check_reports_every_project(tmp_path: Path, git_repo: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    run_git(other, "init", "-q", "-b", "main")
    config = project_with_base(git_repo, tmp_path, "HEAD")
    config.write_text(
        config.read_text() + f"  other:\n    path: {other}\n    agent: shell\n",
    )
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5
    lines = [line.removeprefix("ao-tui: ") for line in proc.stderr.splitlines()]
    fields = [line.split(": ")[1] for line in lines]
    assert fields == ["projects.app.defaultBranch", "projects.other.path"]


def test_config_check_passes_a_good_project(tmp_path: Path, git_repo: Path) -> None:
    config = write_config(tmp_path, git_repo)
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok: 1 project(s)\n", "")


def test_doctor_names_the_fix_for_a_bad_base(tmp_path: Path, git_repo: Path) -> None:
    add_refs(git_repo)
    config = project_with_base(git_repo, tmp_path, "v1.0")
    proc = ao(tmp_path, "--config", str(config), "doctor", "--json")
    assert proc.returncode == 1
    [check] = [c for c in json.loads(proc.stdout) if c["name"] == "repository (app)"]
    assert check["status"] == "fail"
    assert check["detail"].startswith("'v1.0' is a tag, not a branch")
    assert check["fix"] == "set projects.app.defaultBranch to a branch, e.g. main"

    good = write_config(tmp_path, git_repo)
    proc = ao(tmp_path, "--config", str(good), "doctor", "--json")
    [check] = [c for c in json.loads(proc.stdout) if c["name"] == "repository (app)"]
    assert check["status"] == "ok"
    assert check["detail"] == f"{git_repo}, sessions branch from main"


def test_a_path_inside_a_broken_repository_is_named(tmp_path: Path) -> None:
    """A ``.git`` that git cannot read passes the config's own check; the project check not."""
    repo = tmp_path / "broken"
    (repo / ".git").mkdir(parents=True)
    config = write_config(tmp_path, repo)
    proc = ao(tmp_path, "--config", str(config), "config", "check")
    assert proc.returncode == 5, proc.stderr
    [line] = proc.stderr.splitlines()
    assert "projects.app.path: " in line and "is not a git work tree" in line
    assert subprocess.run(["git", "-C", str(repo), "status"], capture_output=True).returncode
