"""The CLI as scripts use it: `ci --wait` exit codes, `events ID`, the plain status table.

The real CLI in its own process against real git, real CI runs and a real store
(issue 9 items 15, 16, 17).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ao_tui.cli import EXIT_CI_FAILING, EXIT_CI_RUNNING
from ao_tui.status_table import WIDTH, render_table
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    Session,
    SessionPR,
    SignalSource,
    WaitingFor,
)
from core.store import Store
from tests.conftest import run_git
from tests.integration.test_scm_local import AGENT, CHECK_SCRIPT, commit, settle
from tests.support.engine import ao, make_engine, write_config
from tests.unit.test_store import make_session

HOSTILE = "rm -rf build \x1b]0;owned\x07\x1b[2J\u202e and more"


@pytest.fixture
def ci_project(tmp_path: Path, git_repo: Path) -> Path:
    """A config whose CI runs check.py (mode.txt in the worktree: pass, fail or sleep)."""
    (git_repo / "check.py").write_text(CHECK_SCRIPT)
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-q", "-m", "add the CI script")
    extra = f"    ci:\n      command: '{sys.executable} check.py'\n      timeout: 60\n"
    return write_config(tmp_path, git_repo, command=AGENT, extra_project_yaml=extra)


def test_ci_wait_exit_codes_say_the_outcome(tmp_path: Path, ci_project: Path) -> None:
    engine = make_engine(ci_project)
    session = engine.spawn("app", "make CI fail then pass")
    commit(session, "mode.txt", "fail\n")
    failing = ao(tmp_path, "--config", str(ci_project), "ci", session.id, "--wait")
    assert failing.returncode == EXIT_CI_FAILING == 10, failing.stderr
    assert "CI failing" in failing.stdout and "FAIL: test_login" in failing.stdout
    as_json = ao(tmp_path, "--config", str(ci_project), "ci", session.id, "--wait", "--json")
    assert as_json.returncode == 10 and json.loads(as_json.stdout)["state"] == "failing"
    # Without --wait it is a report: exit 0 whatever the state.
    assert ao(tmp_path, "--config", str(ci_project), "ci", session.id).returncode == 0

    commit(session, "mode.txt", "pass\n", "fix the tests")
    passing = ao(tmp_path, "--config", str(ci_project), "ci", session.id, "--wait", "--json")
    assert passing.returncode == 0, passing.stderr
    assert json.loads(passing.stdout)["state"] == "passing"

    commit(session, "mode.txt", "sleep\n", "slow tests")
    started = time.monotonic()
    running = ao(
        tmp_path, "--config", str(ci_project), "ci", session.id, "--wait", "--timeout", "1"
    )
    assert running.returncode == EXIT_CI_RUNNING == 11, running.stderr
    assert time.monotonic() - started < 30
    assert "CI running" in running.stdout
    assert running.stderr.strip() == f"ao-tui: CI of {session.id} still running after 1s"
    usage = ao(tmp_path, "--config", str(ci_project), "ci", session.id, "--timeout", "1")
    assert usage.returncode == 2 and "--timeout only goes with --wait" in usage.stderr
    engine.kill(session.id, discard=True)  # ends the agent; the sleeping run times out alone


def test_ci_help_documents_the_exit_codes(tmp_path: Path) -> None:
    text = " ".join(ao(tmp_path, "ci", "--help").stdout.split())
    assert "0 passing or no CI, 10 failing, 11 still running after --timeout" in text


def test_plain_ci_notes_a_command_changed_since_the_run(tmp_path: Path, ci_project: Path) -> None:
    engine = make_engine(ci_project)
    session = engine.spawn("app", "change the CI command")
    commit(session, "x.txt", "x\n")
    settle(engine, session.id)
    ran = f"{sys.executable} check.py"
    ci_project.write_text(ci_project.read_text().replace("check.py'", "check.py -v'"))
    shown = ao(tmp_path, "--config", str(ci_project), "ci", session.id)
    assert f"  passing  {ran} (" in shown.stdout  # labelled with what ran
    assert shown.stderr.strip() == (
        f"note: ci.command is now '{ran} -v'; `ao-tui ci {session.id} --run` runs it"
    )


def test_events_takes_the_session_id_positionally(tmp_path: Path, git_repo: Path) -> None:
    config = write_config(tmp_path, git_repo, command=AGENT)
    engine = make_engine(config)
    first = engine.spawn("app", "one")
    second = engine.spawn("app", "two")
    positional = ao(tmp_path, "--config", str(config), "events", first.id, "--json")
    assert positional.returncode == 0, positional.stderr
    ids = {json.loads(line)["session"] for line in positional.stdout.splitlines()}
    assert ids == {first.id}
    option = ao(tmp_path, "--config", str(config), "events", "--session", first.id, "--json")
    assert option.stdout == positional.stdout  # --session is kept as an alias
    plain = ao(tmp_path, "--config", str(config), "events", second.id)
    assert plain.returncode == 0 and second.id in plain.stdout and first.id not in plain.stdout
    both = ao(tmp_path, "--config", str(config), "events", first.id, "--session", second.id)
    assert both.returncode == 2 and "give one" in both.stderr
    same = ao(tmp_path, "--config", str(config), "events", first.id, "--session", first.id)
    assert same.returncode == 0
    missing = ao(tmp_path, "--config", str(config), "events", "app-99")
    assert missing.returncode == 3
    assert missing.stderr.strip() == ("ao-tui: no session 'app-99'; list them with `ao-tui status`")


def waiting(session_id: str, tool: str, command: str, **kw: object) -> Session:
    activity = Activity(
        ActivityState.WAITING_INPUT,
        SignalSource.HOOK,
        time.time() - 130,
        f"{tool}: {command}",
        WaitingFor("permission", tool, command),
    )
    return make_session(session_id, activity=activity, **kw)


def recent(session_id: str, **kw: object) -> Session:
    activity = Activity(ActivityState.IDLE, SignalSource.HOOK, time.time() - 30, "")
    return make_session(session_id, activity=activity, **kw)


PR_FAILING = SessionPR("ci_failed", ci="failing", review="pending")
PR_APPROVED = SessionPR("mergeable", ci="passing", review="approved")


def test_plain_status_shows_what_a_waiting_session_asks_and_its_pr() -> None:
    now = time.time()
    sessions = [
        waiting("app-1", "Bash", "rm -rf build", title="clean the build folder"),
        recent("app-2", title="speed up the cart " * 6, pr=PR_FAILING),
        recent("app-3", title="add a price helper", pr=PR_APPROVED, lifecycle=Lifecycle.EXITED),
        recent("app-4", title="no PR yet"),
        recent("app-5", title="ready", pr=PR_APPROVED),
    ]
    lines = render_table(sessions, now).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["ID", "ZONE", "ACTIVITY", "FOR", "PR", "CI", "TITLE"]
    assert lines[1].startswith("app-1  Needs you  waiting")
    assert lines[1].endswith("2m   -         -        clean the build folder")
    assert lines[2] == "    asks: Bash: rm -rf build"
    assert " open      failing  speed up the cart" in lines[3]
    assert lines[3].endswith("…")  # the title is what gets cut
    assert " approved  passing  add a price helper" in lines[4]
    assert lines[6].startswith("app-5  Ready      idle")  # the cockpit's short zone words
    assert all(len(line) <= WIDTH for line in lines), lines


def test_a_long_question_is_cut_to_80_and_hostile_text_stays_inert() -> None:
    session = waiting("app-1", "Bash", HOSTILE + " x" * 60, title="title \x1b[31mred")
    lines = render_table([session], time.time()).splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[2].startswith("    asks: Bash: rm -rf build ^[]0;owned^G^[[2J<U+202E> and more")
    assert lines[2].endswith("…")
    text = "\n".join(lines)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text


def test_status_and_ls_print_the_new_table(tmp_path: Path) -> None:
    store = Store(tmp_path / "home" / "state.db")
    store.insert_session(
        waiting("app-1", "Bash", "rm -rf build", pr=PR_FAILING), event=("spawned", {})
    )
    store.close()
    env = {**os.environ, "AO_TUI_HOME": str(tmp_path / "home")}
    shown = subprocess.run(
        [sys.executable, "-m", "ao_tui", "ls"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[2] == "    asks: Bash: rm -rf build"
    assert " open  failing  t" in shown.stdout.splitlines()[1]
