"""`ao-tui init`'s starter config, rendered for real git repositories and loaded back."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from core.config import load_config
from core.config_init import (
    detect_default_branch,
    guess_ci_command,
    project_id_for,
    render_init,
)
from core.errors import ConfigError
from core.registry import Registry
from tests.conftest import run_git

KNOWN_AGENTS = frozenset({"claude-code", "shell", "demo"})
"""The agents ao-tui ships (the registry's agent plugins)."""


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
    # A text rendered with the installed agents may name any of them (as an alternative).
    loaded = load_config(target, known_agents=KNOWN_AGENTS | set(Registry().names("agent")))
    assert loaded.warnings == []


def uncommented(text: str) -> str:
    """Every commented setting of the project made live (its two lines of prose dropped)."""
    prose = ("    # CI runs at each new commit", "    # session worktree with the env")
    lines = [
        "    " + line.removeprefix("    # ") if line.startswith("    # ") else line
        for line in text.splitlines()
        if not line.startswith(prose)
    ]
    return "\n".join(lines).replace("EXAMPLE_TOKEN: ${EXAMPLE_TOKEN}", "A: b") + "\n"


def test_render_init_round_trips(git_repo: Path, tmp_path: Path) -> None:
    path = fake_path(tmp_path, "claude", "codex", "aider")
    text = render_init(
        git_repo, which=lambda name: shutil.which(name, path=path), known_agents=KNOWN_AGENTS
    )
    target = git_repo / "ao.config.yaml"
    target.write_text(text)
    loaded = load_config(target, known_agents=KNOWN_AGENTS)
    config = loaded.config
    assert list(config.projects) == ["repo"]
    project = config.projects["repo"]
    assert project.path == git_repo.resolve()
    assert project.default_branch == "main"
    assert project.session_prefix == "repo"
    assert config.defaults.agent == "claude-code"
    assert "  agent: claude-code  # Claude Code; claude found on PATH" in text
    assert "# agent: shell" in text
    # The commented-out settings must be valid once uncommented.
    live = uncommented(text)
    assert "\n    # " not in live
    write_and_load(git_repo, live)
    project = load_config(target, known_agents=KNOWN_AGENTS).config.projects["repo"]
    assert project.agent == "shell"
    assert project.agent_config.model == "sonnet"
    assert project.env == {"A": "b"}
    assert project.ci is not None and project.ci.command == "./run-tests"  # the placeholder
    assert project.ci.timeout == 600


def test_render_init_names_only_agents_ao_tui_knows(git_repo: Path, tmp_path: Path) -> None:
    path = fake_path(tmp_path, "claude", "codex", "aider")
    text = render_init(
        git_repo, which=lambda name: shutil.which(name, path=path), known_agents=KNOWN_AGENTS
    )
    assert "codex" not in text and "aider" not in text
    listing = " ".join(line.lstrip("# ") for line in text.splitlines() if line.startswith("#"))
    assert (
        "Agents ao-tui knows: claude-code (Claude Code), shell (any command line of yours, as "
        "agentConfig.command), demo (the scripted agent of `ao-tui demo`)."
    ) in listing
    write_and_load(git_repo, text)


def test_render_init_without_claude_on_path(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", fake_path(tmp_path) + os.pathsep + "/usr/bin:/bin")
    if shutil.which("claude"):
        pytest.skip("the Claude Code CLI is installed system-wide")
    text = render_init(git_repo, known_agents=KNOWN_AGENTS)  # the real shutil.which
    assert "agent: claude-code  # claude not found on PATH: install it, or use the shell agent" in (
        text
    )
    assert "# agent: shell" in text
    write_and_load(git_repo, text)


def test_render_init_says_to_commit_the_file_with_secrets_as_variables(git_repo: Path) -> None:
    text = render_init(git_repo, which=lambda name: None, known_agents=KNOWN_AGENTS)
    assert "# Commit this file to share the setup with your team." in text
    assert "write\n# them as ${VAR}" in text
    assert "#   EXAMPLE_TOKEN: ${EXAMPLE_TOKEN}" in text


@pytest.mark.parametrize(
    ("files", "command"),
    [
        ({"Cargo.toml": "[package]\n"}, "cargo test"),
        ({"go.mod": "module x\n"}, "go test ./..."),
        ({"package.json": '{"scripts": {"test": "jest"}}'}, "npm test"),
        ({"package.json": '{"scripts": {"build": "tsc"}}'}, None),
        ({"package.json": "not json"}, None),
        ({"pyproject.toml": "[project]\n"}, "python -m pytest -q"),
        ({"tests/test_x.py": "def test(): pass\n"}, "python -m pytest -q"),
        ({"Makefile": "all:\n\techo\ntest: all\n\t./t\n"}, "make test"),
        ({"Makefile": "all:\n\techo\n"}, None),
        ({}, None),
    ],
)
def test_the_ci_line_is_guessed_when_obvious(
    git_repo: Path, files: dict[str, str], command: str | None
) -> None:
    for name, content in files.items():
        (git_repo / name).parent.mkdir(parents=True, exist_ok=True)
        (git_repo / name).write_text(content)
    assert guess_ci_command(git_repo) == command
    text = render_init(git_repo, which=lambda name: None, known_agents=KNOWN_AGENTS)
    ci_lines = [line for line in text.splitlines() if "# ci: {command:" in line]
    assert len(ci_lines) == 1
    if command is None:
        assert ci_lines[0].endswith(
            "# ci: {command: ./run-tests, timeout: 600}  # a placeholder: the line that runs "
            "your tests"
        )
    else:
        assert (
            f"# ci: {{command: {json.dumps(command) if ' ' in command else command}, "
            in (ci_lines[0])
        )
        assert ci_lines[0].endswith("# guessed; check it")
    write_and_load(git_repo, uncommented(text))


def test_render_init_from_a_subdirectory_and_odd_names(tmp_path: Path) -> None:
    repo = tmp_path / "My_Repo.v2"
    (repo / "src").mkdir(parents=True)
    run_git(repo, "init", "-q", "-b", "release/2024")
    text = render_init(repo / "src", which=lambda name: None, known_agents=KNOWN_AGENTS)
    assert "  my-repo-v2:" in text
    write_and_load(repo, text)
    config = load_config(repo / "ao.config.yaml", known_agents=KNOWN_AGENTS).config
    assert config.projects["my-repo-v2"].default_branch == "release/2024"
    assert config.projects["my-repo-v2"].path == repo.resolve()


def test_render_init_quotes_values_yaml_would_misread(tmp_path: Path) -> None:
    repo = tmp_path / "2024"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "yes")
    text = render_init(repo, which=lambda name: None, known_agents=KNOWN_AGENTS)
    assert '  "2024":' in text
    assert 'defaultBranch: "yes"' in text
    write_and_load(repo, text)


def test_render_init_outside_git(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not inside a git repository"):
        render_init(tmp_path, which=lambda name: None, known_agents=KNOWN_AGENTS)


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
    text = render_init(git_repo, which=lambda name: None, known_agents=KNOWN_AGENTS)
    assert "    path: ~/repo\n" in text
    write_and_load(git_repo, text)
