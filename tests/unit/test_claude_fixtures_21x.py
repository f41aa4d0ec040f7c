"""Claude Code 2.1.x: every recorded transcript read right, by the reader and by ``inspect``.

The transcript alone is judged here (hooks, status file and pane are other tests): for each
2.1.x fixture, the state its last lines mean. Some real transcripts end while a Stop hook is
still running (a ``progress``/``hook_progress`` Stop line after the last assistant line, no
``stop_hook_summary``/``turn_duration`` yet: Claude writes those once its hooks finish).
Claude fires Stop only when the turn is over, so those read idle, not working.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.activity.received import parse_timestamp
from core.models import ActivityState
from plugins.agent.claude_code.transcript import read_transcript

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLAUDE = FIXTURES / "claude"
CAPTURED = FIXTURES / "claude-2.1.197"
STOP_HOOK_RUNNING = CLAUDE / "entire__05-a188c59540-0__v2.1.39.jsonl"
"""The real 2.1.x transcript that ends while its Stop hook runs (``go run … hooks stop``)."""

IDLE, WORKING, ERROR = ActivityState.IDLE, ActivityState.WORKING, ActivityState.ERROR
EXPECTED: dict[str, ActivityState] = {
    # claude/: real transcripts copied from public repositories (SOURCES.md).
    "claude/entire__05-a188c59540-0__v2.1.39.jsonl": IDLE,  # ends in the Stop hook
    "claude/entire__8c-fa910f8ef9-2__small.jsonl": WORKING,  # cut mid-turn
    "claude/claude-reliability__hello-world-script.jsonl": WORKING,  # no marker, no hook line
    "claude/claude-reliability__stop-hook-reflection-first-stop.jsonl": WORKING,
    "claude/kvsankar__real_sessions_claude_session-01.jsonl": IDLE,  # end_turn
    "claude/spotter__short.jsonl": IDLE,  # a slash command finished
    "claude/spotter__tool_heavy.jsonl": IDLE,  # interrupted
    "claude/real-2.1.197/session-a-transcript.jsonl": ERROR,  # gave up on HTTP 500
    "claude/real-2.1.197/session-b-transcript.jsonl": IDLE,
    "claude/real-2.1.197/session-c-transcript.jsonl": IDLE,  # interrupted
}
# claude-2.1.197/: each scenario's snapshots (``<step>.transcript.jsonl``) and its final
# transcript (``transcript.jsonl``, named by the scenario alone), grouped by what they mean.
CAPTURED_BY_STATE: dict[ActivityState, list[str]] = {
    IDLE: [
        "01-simple-idle",
        "01-simple-idle/01-idle",
        "01-simple-idle/02-idle-notified",
        "01-simple-idle/03-killed-by-tmux",
        "02-permission",
        "02-permission/04-idle",
        "02b-write-permission",
        "02b-write-permission/02-idle",
        "03-interrupt",
        "03-interrupt/02-interrupted",
        "05-second-message",
        "05-second-message/01-pasted-before-enter",  # end_turn: idle before its markers
        "05-second-message/02-second-answered",
        "05-second-message/03-multiline-pasted-before-enter",
        "05-second-message/04-multiline-answered",
        "05-second-message/06-queue-drained",
        "07-resume",
        "07-resume/02-answered",
        "07-resume/03-session-id-reused",
    ],
    ERROR: [
        "04-api-500-default-retries",
        "04-api-500-default-retries/02-gave-up",
        "04b-api-500-max-retries-2",
        "04b-api-500-max-retries-2/01-gave-up",
        "04c-api-429-max-retries-2",
        "04c-api-429-max-retries-2/01-gave-up",
        "04d-api-timeout-ms",
        "04d-api-timeout-ms/01-gave-up",
    ],
    # What the transcript cannot see (the pane and hooks do): a permission prompt (it ends
    # on the tool_use either way), Escape before the first token and a kill (the prompt is
    # last), retries (2.1.197 logs none).
    WORKING: [
        "02-permission/01-waiting",
        "02-permission/02-waiting-notified",
        "02-permission/03-tool-running",
        "02b-write-permission/01-waiting",
        "03-interrupt/01-streaming",
        "03b-interrupt-before-first-token",
        "03b-interrupt-before-first-token/01-waiting-first-token",
        "03b-interrupt-before-first-token/02-escaped",
        "04-api-500-default-retries/01-retrying",
        "05-second-message/05-queued",
        "06-killed",
        "06-killed/01-waiting",
        "06-killed/02-killed",
        "07-resume/01-resumed",
    ],
}
for _state, _steps in CAPTURED_BY_STATE.items():
    for _step in _steps:
        _file = f"{_step}.transcript.jsonl" if "/" in _step else f"{_step}/transcript.jsonl"
        EXPECTED[f"claude-2.1.197/{_file}"] = _state
"""The state each 2.1.x transcript alone means, by its path under tests/fixtures."""


def _is_21x_transcript(path: Path) -> bool:
    """Whether ``path`` is a main-chain Claude 2.1.x transcript: not hooks, not a subagent,
    not a catalog (one record of each type: no sequence to judge)."""
    if "hooks" in path.name or path.name == "requests.jsonl" or path.name.startswith("catalog"):
        return False
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    main = [e for e in lines if e.get("isSidechain") is False]
    return bool(main) and any(str(e.get("version", "")).startswith("2.1.") for e in main)


ALL_21X = sorted(
    str(p.relative_to(FIXTURES))
    for p in [*CLAUDE.rglob("*.jsonl"), *CAPTURED.rglob("*.jsonl")]
    if _is_21x_transcript(p)
)


def test_every_21x_transcript_has_an_expected_state() -> None:
    """A new 2.1.x fixture must say here what it means."""
    assert sorted(EXPECTED) == ALL_21X


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reader_reads_each_21x_transcript_right(name: str) -> None:
    state = read_transcript((FIXTURES / name).read_text().splitlines())
    signal = state.signal()
    assert signal is not None
    assert signal.state is EXPECTED[name], (state.last_event, signal.detail)
    assert state.malformed == 0


def test_a_transcript_ending_in_a_running_stop_hook_is_idle() -> None:
    lines = STOP_HOOK_RUNNING.read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["type"] == "progress"
    assert last["data"] == last["data"] | {"type": "hook_progress", "hookEvent": "Stop"}
    state = read_transcript(lines)
    signal = state.signal()
    assert signal is not None and signal.state is IDLE
    assert signal.detail.startswith("Committed and pushed")
    assert state.turn_ended_at == parse_timestamp(last["timestamp"])
    assert state.last_event == "turn_end"


def test_the_same_file_cut_before_the_stop_hook_is_still_working() -> None:
    """Before the Stop hook line the last assistant line (stop_reason null) proves nothing."""
    lines = STOP_HOOK_RUNNING.read_text().splitlines()
    state = read_transcript(lines[:-1])
    signal = state.signal()
    assert signal is not None and signal.state is WORKING


def test_the_first_turn_idles_at_its_stop_hook_before_its_markers() -> None:
    """The file's first turn: Stop hook line, then stop_hook_summary, then turn_duration."""
    lines = STOP_HOOK_RUNNING.read_text().splitlines()
    hook = next(i for i, line in enumerate(lines) if '"hookEvent":"Stop"' in line)
    state = read_transcript(lines[: hook + 1])
    signal = state.signal()
    assert signal is not None and signal.state is IDLE
    # The markers Claude writes once the hook has finished keep it idle, dated by them.
    markers = lines[hook + 1 : hook + 3]
    assert [json.loads(line)["subtype"] for line in markers] == [
        "stop_hook_summary",
        "turn_duration",
    ]
    state.fold_lines(markers)
    after = state.signal()
    assert after is not None and after.state is IDLE
    assert state.turn_ended_at == parse_timestamp(json.loads(markers[-1])["timestamp"])


@pytest.mark.parametrize(
    "name",
    [
        "claude/entire__05-a188c59540-0__v2.1.39.jsonl",
        "claude/entire__8c-fa910f8ef9-2__small.jsonl",
        "claude/real-2.1.197/session-a-transcript.jsonl",
        "claude-2.1.197/02-permission/01-waiting.transcript.jsonl",
        "claude-2.1.197/05-second-message/transcript.jsonl",
    ],
)
def test_inspect_transcript_says_the_same(name: str) -> None:
    """``ao-tui inspect transcript --json``, the command an operator runs, end to end."""
    proc = subprocess.run(
        [sys.executable, "-m", "ao_tui", "inspect", "transcript", "--json", str(FIXTURES / name)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["state"] == EXPECTED[name].value, report["signals"]
    assert report["source"] == "transcript"
