"""The demo agent as the orchestrator, against the real CLI: it reads ``status`` and
``issues`` and spawns one worker per open issue through ``ao-tui spawn --issue``, and the
event log says those spawns were its own.

Real git, real tmux (the test socket), the local tracker's task file, the recorder shell
agent for the workers; the orchestrator is the real demo program, and the ``ao-tui`` on its
PATH is the real console script (``ao_tui.cli.run``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.models import Role
from tests.conftest import run_git
from tests.support.demo_program_run import DemoProgram
from tests.support.engine import make_engine, recorder_command, write_config

TASKS = """\
# Tasks

## 1. Add a usage section to the README
Show how to fill a cart.

## 2. Clamp discounts
apply_discount() goes negative above 100 %.

## [x] 3. Ship 0.1
"""


def _real_ao_tui(directory: Path) -> Path:
    """A bin directory whose ``ao-tui`` is ao-tui's own console script."""
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ao-tui"
    script.write_text(f"#!{sys.executable}\nfrom ao_tui.cli import run\n\nrun()\n")
    script.chmod(0o755)
    return bin_dir


@pytest.mark.tmux
def test_the_demo_orchestrator_spawns_a_worker_per_open_issue_with_the_real_cli(
    tmp_path: Path, git_repo: Path
) -> None:
    (git_repo / "TASKS.md").write_text(TASKS, encoding="utf-8")
    run_git(git_repo, "add", "TASKS.md")
    run_git(git_repo, "commit", "-qm", "tasks")
    config = write_config(
        tmp_path,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra_project_yaml="    tracker: local\n",
    )
    bin_dir = _real_ao_tui(tmp_path)
    home = tmp_path / "orchestrator"
    home.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "AO_TUI_CONFIG": str(config),
        "AO_TUI_SESSION": "app-orchestrator",
        "AO_TUI_ACTOR": "app-orchestrator",
    }
    program = DemoProgram(
        home, "orchestrate", "Run the backlog.", env=env, config_dir=tmp_path / "claude"
    )
    try:
        program.wait_turns(1, timeout=180)
        assert program.bash_commands() == [
            "ao-tui status --json",
            "ao-tui issues --json",
            "ao-tui spawn --issue 1 --json",
            "ao-tui spawn --issue 2 --json",
        ]
        words = program.last_words()
        assert "Started app-1 on #1, app-2 on #2." in words, words
    finally:
        assert program.stop() == 0
    engine = make_engine(config)
    workers = sorted(engine.list(), key=lambda s: s.id)
    assert [(s.id, s.issue, s.role) for s in workers] == [
        ("app-1", "1", Role.WORKER),
        ("app-2", "2", Role.WORKER),
    ]
    spawned = [e for e in engine.store.events_after(0) if e.kind == "spawned"]
    assert [e.data.get("by") for e in spawned] == ["app-orchestrator", "app-orchestrator"]
    for session in workers:
        engine.kill(session.id)
