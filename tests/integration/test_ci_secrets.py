"""CI runs end to end: the real detached runner, the real store, the real CLI.

Nothing a run prints may leave it unmasked (excerpt, database, ``ci --json``, the
cockpit's log view), no excerpt grows with the log, and nothing a run starts outlives it.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from ao_tui.screens.ci import read_log_tail
from core.ci_excerpt import MAX_BYTES
from core.ci_runner import RunSpec, launch
from core.store import CiRun, Store
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, wait_for, write_config

TOKEN = "ghp_" + "Q" * 36
NO_SHAPE = "plain-words-no-shape-7f3a"
"""A secret no pattern recognises: only the variable's secret-looking name gives it away."""

# Starts a child that leaves the process group (setsid), or a daemon that also clears its
# environment and double-forks; writes its pid; then passes, fails or outlives the timeout.
ESCAPING_CI = """\
import os, subprocess, sys, time
how, pid_file, end = sys.argv[1], sys.argv[2], sys.argv[3]
if how == "setsid":
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"],
        start_new_session=True, stdin=subprocess.DEVNULL,
    )
    open(pid_file, "w").write(str(child.pid))
elif how == "daemon":
    daemon = (
        "import os, sys, time\\n"
        "if os.fork() == 0:\\n"
        "    os.setsid()\\n"
        "    if os.fork() == 0:\\n"
        "        open(sys.argv[1], 'w').write(str(os.getpid()))\\n"
        "        time.sleep(300)\\n"
        "    os._exit(0)\\n"
        "os.wait()\\n"
    )
    subprocess.run([sys.executable, "-c", daemon, pid_file], env={}, check=True)
    while not os.path.getsize(pid_file):
        time.sleep(0.01)
print("ci done", flush=True)
if end == "sleep":
    time.sleep(120)
sys.exit(1 if end == "fail" else 0)
"""


def run_ci(tmp_path: Path, argv: list[str], *, timeout: int = 60) -> CiRun:
    """Start the detached runner as the local SCM does, wait for it, return the run."""
    store = Store(tmp_path / "state" / "state.db")
    log = tmp_path / "state" / "sessions" / "app-1" / "ci-abc.log"
    run_id = store.start_ci_run("app-1", "a" * 40, str(log))
    assert run_id is not None
    spec = RunSpec(str(store.path), run_id, argv, str(tmp_path), str(log), timeout, ["ci"])
    assert launch(spec).wait(timeout=timeout + 60) == 0
    found = store.ci_run(run_id)
    store.close()
    assert found is not None and found.state != "running"
    return found


def database_bytes(home: Path) -> bytes:
    """Everything SQLite keeps on disk: the database and its write-ahead log."""
    files = (home / "state.db", home / "state.db-wal")
    return b"".join(path.read_bytes() for path in files if path.exists())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


@pytest.mark.parametrize(
    ("how", "end", "timeout"),
    [("setsid", "pass", 60), ("setsid", "sleep", 2), ("daemon", "pass", 60)],
)
def test_nothing_a_ci_run_starts_outlives_it(
    tmp_path: Path, how: str, end: str, timeout: int
) -> None:
    script = tmp_path / "ci.py"
    script.write_text(ESCAPING_CI)
    pid_file = tmp_path / "child.pid"
    pid_file.write_text("")
    found = run_ci(
        tmp_path, [sys.executable, str(script), how, str(pid_file), end], timeout=timeout
    )
    child = int(pid_file.read_text())
    try:
        assert found.state == ("failing" if end == "sleep" else "passing")
        assert gone(child), f"pid {child} ({how}) outlived the run"
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)  # a failing test leaves nothing behind either


def test_a_run_masks_what_it_prints_and_keeps_the_log_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", NO_SHAPE)
    code = (
        "import os; print('collecting'); "
        "print('Error: push as', os.environ['DEPLOY_TOKEN'], 'with', "
        f"{TOKEN!r}, 'refused'); raise SystemExit(1)"
    )
    found = run_ci(tmp_path, [sys.executable, "-c", code])
    assert found.state == "failing"
    assert "Error: push as *** with *** refused" in found.excerpt
    log = Path(found.log_path)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert NO_SHAPE in log.read_text()  # the log on disk is the whole output...
    lines, _size = read_log_tail(log, 1 << 20)  # ...the cockpit's log view masks it
    assert "Error: push as *** with *** refused" in lines
    assert not any(NO_SHAPE in line or TOKEN in line for line in lines)
    raw = database_bytes(tmp_path / "state")
    assert NO_SHAPE.encode() not in raw and TOKEN.encode() not in raw


