"""Launch plans: the agent gets only what it needs, and no secret ever rests on disk.

Real CLI processes, real tmux (test socket), real git, the shell agent. A spawning CLI is
SIGKILLed (with its process group, as a crash or an OOM kill takes it) at several points;
afterwards no file under the state dir may hold a value from the operator's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from core.launcher import STALE_PIPE_AGE, make_pipe
from tests.support.engine import make_engine, wait_for, write_config

DUMP_ENV = """\
import json, os, sys, time
with open(sys.argv[1] + ".tmp", "w") as handle:
    json.dump(dict(os.environ), handle)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


def agent_command(out: Path) -> str:
    """A shell-agent command that writes its environment to ``out``, then waits."""
    script = out.with_name("dump_env.py")
    script.write_text(DUMP_ENV)
    return f"{sys.executable} {script} {out}"


def files_holding(home: Path, *values: str) -> list[Path]:
    """Regular files under ``home`` that contain any of ``values`` (FIFOs hold no data)."""
    found = []
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(value.encode() in data for value in values):
                found.append(path)
    return found


def test_the_agent_gets_only_what_it_needs(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-cloud-secret-value")
    monkeypatch.setenv("OPERATOR_DEPLOY_TOKEN", "token-the-project-hands-on")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")  # as inside the operator's tmux
    out = tmp_path / "env.json"
    config = write_config(
        tmp_path,
        git_repo,
        command=agent_command(out),
        extra_project_yaml="    env:\n      DEPLOY_TOKEN: ${OPERATOR_DEPLOY_TOKEN}\n",
    )
    session = make_engine(config).spawn("app", "show me your environment")
    env = wait_for(lambda: out.exists() and json.loads(out.read_text()))
    assert env["DEPLOY_TOKEN"] == "token-the-project-hands-on"  # the project's env: given
    assert "OPERATOR_DEPLOY_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PATH"] == os.environ["PATH"] and env["HOME"] == os.environ["HOME"]
    assert env["LANG"] == "C.UTF-8" and env["HTTPS_PROXY"] == "http://proxy.internal:3128"
    assert env["AO_TUI_SESSION"] == session.id
    assert env["AO_TUI_HOME"] == os.environ["AO_TUI_HOME"]  # `ao-tui` works inside
    assert "TMUX" not in env


def test_the_plan_is_gone_once_the_agent_runs_and_never_was_a_file(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_DEPLOY_TOKEN", "token-the-project-hands-on")
    out = tmp_path / "env.json"
    config = write_config(
        tmp_path,
        git_repo,
        command=agent_command(out),
        extra_project_yaml="    env:\n      DEPLOY_TOKEN: ${OPERATOR_DEPLOY_TOKEN}\n",
    )
    engine = make_engine(config)
    session = engine.spawn("app", "start")
    wait_for(out.exists)
    state = engine.locations.session_dir(session.id)
    assert [p.name for p in state.iterdir() if p.name.startswith("launch-")] == []
    assert files_holding(engine.locations.home, "token-the-project-hands-on") == []


def test_the_pipe_is_private(tmp_path: Path) -> None:
    pipe = make_pipe(tmp_path / "sessions" / "app-1")
    info = pipe.stat()
    assert stat.S_ISFIFO(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    assert stat.S_IMODE(pipe.parent.stat().st_mode) == 0o700


TMUX_SHIM = """\
#!{python}
import os, pathlib, subprocess, sys, time
marks = pathlib.Path({marks!r})
if "new-session" in sys.argv:
    (marks / "pane-asked").touch()
    time.sleep({before})
    code = subprocess.run([{tmux!r}, *sys.argv[1:]]).returncode
    (marks / "pane-made").touch()
    time.sleep({after})
    sys.exit(code)
os.execv({tmux!r}, [{tmux!r}, *sys.argv[1:]])
"""


@pytest.mark.parametrize(
    ("point", "before", "after"),
    [
        ("pane-asked", 5.0, 0.0),  # the plan is made, no pane runs yet
        ("pane-made", 0.0, 5.0),  # the pane's launcher waits, nothing handed over yet
        ("agent-started", 0.0, 0.0),  # the agent runs: the hand-over is done
        ("0.2s", 0.0, 0.0),
        ("0.5s", 0.0, 0.0),
        ("0.9s", 0.0, 0.0),
    ],
)
def test_a_killed_spawn_leaves_no_secret_in_the_state_dir(
    tmp_path: Path,
    git_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    before: float,
    after: float,
) -> None:
    secret = f"kill-point-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPERATOR_DEPLOY_TOKEN", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"{secret}-aws")
    home = Path(os.environ["AO_TUI_HOME"])
    marks = tmp_path / "marks"
    marks.mkdir()
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    tmux = shutil.which("tmux")
    assert tmux is not None
    shim = shim_dir / "tmux"
    shim.write_text(
        TMUX_SHIM.format(
            python=sys.executable, marks=str(marks), tmux=tmux, before=before, after=after
        )
    )
    shim.chmod(0o755)
    out = marks / "agent-started"
    config = write_config(
        tmp_path,
        git_repo,
        command=agent_command(out),
        extra_project_yaml="    env:\n      DEPLOY_TOKEN: ${OPERATOR_DEPLOY_TOKEN}\n",
    )
    env = {
        **os.environ,
        "PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}",
    }
    cli = subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "--config", str(config), "spawn", "-p", "the task"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if point.endswith("s") and point[0].isdigit():
            time.sleep(float(point[:-1]))
        else:
            wait_for(lambda: (marks / point).exists(), timeout=30, interval=0.005)
    finally:
        os.killpg(cli.pid, signal.SIGKILL)  # the CLI and whatever it was running
        cli.wait()
    time.sleep(0.3)  # anything still running (a launcher) has its moment
    assert files_holding(home, secret) == []
    if point == "agent-started":
        assert json.loads(out.read_text())["DEPLOY_TOKEN"] == secret  # it was handed over
    # What was left is an empty pipe at most; the next engine start sweeps it once stale.
    leftovers = list(home.glob("sessions/*/launch-*"))
    assert all(stat.S_ISFIFO(p.stat().st_mode) for p in leftovers)
    for path in leftovers:
        old = time.time() - STALE_PIPE_AGE - 1
        os.utime(path, (old, old))
    make_engine(config)
    assert list(home.glob("sessions/*/launch-*")) == []


def test_plan_files_of_older_versions_are_swept_and_a_fresh_pipe_kept(
    tmp_path: Path, git_repo: Path
) -> None:
    home = Path(os.environ["AO_TUI_HOME"])
    session_dir = home / "sessions" / "app-9"
    session_dir.mkdir(parents=True)
    old_plan = session_dir / "launch-0123.json"
    old_plan.write_text(json.dumps({"argv": ["x"], "env": {"GITHUB_TOKEN": "ghp_old"}}))
    stale = make_pipe(session_dir)
    past = time.time() - STALE_PIPE_AGE - 5
    os.utime(stale, (past, past))
    fresh = make_pipe(session_dir)  # a spawn in progress in another process
    (session_dir / "hooks.jsonl").write_text("{}\n")
    make_engine(write_config(tmp_path, git_repo, command="true now"))
    assert sorted(p.name for p in session_dir.iterdir()) == sorted([fresh.name, "hooks.jsonl"])
