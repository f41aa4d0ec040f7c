"""The REAL Claude Code CLI as the orchestrator, against the scripted API stand-in.

``ao-tui start`` starts the orchestrator; its scripted model then does, through its Bash
tool, what an orchestrator does and what it must not:

- ``ao-tui status --json`` and ``ao-tui issues --json``, then ``spawn --issue 1`` and
  ``--issue 2``: two workers exist, bound to their issues, and the event log says
  "by app-orchestrator" (its ``ao-tui`` is this one, marking its calls);
- a third ``spawn --issue 1`` is refused (exit 4, shown in the tool result);
- ``claude -p hi`` and ``tmux new-session`` are denied by Claude's own permission rules:
  the transcript shows the denials, a fake ``claude`` first on PATH left no marker, and the
  tmux test server has no new session.

Its standing instructions reached the model as part of the system prompt. Everything is
real except the model: tmux (test socket), git, the local tracker, the ao-tui CLI, Claude.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.daemon_presence import daemon_pid, daemon_running
from core.event_summary import summary
from core.locations import Locations
from core.models import Role
from tests.conftest import run_git
from tests.e2e.anthropic_standin import AnthropicStandin, ToolStep
from tests.e2e.claude_harness import (
    TEST_API_KEY,
    IsolatedTmux,
    read_jsonl,
    transcript_path,
    wait_until,
    write_claude_config,
)
from tests.support.engine import ao, make_engine, wait_for

pytestmark = [pytest.mark.claude, pytest.mark.tmux]

TASKS = """# Tasks

## 1. Fix the flaky login test
It fails one run in ten on CI.

## 2. Document the config file
Every key, with an example.
"""

TRIGGER = "You are this project's orchestrator"
"""Part of the orchestrator's first prompt (core.orchestrator.control.ORCHESTRATOR_TASK)."""


def _bash(command: str) -> ToolStep:
    return lambda: ("Bash", {"command": command, "description": "orchestrator step"})


@pytest.fixture
def daemon_stopped() -> Iterator[None]:
    """Stop the daemon `ao-tui start` left running (it outlives the CLI call)."""
    yield
    home = Locations.from_env().home
    pid = daemon_pid(home) if daemon_running(home) else None
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not daemon_running(home), timeout=30)


