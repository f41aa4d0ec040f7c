"""The small night's scenarios of the demo agent: the orchestrator, the reviewer and the night
workers, each the real demo program in a real directory (real git, the sample project's
real tests).

The orchestrator and the reviewer call ``ao-tui``. Here a stand-in ``ao-tui`` on their PATH
(tests/support/demo_program_run.py) logs each call and prints canned JSON: ``escalate`` and
``review`` are CLI verbs built elsewhere, and the stand-in lets the exact calls be asserted.
test_demo_orchestrator_cli.py runs the orchestrator against the real CLI.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ao_tui.demo import write_sample_project
from core.slots import AgentContext
from plugins.agent.demo import DemoAgent
from plugins.agent.demo_program.fleet import TODO_MARKER
from plugins.agent.demo_program.tools import run_tests
from tests.conftest import run_git
from tests.support.demo_program_run import DemoProgram, recorded, recorder_bin
from tests.support.engine import wait_for

HANDOFF = (
    "ao-tui tier 2: the ci-failed reaction spent its budget on a worker.\n"
    "session: demo-3\nattempts: 2 of 2\nexcerpt:\n  FAIL: test_rounds_half_up (it's off)\n"
    'You may: ao-tui send demo-3 "…"; ao-tui kill demo-3; ao-tui escalate demo-3 "why"\n'
)


def _status(*sessions: tuple[str, str | None]) -> str:
    return json.dumps(
        [{"id": sid, "issue": issue, "lifecycle": "running"} for sid, issue in sessions]
    )


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "claude"


def _no_shell_between(calls: list[dict[str, object]]) -> None:
    """Every call was started by the demo program itself: an argv list, no shell."""
    for call in calls:
        parent = call["parent"]
        assert isinstance(parent, list)
        assert "plugins.agent.demo_program" in parent, parent


def test_the_orchestrator_spawns_the_free_issues_up_to_the_cap_then_escalates_a_hand_off(
    tmp_path: Path, config_dir: Path
) -> None:
    canned = {
        "status --json": {"stdout": _status(("demo-orchestrator", None), ("demo-1", "2"))},
        "issues --json": {
            "stdout": json.dumps(
                [
                    {"key": "1", "state": "open", "session": None},
                    {"key": "2", "state": "open", "session": "demo-1"},
                    {"key": "3", "state": "open", "session": None},
                    {"key": "4", "state": "open", "session": None},
                ]
            )
        },
        "spawn --issue 1 --json": {"stdout": json.dumps({"id": "demo-2", "issue": "1"})},
        "spawn --issue 3 --json": {
            "code": 4,
            "stderr": "ao-tui: project shop is at its cap of 2 sessions (maxConcurrentSessions)",
        },
        "status demo-3 --json": {"stdout": _status(("demo-3", "3"))},
        "escalate": {"stdout": "demo-3 escalated\n"},
    }
    bin_dir, log = recorder_bin(tmp_path / "rec", canned)
    cwd = tmp_path / "wt"
    cwd.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "AO_TUI_SESSION": "demo-orchestrator",
        "AO_TUI_ACTOR": "demo-orchestrator",
    }
    program = DemoProgram(cwd, "orchestrate", "Run the night.", env=env, config_dir=config_dir)
    try:
        program.wait_turns(1)
        calls = recorded(log)
        assert [c["argv"] for c in calls] == [
            ["status", "--json"],
            ["issues", "--json"],
            ["spawn", "--issue", "1", "--json"],
            ["spawn", "--issue", "3", "--json"],  # refused at the cap: #4 is not tried
        ]
        words = program.last_words()
        assert "Started demo-2 on #1." in words
        assert "at its session cap, so #3, #4 wait" in words
        assert words.endswith("Watching the fleet.")

        program.send("how is it going?")  # not a hand-off: the scripted reply, no call
        program.wait_turns(2)
        assert len(recorded(log)) == 4
        program.send(HANDOFF)
        program.wait_turns(3)
        calls = recorded(log)
        assert [c["argv"][:2] for c in calls[4:]] == [["status", "demo-3"], ["escalate", "demo-3"]]
        why = calls[5]["argv"]
        assert len(why) == 3 and "ci-failed budget spent on demo-3" in why[2]
        assert "escalated demo-3 to the human" in program.last_words()
        _no_shell_between(calls)
        assert {c["actor"] for c in calls} == {"demo-orchestrator"}
        # Shown and recorded as Claude's Bash tool calls.
        assert program.bash_commands() == [
            "ao-tui status --json",
            "ao-tui issues --json",
            "ao-tui spawn --issue 1 --json",
            "ao-tui spawn --issue 3 --json",
            "ao-tui status demo-3 --json",
            f"ao-tui escalate demo-3 '{why[2]}'",
        ]
        screen = program.screen()
        assert "Bash(ao-tui spawn --issue 1 --json)" in screen
        assert "Bash(ao-tui escalate demo-3" in screen
    finally:
        assert program.stop() == 0


def _reviewer(tmp_path: Path, config_dir: Path, diff: str) -> tuple[DemoProgram, Path]:
    bin_dir, log = recorder_bin(tmp_path / "rec", {"diff demo-2": {"stdout": diff}})
    cwd = tmp_path / "wt"
    cwd.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "AO_TUI_SESSION": "demo-5"}
    task = "You are demo-5, a reviewer. Review this diff: author demo-2, head 1a2b3c4d."
    return DemoProgram(cwd, "review", task, env=env, config_dir=config_dir), log


def _diff(repo: Path) -> str:
    return run_git(repo, "diff", "main...HEAD")


def _sample_branch(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    write_sample_project(repo)
    run_git(repo, "checkout", "-qb", "work")
    return repo


def _commit_all(repo: Path, message: str) -> None:
    run_git(repo, "add", "--all")
    run_git(repo, "commit", "-qm", message)


def test_the_reviewer_comments_on_a_todo_and_requests_changes(
    tmp_path: Path, config_dir: Path
) -> None:
    repo = _sample_branch(tmp_path)
    pricing = repo / "shop" / "pricing.py"
    pricing.write_text(pricing.read_text() + f"\n\ndef f() -> None:\n    # {TODO_MARKER}: x\n")
    (repo / "tests" / "test_f.py").write_text("import unittest\n")
    _commit_all(repo, "f")
    program, log = _reviewer(tmp_path, config_dir, _diff(repo))
    try:
        program.wait_turns(1)
        calls = [c["argv"] for c in recorded(log)]
        todo_line = pricing.read_text().splitlines().index(f"    # {TODO_MARKER}: x") + 1
        assert calls[0] == ["diff", "demo-2"]
        assert calls[1][:7] == [
            *("review", "comment", "demo-2", "--file", "shop/pricing.py"),
            *("--line", str(todo_line)),
        ]
        assert TODO_MARKER in calls[1][7] and len(calls[1]) == 8
        assert calls[2][:7] == [
            *("review", "comment", "demo-2", "--file", "tests/test_f.py", "--line", "1")
        ]
        assert calls[3:] == [["review", "request-changes", "demo-2"]]
        _no_shell_between(recorded(log))
        assert "Requested changes on demo-2" in program.last_words()
        assert "Bash(ao-tui review request-changes demo-2)" in program.screen()
    finally:
        assert program.stop() == 0


def test_the_reviewer_approves_a_diff_without_a_todo(tmp_path: Path, config_dir: Path) -> None:
    repo = _sample_branch(tmp_path)
    (repo / "NOTES.md").write_text("a TODO, but not the demo's marker\n")
    _commit_all(repo, "notes")
    program, log = _reviewer(tmp_path, config_dir, _diff(repo))
    try:
        program.wait_turns(1)
        assert [c["argv"] for c in recorded(log)] == [
            ["diff", "demo-2"],
            ["review", "approve", "demo-2"],
        ]
        assert program.bash_commands()[-1] == "ao-tui review approve demo-2"
    finally:
        assert program.stop() == 0


def _worker(tmp_path: Path, config_dir: Path, scenario: str) -> tuple[DemoProgram, Path]:
    repo = _sample_branch(tmp_path)
    program = DemoProgram(repo, scenario, "the task", env={}, config_dir=config_dir)
    return program, repo


def _subjects(repo: Path) -> list[str]:
    return run_git(repo, "log", "--format=%s", "main..HEAD").splitlines()[::-1]


def test_the_night_ci_worker_fixes_its_red_commit_when_ci_says_so(
    tmp_path: Path, config_dir: Path
) -> None:
    program, repo = _worker(tmp_path, config_dir, "night-ci")
    try:
        program.wait_turns(1)
        assert _subjects(repo) == ["Add item_count() for the cart badge"]
        assert run_tests(repo).is_error
        program.send("CI failed on 1a2b3c4d5e (attempt 1 of 2). Fix the failure…")
        program.wait_turns(2)
        assert _subjects(repo)[1:] == ["Count quantities in item_count()"]
        assert not run_tests(repo).is_error
        program.send("thanks")  # nothing left to fix: no commit
        program.wait_turns(3)
        assert len(_subjects(repo)) == 2
    finally:
        assert program.stop() == 0


def test_the_night_review_worker_resolves_the_todo_the_review_names(
    tmp_path: Path, config_dir: Path
) -> None:
    program, repo = _worker(tmp_path, config_dir, "night-review")
    try:
        program.wait_turns(1)
        assert _subjects(repo) == ["Add format_price() for showing prices"]
        assert TODO_MARKER in _diff(repo) and not run_tests(repo).is_error
        program.send("CI passed, well done")  # no finding: nothing changes
        program.wait_turns(2)
        assert len(_subjects(repo)) == 1
        program.send(
            "Review comments on PR are unresolved (attempt 1). Address each one:\n"
            f"- shop/pricing.py:9 (demo-5): {TODO_MARKER} left in: resolve it"
        )
        program.wait_turns(3)
        assert _subjects(repo)[1:] == ["Handle negative amounts in format_price()"]
        assert TODO_MARKER not in _diff(repo)
        assert not run_tests(repo).is_error
    finally:
        assert program.stop() == 0


def test_the_night_stuck_worker_never_gets_ci_green(tmp_path: Path, config_dir: Path) -> None:
    program, repo = _worker(tmp_path, config_dir, "night-stuck")
    try:
        program.wait_turns(1)
        for turn in (2, 3, 4):
            assert run_tests(repo).is_error
            program.send(f"CI failed on abc (attempt {turn - 1} of 2). Fix the failure.")
            program.wait_turns(turn)
        assert _subjects(repo) == [
            "Add add_tax() for checkout",
            "Round add_tax() differently (try 2)",
            "Round add_tax() differently (try 3)",
        ]
        assert "run out of ideas" in program.last_words()
        assert run_tests(repo).is_error
    finally:
        assert program.stop() == 0
    wait_for(lambda: program.proc.poll() is not None)


def test_the_role_chooses_the_scenario(tmp_path: Path) -> None:
    # A reviewer's task may quote the author's, scenario tag included: the role wins. (Its
    # `ao-tui` calls are marked as its own by core.role_launch, as for any agent.)
    task = "Review demo-2's diff. Its task:\nFix it\ndemo-scenario: night-ci"
    ctx = AgentContext("demo-5", "44444444-2222-3333-4444-555555555555", tmp_path, tmp_path, task)
    agent = DemoAgent()
    for role, scenario in (
        ("reviewer", "review"),
        ("orchestrator", "orchestrate"),
        ("worker", "night-ci"),
    ):
        plan = agent.launch(dataclasses.replace(ctx, role=role))
        assert plan.argv[3:5] == ["--scenario", scenario]
        resumed = agent.resume(dataclasses.replace(ctx, role=role))
        assert resumed.argv[3:5] == ["--scenario", scenario]


def test_an_orchestrator_that_cannot_read_the_backlog_says_so_and_spawns_nothing(
    tmp_path: Path, config_dir: Path
) -> None:
    canned = {
        "status --json": {"stdout": "[]"},
        "issues --json": {"code": 5, "stderr": "ao-tui: config: tracker.path: not found\n"},
    }
    bin_dir, log = recorder_bin(tmp_path / "rec", canned)
    cwd = tmp_path / "wt"
    cwd.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    program = DemoProgram(cwd, "orchestrate", "Run the night.", env=env, config_dir=config_dir)
    try:
        program.wait_turns(1)
        assert [c["argv"] for c in recorded(log)] == [["status", "--json"], ["issues", "--json"]]
        assert "could not read the fleet or the backlog" in program.last_words()
        assert "Error: Exit code 5" in program.screen()
    finally:
        assert program.stop() == 0
