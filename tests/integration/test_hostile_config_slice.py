"""Hostile inputs against what issue 9's config slice added: a followed config file that
turns hostile, titles and agent commands in the plain status table, hostile CI commands.

The corpus is tests/fixtures/hostile/ (configs, titles); each file is one case.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from ao_tui.keymap import DEFAULT_KEYMAP
from ao_tui.status_table import WIDTH, render_table
from core.ci_command import check_program, first_program, shell_problem
from core.config_reload import ConfigFollower
from core.inert import inert
from tests.integration.test_cli_scripts import waiting
from tests.support.engine import ao, make_engine, write_config
from tests.support.hostile_inputs import HOSTILE, hostile_params

CONFIGS = sorted((HOSTILE / "configs").iterdir())


def assert_inert(text: str) -> None:
    assert inert(text) == text, [ch for ch in text if inert(ch) != ch]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_a_followed_config_that_turns_hostile_is_refused_and_the_old_one_kept(
    tmp_path: Path, git_repo: Path, config: Path
) -> None:
    path = write_config(tmp_path, git_repo, extra_project_yaml="    ci: {command: make test}\n")
    (git_repo / "escape.md").symlink_to("/etc/hostname")  # for the symlink-escape case
    engine = make_engine(path)
    before = engine.config
    follower = ConfigFollower(engine, path, known_keys=DEFAULT_KEYMAP)  # as the cockpit does
    assert follower.check() is not None
    # The hostile file's project path is `.` or a repo: run it against the same repository.
    shutil.copyfile(config, path)
    text = path.read_bytes().replace(b"path: .", f"path: {git_repo}".encode())
    path.write_bytes(text)
    started = time.monotonic()
    found = follower.check()
    assert time.monotonic() - started < 10
    assert found is not None and not found.changed
    assert found.error and "\n" not in found.error
    assert_inert(found.error)
    assert engine.config is before


@pytest.mark.parametrize("title", hostile_params("titles"))
def test_the_status_table_keeps_hostile_titles_and_commands_inert(title: str) -> None:
    session = waiting("app-1", "Bash", title, title=title)
    table = render_table([session], time.time())
    assert_inert(table)
    lines = table.splitlines()
    assert len(lines) == 3 and all(len(line) <= WIDTH for line in lines)
    assert lines[2].startswith("    asks: Bash: ")


@pytest.mark.parametrize("title", hostile_params("titles"))
def test_hostile_ci_commands_are_checked_without_harm(tmp_path: Path, title: str) -> None:
    command = f"echo {json.dumps(title)} && {title}"
    assert_inert(shell_problem(command))
    first_program(command)  # never raises
    found = check_program(command, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert_inert(found.problem)


def test_config_check_and_doctor_show_a_hostile_command_inertly(
    tmp_path: Path, git_repo: Path
) -> None:
    hostile = '\\e]0;owned\\a\\e[2Jecho \\u202e\\"unclosed'  # YAML escapes: ESC, BEL, RLO
    path = write_config(
        tmp_path, git_repo, extra_project_yaml=f'    ci: {{command: "{hostile}"}}\n'
    )
    result = ao(tmp_path, "--config", str(path), "config", "check")
    assert result.returncode == 5 and result.stderr.count("\n") == 1
    assert "projects.app.ci.command: sh cannot parse it" in result.stderr
    assert_inert(result.stderr)
    doctor = ao(tmp_path, "--config", str(path), "doctor")
    assert_inert(doctor.stdout)
    assert "ci (app)" in doctor.stdout