def _config(
    tmp_path: Path, git_repo: Path, standin: AnthropicStandin, claude_bin: Path, fake_bin: Path
) -> Path:
    home = tmp_path / "claude-home"
    write_claude_config(home, git_repo)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": standin.base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        # A fake `claude` first on PATH: it would leave a marker if anything ran it.
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
    }
    config = {
        "projects": {
            "app": {
                "path": str(git_repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "claude-code",
                "agentConfig": {"command": str(claude_bin)},
                "tracker": "local",
                "env": env,
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _tool_calls(transcript: Path) -> list[dict[str, Any]]:
    """Each Bash call of the transcript: its command, and its result's text and error flag."""
    calls: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for entry in read_jsonl(transcript):
        message = entry.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use" and block.get("id") not in calls:
                command = (block.get("input") or {}).get("command", "")
                calls[block["id"]] = {"command": command, "result": None, "error": None}
                order.append(block["id"])
            elif block.get("type") == "tool_result" and block.get("tool_use_id") in calls:
                result = block.get("content")
                if isinstance(result, list):
                    result = "\n".join(
                        str(b.get("text", "")) for b in result if isinstance(b, dict)
                    )
                call = calls[block["tool_use_id"]]
                call["result"] = str(result)
                call["error"] = bool(block.get("is_error"))
    return [calls[key] for key in order]


def test_the_orchestrator_spawns_through_ao_tui_and_nothing_else(
    tmp_path: Path,
    git_repo: Path,
    anthropic_standin: AnthropicStandin,
    claude_bin: Path,
    isolated_tmux: IsolatedTmux,
    daemon_stopped: None,
) -> None:
    (git_repo / "TASKS.md").write_text(TASKS, encoding="utf-8")
    run_git(git_repo, "add", "TASKS.md")
    run_git(git_repo, "commit", "-qm", "tasks")
    marker = tmp_path / "fake-claude-ran"
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "claude").write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    (fake_bin / "claude").chmod(0o755)
    config = _config(tmp_path, git_repo, anthropic_standin, claude_bin, fake_bin)
    socket = isolated_tmux.socket
    steps = [
        "ao-tui status --json",
        "ao-tui issues --project app --json",
        "ao-tui spawn --project app --issue 1 --json",
        "ao-tui spawn --project app --issue 2 --json",
        "ao-tui spawn --project app --issue 1 --json",
        "claude -p hi",
        f"tmux -L {socket} new-session -d -s rogue sleep 600",
    ]
    anthropic_standin.script(TRIGGER, [_bash(step) for step in steps], past_errors=True)

    started = ao(git_repo, "--config", str(config), "start", "--no-cockpit", "--json", timeout=180)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout)["orchestrator"]["action"] == "started"

    engine = make_engine(config)
    boss = engine.get("app-orchestrator")
    assert boss.role is Role.ORCHESTRATOR
    transcript = transcript_path(
        tmp_path / "claude-home", Path(boss.worktree), boss.agent_session_id
    )

    def pane() -> str:
        return isolated_tmux.capture(boss.tmux, history=True)

    def all_answered() -> list[dict[str, Any]] | None:
        calls = _tool_calls(transcript)
        done = len(calls) == len(steps) and all(c["result"] is not None for c in calls)
        return calls if done else None

    calls = wait_until(
        all_answered,
        timeout=300,
        what="every scripted call of the orchestrator answered",
        describe=lambda: f"calls: {_tool_calls(transcript)}\n--- pane ---\n{pane()}",
    )
    assert [c["command"] for c in calls] == steps
    shown = "\n".join(f"{c['command']} -> error={c['error']}: {c['result']}" for c in calls)
    status, issues, first, second, again, raw_claude, raw_tmux = calls
    for ok in (status, issues, first, second):
        assert ok["error"] is False, shown
    assert '"id": "app-orchestrator"' in status["result"], shown
    assert "Fix the flaky login test" in issues["result"], shown
    assert "Document the config file" in issues["result"], shown

    # The third spawn on issue 1 is refused, and the model is told so.
    assert again["error"] is True, shown
    assert "Exit code 4" in again["result"], shown
    assert "already works on issue #1" in again["result"], shown

    # Starting an agent or a tmux session by hand is denied by Claude's own rules.
    for denied in (raw_claude, raw_tmux):
        assert denied["error"] is True, shown
        refusal = f"Permission to use Bash with command {denied['command']} has been denied"
        assert refusal in denied["result"], shown
    assert not marker.exists()
    sessions = isolated_tmux.run("list-sessions", "-F", "#{session_name}", check=False).split()
    assert "rogue" not in sessions

    # Exactly two workers, bound to their issues, spawned "by app-orchestrator".
    workers = [s for s in engine.store.list_sessions() if s.role is Role.WORKER]
    assert sorted(s.issue for s in workers) == ["1", "2"]
    spawned = [e for e in engine.store.events_after(0) if e.kind == "spawned"]
    by = {e.session_id: e.data.get("by") for e in spawned}
    assert by == {"app-orchestrator": None, **{s.id: "app-orchestrator" for s in workers}}
    worker_event = next(e for e in spawned if e.session_id == workers[0].id)
    assert summary("spawned", worker_event.data).endswith("— by app-orchestrator")

    # Its instructions reached the model, with the project filled in.
    systems = [
        json.dumps(r.body.get("system"))
        for r in anthropic_standin.message_requests()
        if TRIGGER in json.dumps(r.body.get("messages"))
    ]
    assert systems and all("You are the orchestrator of project app" in s for s in systems)
    assert all("Only ao-tui starts agents" in s for s in systems)
