"""Hostile transcripts and hook logs: every one is survived, and bad lines are reported.

Iterates tests/fixtures/hostile/transcripts/ and tests/fixtures/hostile/hooks/ (see the
README there): each file goes through ``inspect transcript`` (the CLI, in process) and the
readers the live Claude plugin uses, which must neither raise nor print invalid JSON, and
must name each line they could not use. The fleet-wide check (one session with such a
file, ``status`` of all of them) is in tests/integration/test_hostile_fleet.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ao_tui.cli import main
from core.activity.inspect import inspect_signals
from core.activity.tailer import MAX_LINE_BYTES, FileTailer
from core.bounded_json import MAX_DEPTH, JsonRefused, loads, loads_line, nesting_exceeds
from core.slots import AgentContext
from plugins.agent.claude_code.hooks import read_hook_log
from plugins.agent.claude_code.plugin import ClaudeCodeAgent
from plugins.agent.claude_code.transcript import TranscriptState
from plugins.agent.claude_code.turns import parse_turns, read_turns

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
TRANSCRIPTS = sorted((HOSTILE / "transcripts").iterdir())
HOOK_LOGS = sorted((HOSTILE / "hooks").iterdir())
BASELINE = HOSTILE / "transcripts" / "depth-at-limit.jsonl"


def _strict_json(text: str) -> Any:
    """Parse as a strict consumer (jq, a browser) would: no NaN, no Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_the_corpus_is_there() -> None:
    assert len(TRANSCRIPTS) >= 15 and len(HOOK_LOGS) >= 8


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_inspect_survives_every_hostile_transcript(path: Path) -> None:
    report = inspect_signals(path, None, None, None, now=time.time())
    _strict_json(json.dumps(report, allow_nan=False))
    summary = report["transcript"]
    if summary.get("malformed"):
        noted = summary["malformed_lines"]
        assert noted and len(noted) == min(summary["malformed"], 10)
        assert all(line.startswith("line ") for line in noted)
    result = CliRunner().invoke(main, ["inspect", "transcript", str(path), "--json"])
    assert result.exit_code == 0, result.output
    _strict_json(result.stdout)


