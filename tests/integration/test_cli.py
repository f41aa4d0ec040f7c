"""The headless CLI as scripts use it: real processes, JSON on stdout, exit codes, stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_git
from tests.support.engine import ao, recorder_command, wait_for, write_config


@pytest.fixture
def project(tmp_path: Path, git_repo: Path) -> Path:
    """A repo with an ao.config.yaml for the recorder shell agent; the cwd for ao-tui."""
    write_config(git_repo, git_repo, command=recorder_command(tmp_path / "rec.bin"))
    (git_repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    return git_repo


def test_spawn_status_send_kill_restore_round_trip(project: Path, tmp_path: Path) -> None:
    spawned = ao(project, "spawn", "--prompt", "fix the flaky login test", "--json")
    assert spawned.returncode == 0, spawned.stderr
    session: dict[str, Any] = json.loads(spawned.stdout)
    required = {
        "id",
        "project",
        "agent",
        "title",
        "branch",
        "worktree",
        "tmux",
        "lifecycle",
        "zone",
        "activity",
        "pr",
    }
    assert required <= set(session)
    assert set(session["activity"]) >= {"state", "source", "since", "detail"}
    assert session["id"] == "app-1"

    status = ao(project, "status", "--json")
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert row["id"] == "app-1"
    assert row["zone"] in {"Needs you", "Ready to merge", "Fixing", "In review", "Working", "Done"}

    wait_for(lambda: (tmp_path / "rec.bin").exists())
    sent = ao(project, "send", "app-1", "also update the changelog;", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["result"] == "sent"
    got = wait_for(lambda: (tmp_path / "rec.bin").read_bytes() or None)
    assert got.startswith(b"also update the changelog;")

    (Path(session["worktree"]) / "notes.txt").write_text("wip\n")
    killed = ao(project, "kill", "app-1", "--json")
    assert killed.returncode == 0, killed.stderr
    assert json.loads(killed.stdout)["wip_commit"]
    assert "notes.txt" in run_git(project, "show", "--name-only", "--format=", session["branch"])

    restored = ao(project, "restore", "app-1", "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["attempt"] == 2


def test_errors_are_one_line_on_stderr_with_stable_exit_codes(project: Path) -> None:
    missing = ao(project, "kill", "app-99")
    assert missing.returncode == 3
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "no session 'app-99'" in missing.stderr

    hostile = ao(project, "send", "../x", "hi")
    assert hostile.returncode == 3

    assert ao(project, "spawn", "--prompt", "same task").returncode == 0
    dup = ao(project, "spawn", "--prompt", "same task")
    assert dup.returncode == 4
    assert "--force" in dup.stderr

    nothing = ao(project, "respond", "app-1", "yes")
    assert nothing.returncode == 1
    assert "not waiting on a prompt" in nothing.stderr


def test_config_error_names_file_line_and_field(tmp_path: Path, git_repo: Path) -> None:
    cfg = tmp_path / "ao.config.yaml"
    cfg.write_text(f"projects:\n  app:\n    path: {git_repo}\n    agent: claud\n")
    proc = ao(tmp_path, "status", "--json")
    assert proc.returncode == 5
    assert "ao.config.yaml:4:12" in proc.stderr
    assert "projects.app.agent" in proc.stderr
    assert "claude-code" in proc.stderr


def test_no_config_says_to_run_init(tmp_path: Path) -> None:
    proc = ao(tmp_path, "status")
    assert proc.returncode == 5
    assert "ao-tui init" in proc.stderr


def test_init_writes_a_config_that_loads(git_repo: Path) -> None:
    proc = ao(git_repo, "init")
    assert proc.returncode == 0, proc.stderr
    assert (git_repo / "ao.config.yaml").exists()
    again = ao(git_repo, "init")
    assert again.returncode == 2
    check = ao(git_repo, "config", "check")
    assert check.returncode == 0, check.stderr


def test_events_follow_streams_state_changes_as_ndjson(project: Path) -> None:
    assert ao(project, "spawn", "--prompt", "watch me").returncode == 0
    follower = subprocess.Popen(
        [sys.executable, "-m", "ao_tui", "events", "--follow", "--json"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # let it take the lease and start its loop
        subprocess.run(["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "kill-server"], check=False)
        assert follower.stdout is not None
        line = follower.stdout.readline()
        event = json.loads(line)
        assert event["session"] == "app-1"
        assert event["kind"] == "lifecycle"
        assert event["data"]["lifecycle"] == "exited"
        assert event["data"]["zone"] == "Needs you"
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def test_doctor_reports_each_check(project: Path) -> None:
    proc = ao(project, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(proc.stdout)}
    assert checks["tmux"]["status"] == "ok"
    assert checks["git"]["status"] == "ok"
    assert checks["config"]["status"] == "ok"
    assert checks["state"]["status"] == "ok"


def test_doctor_names_the_fix_for_a_missing_agent(tmp_path: Path, git_repo: Path) -> None:
    write_config(git_repo, git_repo, agent="claude-code", command="no-such-claude")
    proc = ao(git_repo, "doctor", "--json")
    assert proc.returncode == 1
    agent = next(c for c in json.loads(proc.stdout) if c["name"].startswith("agent"))
    assert agent["status"] == "fail"
    assert "agentConfig.command" in agent["fix"]


def test_doctor_checks_github_without_showing_the_token(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_git(git_repo, "remote", "add", "origin", "git@github.com:octo-org/widgets.git")
    write_config(git_repo, git_repo)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    proc = ao(git_repo, "doctor", "--json")
    github = next(c for c in json.loads(proc.stdout) if c["name"] == "github (app)")
    assert proc.returncode == 1 and github["status"] == "fail"
    assert github["detail"] == "octo-org/widgets: no token (GH_TOKEN, GITHUB_TOKEN or gh)"
    assert "gh auth login" in github["fix"] and "scm: local" in github["fix"]
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "S" * 36)
    proc = ao(git_repo, "doctor", "--json")
    github = next(c for c in json.loads(proc.stdout) if c["name"] == "github (app)")
    assert github["status"] == "ok"
    assert github["detail"] == (
        "octo-org/widgets at https://api.github.com, token from GITHUB_TOKEN"
    )
    assert "ghp_" not in proc.stdout + proc.stderr


def test_concurrent_cli_processes_neither_collide_nor_lose_sessions(project: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ao_tui", "spawn", "--prompt", f"parallel task {i}", "--json"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    statuses = [ao(project, "status", "--json") for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    ids = sorted(json.loads(out)["id"] for out, _ in outs)
    assert ids == ["app-1", "app-2", "app-3", "app-4"]
    assert all(s.returncode == 0 for s in statuses), [s.stderr for s in statuses]
    final = json.loads(ao(project, "status", "--json").stdout)
    assert sorted(s["id"] for s in final) == ids


def test_cockpit_refuses_an_unknown_key_binding_from_the_config(project: Path) -> None:
    config = project / "ao.config.yaml"
    config.write_text(config.read_text() + "cockpit:\n  keys: {session.explode: X}\n")
    proc = ao(project)  # no verb: the cockpit; it must fail before taking the terminal
    assert proc.returncode == 5
    assert "cockpit.keys" in proc.stderr and "session.explode" in proc.stderr
    assert "session.kill" in proc.stderr  # the known ids are listed
