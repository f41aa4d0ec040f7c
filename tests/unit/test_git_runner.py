"""core.git: the one git runner. A hung git is cut off with one line, wherever it is called.

Two kinds of hang, both real processes: a real git whose hook sleeps, and a program named
``git`` put first on PATH that only sleeps (it stands in for a git stuck on a network mount
or a dead credential helper, which a test cannot make git do on demand).
"""

from __future__ import annotations

import ast
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import core.config_init
import core.scm_host
from ao_tui.cli import main
from core.doctor import check_git
from core.git import GitError, run_git

HANG = 20
"""Seconds the hung git sleeps: far past every timeout the tests set."""


@pytest.fixture
def hung_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``git`` first on PATH that never answers (it sleeps :data:`HANG` seconds)."""
    bin_dir = tmp_path / "hung-bin"
    bin_dir.mkdir()
    fake = bin_dir / "git"
    # exec: the timeout's kill lands on the sleeping process itself, leaving no orphan.
    fake.write_text(f"#!/bin/sh\nexec sleep {HANG}\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def test_a_git_hook_that_hangs_is_cut_off_with_one_line(git_repo: Path) -> None:
    hook = git_repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexec sleep 3\n", encoding="utf-8")
    hook.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(GitError) as caught:
        run_git(["commit", "--allow-empty", "-qm", "x"], cwd=git_repo, timeout=0.5)
    assert time.monotonic() - started < 2.5
    message = str(caught.value)
    assert message == (
        f"git commit in {git_repo} took over 0.5s and was stopped "
        "(a hook, filter or credential helper waiting?)"
    )


def test_a_failing_git_says_what_git_said_on_one_line(git_repo: Path) -> None:
    said = r"^git rev-parse in .* failed: fatal: Needed a single revision$"
    with pytest.raises(GitError, match=said) as caught:
        run_git(["rev-parse", "--verify", "nope"], cwd=git_repo)
    assert "\n" not in str(caught.value)
    assert run_git(["rev-parse", "--verify", "nope"], cwd=git_repo, check=False).returncode


def test_a_missing_git_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitError, match=r"^git is not installed: no `git` on PATH$"):
        run_git(["--version"], cwd=None)


def test_init_stops_a_hung_git_with_one_line(
    git_repo: Path, hung_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ``init`` used to run git with no timeout at all: it waited as long as git did.
    monkeypatch.setattr(core.config_init, "GIT_TIMEOUT", 0.5)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["init", str(git_repo)])
    assert time.monotonic() - started < 5
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"ao-tui: git rev-parse in {git_repo} took over 0.5s and was stopped "
        "(a hook, filter or credential helper waiting?)\n"
    )
    assert not (git_repo / "ao.config.yaml").exists()


def test_the_origin_lookup_gives_up_on_a_hung_git(
    git_repo: Path, hung_git: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.scm_host, "_GIT_TIMEOUT", 0.5)
    started = time.monotonic()
    assert core.scm_host.origin_url(git_repo) is None
    assert time.monotonic() - started < 5


def test_doctor_reports_a_git_that_does_not_answer(hung_git: Path) -> None:
    started = time.monotonic()
    check = check_git(timeout=0.5)
    assert time.monotonic() - started < 5
    assert check.status == "fail"
    assert check.detail.startswith("git --version took over 0.5s and was stopped")


def test_init_names_a_missing_git(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # It used to say the directory was not a git repository, and suggest `git init`.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["init", str(git_repo)])
    assert result.exit_code == 1, result.output
    assert result.stderr == "ao-tui: git is not installed: no `git` on PATH\n"


def git_argv_outside_the_runner(root: Path) -> list[str]:
    """``file:line`` of every ``["git", ...]`` argv written outside core/git.py under ``root``."""
    found: list[str] = []
    for layer in ("core", "plugins", "ao_tui"):
        for path in sorted((root / layer).rglob("*.py")):
            if path.relative_to(root) == Path("core/git.py"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    isinstance(node, (ast.List, ast.Tuple))
                    and node.elts
                    and isinstance(node.elts[0], ast.Constant)
                    and node.elts[0].value == "git"
                ):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_git_runs_only_through_core_git() -> None:
    root = Path(__file__).resolve().parents[2]
    assert git_argv_outside_the_runner(root) == []


def test_a_second_git_wrapper_is_reported(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "git.py").write_text("ARGV = ['git', 'status']\n", encoding="utf-8")
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "scm.py").write_text(
        "import subprocess\n\ndef head() -> None:\n"
        "    subprocess.run(('git', 'rev-parse', 'HEAD'), check=False)\n",
        encoding="utf-8",
    )
    assert git_argv_outside_the_runner(tmp_path) == ["plugins/scm.py:4"]
