"""What `config check` and `doctor` say about a CI command, and the CI run's environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.agent_env import ci_environment
from core.ci_command import check_program, first_program, shell_problem


@pytest.mark.parametrize(
    ("command", "program"),
    [
        ("PYTHONPATH=src python -m pytest", "python"),
        ("A=1 B=2 make test", "make"),
        ("cd src && pytest -q", "pytest"),
        ("cd x > /dev/null && cargo test", "cargo"),
        ("exec npm test", "npm"),
        ("make test 2>&1 | tee log", "make"),
        ("( cd a; go test ./... )", "go"),
        ("./run-tests --fast", "./run-tests"),
        ("pytest  # don't cache", "pytest"),
        ("if true; then pytest; fi", None),
        ("$TOOL run", None),
        ("echo 'unclosed", None),
        ("", None),
    ],
)
def test_first_program(command: str, program: str | None) -> None:
    assert first_program(command) == program


def test_shell_problem_is_what_sh_says() -> None:
    assert shell_problem("PYTHONPATH=src python -m pytest && echo done | tee x") == ""
    assert shell_problem("pytest -q  # don't cache") == ""
    problem = shell_problem("echo 'unclosed")
    assert problem.startswith("sh cannot parse it: ")
    assert "/" not in problem  # no path of the shell binary in front
    assert shell_problem("if true; then") != ""


def test_check_program_looks_where_the_run_would(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "mytool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": str(bin_dir)}
    assert check_program("X=1 mytool run", env=env, cwd=tmp_path).path == str(tool)
    missing = check_program("nosuchtool --run", env=env, cwd=tmp_path)
    assert missing.problem == "'nosuchtool' is not on the CI run's PATH"
    script = tmp_path / "run-tests"
    script.write_text("#!/bin/sh\n")
    assert "is not executable" in check_program("./run-tests", env=env, cwd=tmp_path).problem
    assert "does not exist" in check_program("./nope", env=env, cwd=tmp_path).problem
    unknown = check_program("if true; then x; fi", env=env, cwd=tmp_path)
    assert (unknown.program, unknown.problem) == (None, "")


def test_ci_environment_is_the_allowlist_and_the_project_env() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "TMUX": "/tmp/tmux-1/default,1,0",
        "AWS_SECRET_ACCESS_KEY": "from-the-terminal",
        "CI_FLAVOUR": "terminal",
    }
    env = ci_environment(environ, project_env={"CI_FLAVOUR": "project", "TOKEN": "t"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/u", "CI_FLAVOUR": "project", "TOKEN": "t"}
