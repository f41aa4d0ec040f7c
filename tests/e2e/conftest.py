"""Fixtures for end-to-end tests against the real Claude Code CLI, fully offline.

``anthropic_standin`` serves the scripted Messages API on 127.0.0.1, ``claude_bin`` finds
the binary (skip, or fail under ``AO_TUI_REQUIRE_CLAUDE=1``), ``claude_home`` is a throw-away
HOME whose ``.claude.json`` trusts the ``git_repo`` worktree, and ``isolated_tmux`` drives the
per-test tmux server named by ``AO_TUI_TMUX_SOCKET`` (set by the autouse fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.anthropic_standin import AnthropicStandin
from tests.e2e.claude_harness import (
    IsolatedTmux,
    require_claude_binary,
    require_tmux,
    write_claude_config,
)


@pytest.fixture
def anthropic_standin() -> Iterator[AnthropicStandin]:
    """A running stand-in; its request log starts empty for each test."""
    with AnthropicStandin() as standin:
        yield standin


@pytest.fixture
def claude_bin() -> Path:
    """The real Claude Code binary (the test skips without it, or fails in CI)."""
    return require_claude_binary()


@pytest.fixture
def claude_home(tmp_path: Path, git_repo: Path) -> Path:
    """A temp HOME whose ``.claude.json`` pre-answers onboarding, API key and trust."""
    home = tmp_path / "claude-home"
    write_claude_config(home, git_repo)
    return home


@pytest.fixture
def isolated_tmux() -> Iterator[IsolatedTmux]:
    """The test's private tmux server; every session on it is killed afterwards."""
    require_tmux()
    server = IsolatedTmux.from_environ()
    yield server
    server.kill_server()
