"""A long-running process follows its config file: new actions use the file of now.

Real files, real inotify, the real daemon in its own process starting real CI runs
(issue 9 item 14; the cockpit's side is tests/tui/test_config_reload.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.config_reload import ConfigFollower, Reload, describe_changes, one_line
from core.errors import ConfigError, ConfigProblem
from tests.integration.test_scm_local import AGENT, commit
from tests.support.engine import make_engine, wait_for, write_config

PY = shlex.quote(sys.executable)
OLD = f"{PY} -c 'print(1)'"
NEW = f"{PY} -c 'print(2)'"


def ci_config(tmp_path: Path, repo: Path, command: str) -> Path:
    extra = f"    ci:\n      command: {json.dumps(command)}\n      timeout: 60\n"
    return write_config(tmp_path, repo, command=AGENT, extra_project_yaml=extra)


def replace_in(path: Path, old: str, new: str) -> None:
    """Save as an editor does: a new file renamed over the old one."""
    text = path.read_text().replace(old, new)
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def test_check_takes_a_changed_file_and_keeps_the_old_config_when_it_breaks(
    tmp_path: Path, git_repo: Path
) -> None:
    config = ci_config(tmp_path, git_repo, OLD)
    engine = make_engine(config)
    follower = ConfigFollower(engine, config)
    assert follower.check() == Reload(False)  # the first look: the same settings
    assert follower.check() is None  # nothing changed since

    replace_in(config, OLD, NEW)
    found = follower.check()
    assert found is not None and found.changed and found.summary == "app: ci"
    project = engine.config.projects["app"]
    assert project.ci is not None and project.ci.command == NEW
    assert engine.scm_target(engine.spawn("app", "x")).ci is not None

    config.write_text(config.read_text() + "    agent: claud\n", encoding="utf-8")
    broken = follower.check()
    assert broken is not None and not broken.changed
    assert broken.error.startswith("ao.config.yaml:")
    assert "projects.app" in broken.error and "\n" not in broken.error
    after_error = engine.config.projects["app"].ci
    assert after_error is not None and after_error.command == NEW  # the old one stays

    replace_in(config, "    agent: claud\n", "    env: {A: b}\n")
    fixed = follower.check()
    assert fixed is not None and fixed.changed and fixed.error == ""
    assert fixed.summary == "app: env" and engine.config.projects["app"].env == {"A": "b"}


def test_what_changed_is_said_per_project_and_section(tmp_path: Path, git_repo: Path) -> None:
    old = make_engine(ci_config(tmp_path, git_repo, OLD)).config
    text = (tmp_path / "ao.config.yaml").read_text()
    other = tmp_path / "other"
    other.mkdir()
    (other / "ao.config.yaml").write_text(
        text.replace(OLD, NEW).replace("  app:", "  web:\n    path: " + str(git_repo) + "\n  app:")
        + "cockpit: {bell: false}\n",
        encoding="utf-8",
    )
    new = make_engine(other / "ao.config.yaml").config
    assert describe_changes(old, new) == "app: ci; project web added; cockpit: bell"
    assert describe_changes(old, old) == ""


def test_one_line_names_the_file_not_its_path_and_counts_the_rest() -> None:
    error = ConfigError(
        [
            ConfigProblem("/a/b/ao.config.yaml", 4, 9, "projects.app.ci", "expected a mapping"),
            ConfigProblem("/a/b/ao.config.yaml", 7, 3, "projects.app.agent", "unknown agent"),
        ]
    )
    assert one_line(error) == (
        "ao.config.yaml:4:9: projects.app.ci: expected a mapping "
        "(and 1 more: `ao-tui config check` lists them)"
    )


async def test_follow_reports_each_save_within_a_second(tmp_path: Path, git_repo: Path) -> None:
    config = ci_config(tmp_path, git_repo, OLD)
    engine = make_engine(config)
    seen: list[Reload] = []
    stop = asyncio.Event()
    task = asyncio.create_task(ConfigFollower(engine, config).follow(stop, seen.append))
    try:
        await asyncio.sleep(0.5)
        assert seen == []  # the file as loaded is no news
        started = time.monotonic()
        replace_in(config, OLD, NEW)
        while not seen and time.monotonic() - started < 5:
            await asyncio.sleep(0.05)
        assert seen and seen[0].changed and time.monotonic() - started < 1.5
        config.write_text("projects: [", encoding="utf-8")  # saved in place, and broken
        while len(seen) < 2 and time.monotonic() - started < 10:
            await asyncio.sleep(0.05)
        assert seen[1].error.startswith("ao.config.yaml:1:")
    finally:
        stop.set()
        await task


def test_the_daemon_starts_ci_with_the_command_of_now(tmp_path: Path, git_repo: Path) -> None:
    config = ci_config(tmp_path, git_repo, OLD)
    engine = make_engine(config)
    session = engine.spawn("app", "CI under a daemon")
    log = tmp_path / "daemon.log"
    with log.open("w") as err:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ao_tui", "--config", str(config), "daemon"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "watching" in log.read_text(), timeout=30)
        first = commit(session, "a.txt", "a\n")
        wait_for(lambda: [r for r in engine.store.ci_runs(session.id) if r.state != "running"])
        replace_in(config, OLD, NEW)
        wait_for(lambda: "ao.config.yaml reloaded: app: ci" in log.read_text(), timeout=15)
        second = commit(session, "b.txt", "b\n")
        wait_for(lambda: len(engine.store.ci_runs(session.id)) == 2, timeout=30)
        config.write_text("projects: [", encoding="utf-8")
        wait_for(lambda: "not reloaded, the previous config stays in use" in log.read_text())
        assert daemon.poll() is None  # a broken file never stops the daemon
    finally:
        # SIGTERM, as a service manager stops it: a suite run in the background (as CI may
        # run it) hands its children SIGINT ignored, so a daemon would never see Ctrl-C.
        os.killpg(daemon.pid, signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    runs = engine.store.ci_runs(session.id)
    assert [(run.head_sha, run.command) for run in runs] == [(first, OLD), (second, NEW)]
    line = next(x for x in log.read_text().splitlines() if "not reloaded" in x)
    assert line.startswith("ao-tui: ao.config.yaml not reloaded, the previous config stays in use")
    assert "ao.config.yaml:1:" in line
