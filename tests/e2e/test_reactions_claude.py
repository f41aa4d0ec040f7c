"""Reactions end to end with the REAL Claude Code CLI against the scripted API stand-in.

A session's commit breaks a test; the local CI fails; the reactor (run for real, as the
daemon runs it: ``reconcile_loop(..., react=True)``) types the failing excerpt into Claude;
the scripted model answers it with tool calls that fix the code and commit, which the
project's permission policy lets run with no prompt; CI re-runs green, and with
``merge.requireApproval: false`` and ``approved-and-green: auto-merge`` the reactor merges.
After spawn the test calls no engine verb (no send, approve or merge): it only reads the
store, the transcript and git.

Only the model is scripted; tmux (test socket), git, the Claude binary, its hooks and
transcript, the CI runner and the store are all real.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import Event, Lifecycle
from tests.conftest import run_git
from tests.e2e.anthropic_standin import AnthropicStandin, ToolStep
from tests.e2e.claude_harness import TEST_API_KEY, read_jsonl, write_claude_config
from tests.support.engine import make_engine, wait_for

pytestmark = [pytest.mark.claude, pytest.mark.reactions]

CALC = '''def add(a, b):
    """The sum of a and b."""
    return a + b
'''
TEST_CALC = """import unittest

from calc import add


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)


if __name__ == "__main__":
    unittest.main()
"""
TASK = "SCRIPTED_REWRITE: rewrite add() in calc.py and commit it"
FIX_TRIGGER = "CI failed on"
"""How the reactor's ci-failed message begins (core.reactions.messages)."""


class Daemon:
    """The watching process's loop, with reactions, on a thread of its own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.errors: list[Exception] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        await reconcile_loop(self.engine, self._stop, react=True, on_error=self.errors.append)

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "the loop did not start"

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """The repository: ``add`` and its passing test on main."""
    (git_repo / "calc.py").write_text(CALC)
    (git_repo / "test_calc.py").write_text(TEST_CALC)
    run_git(git_repo, "add", "calc.py", "test_calc.py")
    run_git(git_repo, "commit", "-q", "-m", "add() and its test")
    return git_repo


def _engine(tmp_path: Path, repo: Path, standin: AnthropicStandin, claude_bin: Path) -> Path:
    home = tmp_path / "claude-home"
    write_claude_config(home, repo)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": standin.base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        # The agent's own commits need an identity; its HOME has no ~/.gitconfig.
        "GIT_AUTHOR_NAME": "agent",
        "GIT_AUTHOR_EMAIL": "agent@test.invalid",
        "GIT_COMMITTER_NAME": "agent",
        "GIT_COMMITTER_EMAIL": "agent@test.invalid",
    }
    config = {
        "projects": {
            "app": {
                "path": str(repo),
                "defaultBranch": "main",
                "sessionPrefix": "app",
                "agent": "claude-code",
                "agentConfig": {
                    "command": str(claude_bin),
                    # Claude runs these with no prompt; nobody presses a key in this test.
                    "allow": ["Edit", "Write", "Bash(git add:*)", "Bash(git commit:*)"],
                },
                "env": env,
                "ci": {"command": f"{sys.executable} -m unittest -v", "timeout": 120},
                "merge": {"requireApproval": False},
                # No reviewer agent: this test is the CI loop. With agent review on (the
                # local SCM's default) auto-merge waits for the agent's approval, which
                # tests/integration/test_agent_review_local.py covers.
                "reactions": {
                    "approved-and-green": {"auto": True, "action": "auto-merge"},
                    "agent-review": {"auto": False},
                },
            }
        }
    }
    path = tmp_path / "ao.config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def _edit_steps(worktree: dict[str, Path], old: str, new: str, message: str) -> list[ToolStep]:
    """Read calc.py (Claude's Edit refuses a file not read), edit it, commit it."""

    def calc() -> str:
        return str(worktree["path"] / "calc.py")

    return [
        lambda: ("Read", {"file_path": calc()}),
        lambda: ("Edit", {"file_path": calc(), "old_string": old, "new_string": new}),
        lambda: ("Bash", {"command": f"git commit -am {message}", "description": "Commit"}),
    ]


def _user_turns(transcript: Path) -> list[tuple[str, float]]:
    """Each user prompt of a Claude transcript (not tool results) and when it was written."""
    turns = []
    for entry in read_jsonl(transcript):
        message = entry.get("message")
        if entry.get("type") != "user" or not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, list):
            if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
                continue
            content = "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
        when = datetime.fromisoformat(str(entry["timestamp"]).replace("Z", "+00:00"))
        turns.append((str(content), when.timestamp()))
    return turns


def _reactions(events: list[Event], session_id: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.session_id == session_id and e.kind == "reaction"]