def test_a_50_mb_line_is_kept_in_the_log_but_not_in_the_excerpt(tmp_path: Path) -> None:
    code = (
        "import sys; sys.stdout.write('E' * 50_000_000); "
        f"print(' and then', {TOKEN!r}); raise SystemExit(1)"
    )
    found = run_ci(tmp_path, [sys.executable, "-c", code])
    assert len(found.excerpt.encode()) <= MAX_BYTES
    assert "more characters cut" in found.excerpt
    assert found.excerpt.endswith(f"the full log: {found.log_path}]")
    assert Path(found.log_path).stat().st_size > 50_000_000
    assert (tmp_path / "state" / "state.db").stat().st_size < 1_000_000


CI_PRINTS_SECRETS = f"""\
import os, sys
print("collecting tests")
print("FAIL: test_deploy with token", os.environ["DEPLOY_TOKEN"], "and {TOKEN}")
sys.stdout.write("X" * 3_000_000 + "\\n")
print("AssertionError: deploy refused")
sys.exit(1)
"""


def test_ci_json_and_the_database_hold_no_secret_and_no_more_than_the_bound(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", NO_SHAPE)
    (git_repo / "check.py").write_text(CI_PRINTS_SECRETS)
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-q", "-m", "CI script")
    agent = f"{sys.executable} -c 'import time; time.sleep(600)'"
    extra = f"    ci:\n      command: '{sys.executable} check.py'\n      timeout: 60\n"
    # CI gets the project's env:, so the secret reaches it the documented way.
    extra += "    env:\n      DEPLOY_TOKEN: ${DEPLOY_TOKEN}\n"
    config = write_config(tmp_path, git_repo, command=agent, extra_project_yaml=extra)
    engine = make_engine(config)
    session = engine.spawn("app", "deploy the thing")
    worktree = Path(session.worktree)
    (worktree / "x.txt").write_text("x\n")
    run_git(worktree, "add", "x.txt")
    run_git(worktree, "commit", "-q", "-m", "work")

    result = ao(tmp_path, "--config", str(config), "ci", session.id, "--wait", "--json")
    assert result.returncode == 10, result.stderr  # ci --wait: failing CI
    report = json.loads(result.stdout)
    assert report["state"] == "failing"
    assert NO_SHAPE not in result.stdout and TOKEN not in result.stdout
    excerpt = report["checks"][0]["excerpt"]
    assert "FAIL: test_deploy with token *** and ***" in excerpt
    assert len(excerpt.encode()) <= MAX_BYTES
    assert "more characters cut" in excerpt
    plain = ao(tmp_path, "--config", str(config), "ci", session.id)
    assert "FAIL: test_deploy with token *** and ***" in plain.stdout
    assert NO_SHAPE not in plain.stdout and TOKEN not in plain.stdout
    engine.reconcile()
    wait_for(
        lambda: (pr := engine.get(session.id).pr) is not None and pr.ci == "failing", timeout=30
    )
    engine.store.close()
    data = database_bytes(engine.locations.home)
    assert NO_SHAPE.encode() not in data and TOKEN.encode() not in data
    assert b"X" * 100_000 not in data


def test_a_github_job_log_is_masked_in_the_excerpt_and_on_disk(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The GitHub plugin against the local stand-in (tests/support/github_server.py).
    from tests.integration.test_github_scm import ManualClock, branch, make_scm, poll, target
    from tests.support.github_server import TOKEN as API_TOKEN
    from tests.support.github_server import FakeCheck, GitHubStandIn

    monkeypatch.setenv("GITHUB_TOKEN", API_TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("DEPLOY_TOKEN", NO_SHAPE)
    log = "\n".join(
        [
            "2024-05-01T10:00:00.0000000Z ##[group]Run deploy",
            f"2024-05-01T10:00:01.0000000Z Error: push with {TOKEN} as {NO_SHAPE} refused",
            "2024-05-01T10:00:02.0000000Z " + "Y" * 2_000_000,
            "2024-05-01T10:00:03.0000000Z ##[error]Process completed with exit code 1.",
        ]
    )
    clock = ManualClock()
    scm = make_scm(clock)
    store = Store(tmp_path / "state.db")
    try:
        with GitHubStandIn(clock=clock) as github:
            name = "ao/app-1-deploy"
            sha = branch(git_repo, name)
            check = FakeCheck("deploy", conclusion="FAILURE", log=log)
            github.add_pr("octo/app", name, sha, checks=[check])
            tgt = target(git_repo, github, name)
            poll(scm, clock, store, [tgt])
            (run,) = scm.checks(tgt, store, sha)
    finally:
        scm.close()
        store.close()
    assert "Error: push with *** as *** refused" in run.excerpt
    assert len(run.excerpt.encode()) <= MAX_BYTES
    assert run.excerpt.endswith(f"the full log: {run.log_path}]")
    saved = Path(run.log_path)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    text = saved.read_text(encoding="utf-8")
    assert "Y" * 2_000_000 in text  # the whole log is kept...
    assert TOKEN not in text and NO_SHAPE not in text  # ...masked
