"""`doctor` checks that each project's ci.command can start (best effort), via the real CLI."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from core.doctor import ci_checks
from tests.support.engine import ao, make_engine, write_config


def project_with_ci(tmp_path: Path, repo: Path, ci_yaml: str) -> tuple[Path, object]:
    config = write_config(tmp_path, repo, extra_project_yaml=ci_yaml)
    return config, make_engine(config).config.projects["app"]


@pytest.mark.parametrize(
    ("ci_yaml", "status", "detail"),
    [
        ("", "warn", "no ci.command: review and merge go ahead without CI"),
        (
            "    ci: {command: 'nosuchtool-4711 --run'}\n",
            "fail",
            "'nosuchtool-4711' is not on the CI run's PATH (best effort: its first program, "
            "looked up as a run would)",
        ),
        (
            '    ci: {command: "echo \'unclosed"}\n',
            "fail",
            "sh cannot parse it: Syntax error: Unterminated quoted string",
        ),
        ("    ci: {command: 'cd sub && ./run-tests'}\n", "fail", "'./run-tests' does not exist"),
        ("    ci: {command: 'if true; then make; fi'}\n", "ok", "not looked up"),
        (f"    ci: {{command: 'PYTHONPATH=src {sys.executable} -m pytest'}}\n", "ok", " is "),
    ],
)
def test_doctor_says_whether_the_ci_command_can_start(
    tmp_path: Path, git_repo: Path, ci_yaml: str, status: str, detail: str
) -> None:
    _, project = project_with_ci(tmp_path, git_repo, ci_yaml)
    (check,) = ci_checks("app", project)
    assert check.name == "ci (app)"
    assert check.status == status, check
    assert detail in check.detail
    if status != "ok":
        assert "projects.app.ci" in check.fix


def test_the_program_is_looked_up_on_the_project_env_path(tmp_path: Path, git_repo: Path) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    tool = tools / "runtests"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    ci_yaml = f"    ci: {{command: 'runtests -q'}}\n    env: {{PATH: '{tools}:/usr/bin:/bin'}}\n"
    _, project = project_with_ci(tmp_path, git_repo, ci_yaml)
    (check,) = ci_checks("app", project)
    assert (check.status, check.detail) == ("ok", f"'runtests -q': runtests is {tool}")


def test_doctor_json_carries_the_ci_check(tmp_path: Path, git_repo: Path) -> None:
    config, _ = project_with_ci(tmp_path, git_repo, "    ci: {command: 'nosuchtool-4711'}\n")
    result = ao(tmp_path, "--config", str(config), "doctor", "--json")
    assert result.returncode == 1
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert checks["ci (app)"]["status"] == "fail"
    assert checks["ci (app)"]["fix"].startswith("install nosuchtool-4711, or fix projects.app")