def test_a_failing_ci_is_fixed_by_claude_and_merged_with_no_key_pressed(
    tmp_path: Path, repo: Path, anthropic_standin: AnthropicStandin, claude_bin: Path
) -> None:
    config = _engine(tmp_path, repo, anthropic_standin, claude_bin)
    where: dict[str, Path] = {}
    known = threading.Event()

    def wait_for_worktree() -> None:
        # The model's first call may come before spawn returns the worktree's path.
        assert known.wait(30), "spawn did not return"

    steps = _edit_steps(where, "return a + b", "return a - b", "rewrite-add")
    first = steps[0]

    def first_step() -> tuple[str, dict[str, Any]]:
        wait_for_worktree()
        return first()

    anthropic_standin.script(TASK, [first_step, *steps[1:]])
    anthropic_standin.script(FIX_TRIGGER, _edit_steps(where, "return a - b", "return a + b", "fix"))

    daemon_engine = make_engine(config)  # the watching process (the daemon's)
    daemon = Daemon(daemon_engine)
    daemon.start()
    try:
        # The operator's one act: the spawn (a CLI process of its own).
        session = make_engine(config).spawn("app", TASK)
        where["path"] = Path(session.worktree)
        known.set()
        store = daemon_engine.store

        def merged() -> bool:
            current = store.get_session(session.id)
            return current is not None and current.lifecycle is Lifecycle.MERGED

        def describe() -> str:
            events = [e.to_json() for e in store.events_after(0) if e.session_id == session.id]
            return "\n".join(json.dumps(e)[:400] for e in events[-30:])

        try:
            wait_for(merged, timeout=150, interval=0.2)
        except Exception as exc:
            raise AssertionError(f"not merged: {daemon.errors}\n{describe()}") from exc
    finally:
        daemon.stop()
    assert daemon.errors == []

    final = store.get_session(session.id)
    assert final is not None and final.lifecycle is Lifecycle.MERGED
    events = store.events_after(0)
    mine = [e for e in events if e.session_id == session.id]

    # The CI runs: red at the agent's first commit, green at its fix.
    runs = sorted(store.ci_runs(session.id), key=lambda run: run.id)
    failing = [run for run in runs if run.state == "failing"]
    passing = [run for run in runs if run.state == "passing"]
    assert len(failing) == 1 and len(passing) == 1, runs
    broken_head, fixed_head = failing[0].head_sha, passing[0].head_sha
    assert failing[0].finished_at is not None and passing[0].finished_at is not None
    excerpt = failing[0].excerpt.strip()
    assert "FAIL: test_add" in excerpt and "AssertionError" in excerpt

    # The reactor typed the excerpt into Claude: the transcript has it as a user turn.
    sent = [r for r in _reactions(events, session.id) if r["key"] == "ci-failed"]
    typed = [r for r in sent if r["outcome"] in ("delivered", "queued", "sent")]
    assert len(typed) == 1, sent
    assert excerpt in typed[0]["text"]
    transcript = Path(str(final.extra["transcript_path"]))
    turns = _user_turns(transcript)
    fix_turns = [(text, at) for text, at in turns if FIX_TRIGGER in text]
    assert len(fix_turns) == 1, [text[:80] for text, _ in turns]
    fix_text, fix_at = fix_turns[0]
    assert excerpt in fix_text  # the excerpt's bytes, as the CI run stored them
    assert f"CI failed on {broken_head[:10]}" in fix_text

    # The scripted model fixed and committed through tools the policy allowed: no prompt.
    assert not [e for e in mine if e.kind == "activity" and e.data.get("state") == "waiting_input"]
    assert run_git(repo, "log", "-1", "--format=%s", fixed_head).strip() == "fix"
    assert run_git(repo, "rev-parse", f"{fixed_head}^").strip() == broken_head

    # Merged by the reactor, at the green head, with no approval and nothing forced.
    merge_reactions = [
        r for r in _reactions(events, session.id) if r["key"] == "approved-and-green"
    ]
    assert [r["outcome"] for r in merge_reactions] == ["merged"], merge_reactions
    assert fixed_head[:10] in merge_reactions[0]["reason"]
    assert "no approval required" in merge_reactions[0]["reason"]
    merged_event = next(e for e in mine if e.kind == "merged")
    assert merged_event.data["head_sha"] == fixed_head
    assert merged_event.data["forced"] is False
    assert not [e for e in mine if e.kind == "approved"]
    main = run_git(repo, "rev-parse", "main").strip()
    assert merged_event.data["sha"] == main
    run_git(repo, "merge-base", "--is-ancestor", fixed_head, "main")
    assert run_git(repo, "show", "main:calc.py") == CALC
    subjects = run_git(repo, "log", "--format=%s", "main").splitlines()
    assert subjects[:3] == [
        f"Merge {session.branch} ({session.id}): {final.title}",
        "fix",
        "rewrite-add",
    ]

    # What the issue asks to measure.
    to_user_turn = fix_at - failing[0].finished_at
    to_merged = merged_event.ts - passing[0].finished_at
    typed_at = next(e.ts for e in mine if e.kind == "reaction" and e.data.get("key") == "ci-failed")
    print(
        f"\nci failure stored -> reaction {typed[0]['outcome']}: "
        f"{typed_at - failing[0].finished_at:.2f}s"
    )
    print(f"ci failure stored -> user turn in transcript: {to_user_turn:.2f}s")
    print(f"ci green stored -> merged: {to_merged:.2f}s")
    assert 0 <= to_user_turn < 10 and 0 <= to_merged < 10
