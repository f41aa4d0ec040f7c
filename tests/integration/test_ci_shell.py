"""`ci.command` is a shell line run with `sh -c` in the worktree, with the project's env:.

Real git, the real detached runner, the real CLI in separate processes with their own
environments (issue 9 items 12 and 13).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.engine import Engine
from tests.conftest import run_git
from tests.integration.test_ci_secrets import ESCAPING_CI, gone, run_ci
from tests.integration.test_scm_local import AGENT, commit, settle
from tests.support.engine import make_engine, write_config

PRINTS_ITS_ENV = """\
import os
for name in ("CI_FLAVOUR", "TERMINAL_ONLY", "PROJECT_ONLY"):
    print(f"{name}={os.environ.get(name)}")
print("PATH is set" if os.environ.get("PATH") else "PATH is missing")
"""


def engine_with_ci(tmp_path: Path, repo: Path, command: str, env: str = "") -> Engine:
    """An engine whose project runs ``command`` as CI; ``env`` holds the env: lines."""
    extra = f"    ci:\n      command: {json.dumps(command)}\n      timeout: 60\n"
    if env:
        extra += f"    env:\n{env}"
    return make_engine(write_config(tmp_path, repo, command=AGENT, extra_project_yaml=extra))


def cli(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own, with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(config), *args],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ci_command_is_a_shell_line_run_in_the_worktree(tmp_path: Path, git_repo: Path) -> None:
    (git_repo / "lib").mkdir()
    (git_repo / "lib" / "helper.py").write_text("ANSWER = 42\n")
    (git_repo / "check.py").write_text("import helper\nprint('helper says', helper.ANSWER)\n")
    run_git(git_repo, "add", "-A")
    run_git(git_repo, "commit", "-q", "-m", "a suite that needs PYTHONPATH")
    # What users write in a CI system's `run:` step: an assignment in front, `&&`, a pipe,
    # a command substitution, and a comment with an apostrophe shlex would choke on.
    command = (
        f'PYTHONPATH=lib {shlex.quote(sys.executable)} check.py && echo "ran in $(pwd)" '
        "| tr a-z A-Z  # don't cache"
    )
    engine = engine_with_ci(tmp_path, git_repo, command)
    session = engine.spawn("app", "use the helper")
    head = commit(session, "x.txt", "x\n")
    done = settle(engine, session.id)
    report = engine.ci(session.id)
    assert done.pr is not None and done.pr.ci == "passing", report
    log = Path(engine.store.ci_runs(session.id)[-1].log_path).read_text()
    assert "helper says 42" in log
    assert f"RAN IN {session.worktree.upper()}" in log  # run in the session worktree
    assert f"# command: {command}" in log and "# run with: sh -c" in log
    assert [run.head_sha for run in engine.store.ci_runs(session.id)] == [head]


def test_a_failing_shell_line_fails_with_its_exit_status(tmp_path: Path, git_repo: Path) -> None:
    engine = engine_with_ci(tmp_path, git_repo, "echo 'Error: lint found 3 problems' >&2; exit 3")
    session = engine.spawn("app", "lint")
    commit(session, "x.txt", "x\n")
    settle(engine, session.id)
    (check,) = engine.ci(session.id).to_json()["checks"]
    assert check["state"] == "failing"
    assert check["excerpt"].startswith("exit status 3")
    assert "Error: lint found 3 problems" in check["excerpt"]


def test_ci_sees_the_project_env_whichever_process_starts_it(
    tmp_path: Path, git_repo: Path
) -> None:
    (git_repo / "check.py").write_text(PRINTS_ITS_ENV)
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-q", "-m", "a CI that prints its environment")
    env_lines = "      CI_FLAVOUR: from-the-project\n      PROJECT_ONLY: yes-from-env\n"
    engine = engine_with_ci(
        tmp_path, git_repo, f"{shlex.quote(sys.executable)} check.py", env=env_lines
    )
    config = tmp_path / "ao.config.yaml"
    session = engine.spawn("app", "two terminals")
    # Two terminals, each with its own exports, each the first to see one new head.
    terminal_a = {**os.environ, "CI_FLAVOUR": "terminal-a", "TERMINAL_ONLY": "exported-in-a"}
    terminal_b = {**os.environ, "CI_FLAVOUR": "terminal-b"}
    terminal_b.pop("TERMINAL_ONLY", None)
    logs = []
    for name, terminal in (("a.txt", terminal_a), ("b.txt", terminal_b)):
        head = commit(session, name, "x\n")
        result = cli(config, "ci", session.id, "--wait", "--json", env=terminal)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["head_sha"] == head
        run = [r for r in engine.store.ci_runs(session.id) if r.head_sha == head][-1]
        logs.append(Path(run.log_path).read_text())
    for log in logs:
        assert "CI_FLAVOUR=from-the-project" in log
        assert "PROJECT_ONLY=yes-from-env" in log
        assert "TERMINAL_ONLY=None" in log  # an export of one terminal does not leak in
        assert "PATH is set" in log  # the operator's PATH still reaches it


def test_the_environment_never_rests_on_disk(tmp_path: Path, git_repo: Path) -> None:
    secret = "plain-words-no-shape-env-4c1d"
    (git_repo / "check.py").write_text("import time; time.sleep(3)\n")
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-q", "-m", "a slow CI")
    engine = engine_with_ci(
        tmp_path, git_repo, f"{shlex.quote(sys.executable)} check.py", env=f"      X: {secret}\n"
    )
    session = engine.spawn("app", "slow CI")
    commit(session, "x.txt", "x\n")
    engine.reconcile()
    state_dir = engine.locations.session_dir(session.id)
    specs = list(state_dir.glob("ci-*.json"))
    assert specs, "the run's spec file is there while it runs"
    assert all(secret not in spec.read_text() for spec in specs)
    settle(engine, session.id)


@pytest.mark.parametrize(
    ("how", "end", "timeout"), [("setsid", "pass", 60), ("daemon", "sleep", 2)]
)
def test_nothing_a_shell_line_starts_outlives_its_run(
    tmp_path: Path, how: str, end: str, timeout: int
) -> None:
    script = tmp_path / "ci.py"
    script.write_text(ESCAPING_CI)
    pid_file = tmp_path / "child.pid"
    pid_file.write_text("")
    line = shlex.join([sys.executable, str(script), how, str(pid_file), end]) + " && echo after"
    found = run_ci(tmp_path, ["sh", "-c", line], timeout=timeout)
    child = int(pid_file.read_text())
    try:
        assert found.state == ("failing" if end == "sleep" else "passing")
        assert gone(child), f"pid {child} ({how}) outlived the run"
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)


def test_config_check_asks_the_shell(tmp_path: Path, git_repo: Path) -> None:
    config = write_config(
        tmp_path,
        git_repo,
        extra_project_yaml='    ci:\n      command: "PYTHONPATH=src pytest -q  # don\'t cache"\n',
    )
    ok = cli(config, "config", "check", env=dict(os.environ))
    assert (ok.returncode, ok.stdout.strip()) == (0, "ok: 1 project(s)"), ok.stderr
    config.write_text(
        config.read_text().replace("# don't cache", "&& echo 'unclosed"), encoding="utf-8"
    )
    bad = cli(config, "config", "check", env=dict(os.environ))
    assert bad.returncode == 5
    (line,) = bad.stderr.splitlines()
    assert line.startswith(f"ao-tui: {config}:8:16: projects.app.ci.command: sh cannot parse it")
    assert "Unterminated quoted string" in line or "unexpected EOF" in line
    assert "run as `sh -c COMMAND` in the session worktree" in line


def test_every_check_is_labelled_with_the_command_that_ran(tmp_path: Path, git_repo: Path) -> None:
    # This process read the config before it changed (a running cockpit), the CLI after.
    # Each labels every run with what that run ran, not with its own config's command.
    python = shlex.quote(sys.executable)
    old_command, new_command = f"{python} -c 'print(1)'", f"{python} -c 'print(2)'"
    before = engine_with_ci(tmp_path, git_repo, old_command)
    config = tmp_path / "ao.config.yaml"
    session = before.spawn("app", "config changes under a running cockpit")
    commit(session, "x.txt", "x\n")
    settle(before, session.id)
    config.write_text(config.read_text().replace(old_command, new_command), encoding="utf-8")
    result = cli(config, "ci", session.id, "--run", "--wait", "--json", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    here = before.ci(session.id).to_json()  # the same shape as the CLI's --json
    assert here["checks"][0]["name"] == new_command  # the latest run ran the new command
    runs = before.store.ci_runs(session.id)
    assert [run.command for run in runs] == [old_command, new_command]
    from_cli = json.loads(result.stdout)
    assert [check["command"] for check in from_cli["checks"]] == [new_command]
    assert from_cli["ci_command"] == new_command
    assert [check["command"] for check in here["checks"]] == [new_command]
    assert here["ci_command"] == old_command  # what a rerun from here would run
    log = Path(runs[-1].log_path).read_text()
    assert log.splitlines()[-1] == "2" and f"# command: {new_command}" in log


def test_a_runner_without_its_environment_records_a_failure_and_runs_nothing(
    tmp_path: Path,
) -> None:
    from core.store import Store

    store = Store(tmp_path / "state.db")
    log = tmp_path / "sessions" / "app-1" / "ci-abc.log"
    log.parent.mkdir(parents=True)
    for garbage in (b"not json", b"[1, 2]", b""):
        run_id = store.start_ci_run("app-1", "a" * 40, str(log), rerun=True, command="x")
        assert run_id is not None
        spec = {
            "database": str(store.path),
            "run_id": run_id,
            "argv": ["sh", "-c", "touch ran"],
            "cwd": str(tmp_path),
            "log_path": str(log),
            "timeout": 60,
            "header": ["ci"],
            "env_on_stdin": True,
        }
        log.with_suffix(".json").write_text(json.dumps(spec))
        proc = subprocess.run(
            [sys.executable, "-m", "core.ci_runner", str(log.with_suffix(".json"))],
            input=garbage,
            capture_output=True,
            timeout=60,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert proc.returncode == 0, proc.stderr
        run = store.ci_run(run_id)
        assert run is not None and run.state == "failing"
        assert run.excerpt.startswith("the CI runner got no environment"), run.excerpt
        assert not (tmp_path / "ran").exists()  # never run with an environment it guessed
    store.close()


def test_a_run_ending_after_its_state_was_removed_makes_no_database(tmp_path: Path) -> None:
    # A demo sandbox quit (or a home deleted) while a CI run went on: the run ends, and
    # must not re-create an empty state database where the sandbox was.
    home = tmp_path / "home"
    log = home / "sessions" / "app-1" / "ci-abc.log"
    log.parent.mkdir(parents=True)
    spec = {
        "database": str(home / "state.db"),
        "run_id": 1,
        "argv": ["sh", "-c", "touch ran"],
        "cwd": str(tmp_path),
        "log_path": str(log),
        "timeout": 60,
        "header": ["ci"],
    }
    log.with_suffix(".json").write_text(json.dumps(spec))
    proc = subprocess.run(
        [sys.executable, "-m", "core.ci_runner", str(log.with_suffix(".json"))],
        capture_output=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ran").exists()
    assert not (home / "state.db").exists()
    assert not log.with_suffix(".json").exists()
