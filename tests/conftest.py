"""Fixtures shared by every test layer: an isolated ao-tui home, tmux socket and git repo.

Every test runs with ``AO_TUI_HOME`` in a temp dir, its own ``AO_TUI_TMUX_SOCKET`` and a
private ``TMUX_TMPDIR`` with ``TMUX`` unset, so no test can reach the user's tmux server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

CLAUDE_CACHE_BINARY = (
    ".cache/ao-tui/claude-cli/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
)
"""Where tests/run installs the Claude Code CLI, relative to the developer's HOME."""


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Path]:
    """Point ao-tui at a private home and tmux socket; kill that tmux server afterwards."""
    home = tmp_path_factory.mktemp("ao-home")
    # tmux socket paths must stay short (sun_path is ~100 bytes), so not under pytest's tmp.
    tmux_dir = Path("/tmp") / f"ao-tmux-{uuid.uuid4().hex[:8]}"
    tmux_dir.mkdir(mode=0o700)
    socket = f"aotest-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AO_TUI_HOME", str(home))
    # A private HOME: nothing a test runs (Claude's trust entry, its transcripts) may land in
    # the developer's own ~/.claude. The cached Claude binary is found before HOME moves.
    cached_claude = Path.home() / CLAUDE_CACHE_BINARY
    if "AO_TUI_CLAUDE_BIN" not in os.environ and cached_claude.is_file():
        monkeypatch.setenv("AO_TUI_CLAUDE_BIN", str(cached_claude))
    monkeypatch.setenv("HOME", str(home / "user-home"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.setenv("AO_TUI_TMUX_SOCKET", socket)
    monkeypatch.setenv("TMUX_TMPDIR", str(tmux_dir))
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("TMUX_PANE", raising=False)
    monkeypatch.delenv("AO_TUI_CONFIG", raising=False)
    # pytest-xdist's workers export COLUMNS=80 and LINES=24, which Textual (and so a cockpit
    # a test starts in a tmux window of another size) would take over the terminal's size.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    # Reactions act on their own (restore an exited agent, type a CI failure into it): the
    # tests of everything else assert on what happens without them. Tests of reactions
    # take the mark `reactions`, which leaves them on.
    if request.node.get_closest_marker("reactions") is None:
        monkeypatch.setenv("AO_TUI_REACTIONS", "off")
    else:
        monkeypatch.delenv("AO_TUI_REACTIONS", raising=False)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "ao test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ao@test.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "ao test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ao@test.invalid")
    yield home
    if shutil.which("tmux"):
        subprocess.run(
            ["tmux", "-L", socket, "kill-server"],
            env={**os.environ, "TMUX_TMPDIR": str(tmux_dir)},
            capture_output=True,
            check=False,
        )
    shutil.rmtree(tmux_dir, ignore_errors=True)


def run_git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout; raise with stderr on failure."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository on branch ``main`` with one commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# demo\n")
    run_git(repo, "add", "README.md")
    run_git(repo, "commit", "-q", "-m", "initial")
    return repo
