"""`ao-tui init`'s starter config, rendered for real git repositories and loaded back."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from core.config import load_config
from core.config_init import detect_default_branch, project_id_for, render_init
from core.errors import ConfigError
from tests.conftest import run_git

KNOWN_AGENTS = frozenset({"claude-code", "codex", "aider", "shell"})


def fake_path(tmp_path: Path, *binaries: str) -> str:
    """A PATH holding executables named ``binaries`` (real files found by a real which)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for binary in binaries:
        exe = bin_dir / binary
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(bin_dir)


def write_and_load(repo: Path, text: str) -> None:
    target = repo / "ao.config.yaml"
    target.write_text(text)
    loaded = load_config(target, known_agents=KNOWN_AGENTS)
    assert loaded.warnings == []


def test_render_init_round_trips(git_repo: Path, tmp_path: Path) -> None:
    path = fake_path(tmp_path, "codex", "aider")
    text = render_init(git_repo, which=lambda name: shutil.which(name, path=path))
    target = git_repo / "ao.config.yaml"
    target.write_text(text)
    loaded = load_config(target, known_agents=KNOWN_AGENTS)
    config = loaded.config
    assert list(config.projects) == ["repo"]
    project = config.projects["repo"]
    assert project.path == git_repo.resolve()
    assert project.default_branch == "main"
    assert project.session_prefix == "repo"
    assert config.defaults.agent == "codex"
    assert project.agent_name(config.defaults) == "codex"
    assert "# agent CLIs found on PATH: codex, aider" in text
    assert "# agent: aider" in text
    # The commented-out examples must be valid once uncommented.
    uncommented = text.replace("    # ", "    ").replace("EXAMPLE_TOKEN: ${EXAMPLE_TOKEN}", "A: b")
    assert uncommented.count("\n    #") == 0
    write_and_load(git_repo, uncommented)
    project = load_config(target, known_agents=KNOWN_AGENTS).config.projects["repo"]
    assert project.agent == "aider"
    assert project.agent_config.model == "sonnet"
    assert project.env == {"A": "b"}


def test_render_init_prefers_claude_and_names_its_plugin(git_repo: Path, tmp_path: Path) -> None:
    path = fake_path(tmp_path, "claude", "codex")
    text = render_init(git_repo, which=lambda name: shutil.which(name, path=path))
    assert "  agent: claude-code  # agent CLIs found on PATH: claude (claude-code), codex" in text
    write_and_load(git_repo, text)


def test_render_init_without_any_agent_on_path(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", fake_path(tmp_path) + os.pathsep + "/usr/bin:/bin")
    if any(shutil.which(name) for name in ("claude", "codex", "aider")):
        pytest.skip("an agent CLI is installed system-wide")
    text = render_init(git_repo)  # the real shutil.which on a PATH without agents
    assert "agent: claude-code  # no agent CLI (claude, codex, aider) found on PATH" in text
    assert "# agent: shell" in text
    write_and_load(git_repo, text)


def test_render_init_from_a_subdirectory_and_odd_names(tmp_path: Path) -> None:
    repo = tmp_path / "My_Repo.v2"
    (repo / "src").mkdir(parents=True)
    run_git(repo, "init", "-q", "-b", "release/2024")
    text = render_init(repo / "src", which=lambda name: None)
    assert "  my-repo-v2:" in text
    write_and_load(repo, text)
    config = load_config(repo / "ao.config.yaml", known_agents=KNOWN_AGENTS).config
    assert config.projects["my-repo-v2"].default_branch == "release/2024"
    assert config.projects["my-repo-v2"].path == repo.resolve()


def test_render_init_quotes_values_yaml_would_misread(tmp_path: Path) -> None:
    repo = tmp_path / "2024"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "yes")
    text = render_init(repo, which=lambda name: None)
    assert '  "2024":' in text
    assert 'defaultBranch: "yes"' in text
    write_and_load(repo, text)


def test_render_init_outside_git(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not inside a git repository"):
        render_init(tmp_path, which=lambda name: None)


@pytest.mark.parametrize(
    ("name", "project_id"),
    [("app", "app"), ("My_Repo.v2", "my-repo-v2"), ("--x--", "x"), ("___", "app")],
)
def test_project_id_for(name: str, project_id: str) -> None:
    assert project_id_for(name) == project_id


def test_default_branch_prefers_origin_head(git_repo: Path, tmp_path: Path) -> None:
    run_git(git_repo, "branch", "-m", "main", "trunk")
    clone = tmp_path / "clone"
    run_git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    run_git(clone, "checkout", "-q", "-b", "feature")
    assert detect_default_branch(clone) == "trunk"


def test_default_branch_falls_back_to_current_branch(git_repo: Path) -> None:
    run_git(git_repo, "checkout", "-q", "-b", "develop")
    assert detect_default_branch(git_repo) == "develop"


def test_default_branch_when_detached(git_repo: Path) -> None:
    run_git(git_repo, "checkout", "-q", "--detach")
    assert detect_default_branch(git_repo) == "main"
    run_git(git_repo, "branch", "-m", "main", "master")
    assert detect_default_branch(git_repo) == "master"
    run_git(git_repo, "branch", "-m", "master", "other")
    assert detect_default_branch(git_repo) == "main"


def test_render_init_writes_paths_under_home_with_tilde(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(git_repo.parent))
    text = render_init(git_repo, which=lambda name: None)
    assert "    path: ~/repo\n" in text
    write_and_load(git_repo, text)