@pytest.mark.parametrize("path", HOOK_LOGS, ids=lambda p: p.name)
def test_inspect_survives_every_hostile_hook_log(path: Path) -> None:
    report = inspect_signals(BASELINE, path, None, None, now=time.time())
    _strict_json(json.dumps(report, allow_nan=False))
    hooks = report["hooks"]
    if hooks["malformed"]:
        assert hooks["malformed_lines"] and hooks["malformed_lines"][0].startswith("line ")
    result = CliRunner().invoke(
        main, ["inspect", "transcript", str(BASELINE), "--hooks", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    _strict_json(result.stdout)


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.name)
def test_the_detail_view_reads_every_hostile_transcript(path: Path) -> None:
    problems: list[str] = []
    read_turns(path, problems)
    assert len(problems) <= 10


def test_a_deeply_nested_line_is_reported_and_the_rest_still_read() -> None:
    path = HOSTILE / "transcripts" / "deeply-nested-message.jsonl"
    report = inspect_signals(path, None, None, None, now=time.time())
    assert report["transcript"]["malformed_lines"] == [
        f"line 2: nested deeper than {MAX_DEPTH} levels"
    ]
    assert report["state"] == "idle"  # from line 3, after the bad one
    assert report["detail"] == "All 212 tests pass."
    text = CliRunner().invoke(main, ["inspect", "transcript", str(path)]).stdout
    assert "unreadable lines skipped: line 2: nested deeper than 100 levels" in text
    problems: list[str] = []
    turns = read_turns(path, problems)
    assert problems == [f"line 2: nested deeper than {MAX_DEPTH} levels"]
    assert [t.kind for t in turns] == ["user", "assistant"]


def test_a_bom_does_not_cost_the_first_line() -> None:
    for path in (HOSTILE / "transcripts" / "bom-first-line.jsonl",):
        report = inspect_signals(path, None, None, None, now=time.time())
        assert report["transcript"]["malformed"] == 0
        assert report["transcript"]["prompts"] == 1
    hooks = inspect_signals(BASELINE, HOSTILE / "hooks" / "bom-first-line.jsonl", None, None, 0)
    assert hooks["hooks"]["malformed"] == 0 and hooks["hooks"]["records"] == 1


def test_brackets_inside_strings_and_depth_at_the_limit_are_fine() -> None:
    for name in ("brackets-inside-strings.jsonl", "depth-at-limit.jsonl"):
        report = inspect_signals(HOSTILE / "transcripts" / name, None, None, None, 0)
        assert report["transcript"]["malformed"] == 0, name


def test_non_finite_numbers_never_reach_the_output() -> None:
    assert loads('{"a": NaN, "b": -Infinity, "c": 1e999, "d": 1.5}') == {
        "a": None,
        "b": None,
        "c": None,
        "d": 1.5,
    }
    report = inspect_signals(HOSTILE / "transcripts" / "huge-numbers.jsonl", None, None, None, 0)
    json.dumps(report, allow_nan=False)


def test_the_depth_scan_stops_early_and_skips_strings() -> None:
    assert nesting_exceeds("[" * 101 + "]" * 101, 100)
    assert not nesting_exceeds("[" * 100 + "]" * 100, 100)
    assert not nesting_exceeds('["' + "[" * 500 + '"]', 100)
    assert not nesting_exceeds('["\\"' + "[" * 500 + '"]', 100)  # an escaped quote
    started = time.perf_counter()
    assert nesting_exceeds("[" * 5_000_000, 100)
    assert time.perf_counter() - started < 2.0
    with pytest.raises(JsonRefused, match="nested deeper than 100 levels"):
        loads_line("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError):  # every refusal is a ValueError for tolerant readers
        loads_line("x" * (16 * 1024 * 1024 + 1))


def test_parse_turns_numbers_the_lines_it_skips() -> None:
    problems: list[str] = []
    lines = ["", "{oops", '{"type":"user","message":{"content":"hi"}}', "[" * 300 + "]" * 300]
    parse_turns(lines, problems)
    assert problems == [
        "line 2: not JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 4: nested deeper than 100 levels",
    ]


def test_a_line_too_long_is_cut_and_refused_without_holding_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    good = '{"type":"user","timestamp":"2026-01-01T00:00:00Z","message":{"content":"after"}}\n'
    tailer = FileTailer(path, backscan=1)
    path.write_text(good)
    tailer.read()
    chunk = "a" * (4 * 1024 * 1024)
    with path.open("a") as handle:
        handle.write('{"type":"user","message":{"content":"')
    state = TranscriptState()
    for _ in range(5):  # 20 MB of one line, appended while we read
        with path.open("a") as handle:
            handle.write(chunk)
        read = tailer.read()
        state.fold_lines(read.lines)
        assert read.lines == []
        assert len(tailer._pending) <= MAX_LINE_BYTES
    with path.open("a") as handle:
        handle.write('"}}\n' + good)
    state.fold_lines(tailer.read().lines)
    assert state.malformed == 1
    assert state.malformed_lines[0].endswith("longer than 16,777,216 characters")
    assert [p.text for p in state.prompts] == ["after"]


def test_hook_log_with_a_deep_record_is_not_carried_forward() -> None:
    lines = (HOSTILE / "hooks" / "deep-payload.jsonl").read_text().splitlines()
    state = read_hook_log(lines)
    assert state.malformed == 1 and state.records == 1 and state.last_event == "Stop"
    assert state.malformed_lines == [f"line 1: nested deeper than {MAX_DEPTH} levels"]


def test_send_confirms_delivery_past_a_hostile_hook_log(tmp_path: Path) -> None:
    """``send`` reads the hook log to confirm delivery: a hostile line must not stop it."""
    worktree = tmp_path / "wt"
    worktree.mkdir()
    ctx = AgentContext(
        session_id="app-1",
        agent_session_id="5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        worktree=worktree,
        state_dir=tmp_path / "state",
        prompt="task",
        env={"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")},
    )
    ctx.state_dir.mkdir()
    agent = ClaudeCodeAgent()
    marker = agent.delivery_marker(ctx)
    hostile = (HOSTILE / "hooks" / "deep-payload.jsonl").read_text()
    prompt = {"ao_ts": "1", "payload": {"hook_event_name": "UserPromptSubmit", "prompt": "hi"}}
    (ctx.state_dir / "hooks.jsonl").write_text(hostile + json.dumps(prompt) + "\n")
    assert agent.delivery_confirmed(ctx, marker, "hi")
