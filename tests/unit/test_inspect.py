"""``inspect_signals``: format detection, per-source breakdown and the fused verdict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.activity.inspect import InspectError, inspect_signals
from plugins.agent.inspect import transcript_format

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = FIXTURES / "claude" / "real-2.1.197"
ALL = sorted(
    [
        *FIXTURES.glob("claude/*.jsonl"),
        *FIXTURES.glob("codex/*.jsonl"),
        *FIXTURES.glob("aider/*.md"),
        *REAL.glob("*.jsonl"),
    ]
)
NOW = 1_900_000_000.0


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_gives_a_json_report(path: Path) -> None:
    report = inspect_signals(path, None, None, None, NOW)
    json.dumps(report)
    for key in ("state", "source", "detail", "since", "waiting_for", "transcript", "signals"):
        assert key in report
    assert report["state"] in {"working", "waiting_input", "idle", "error", "exited", "unknown"}
    assert report["transcript"]["path"] == str(path)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("codex/kvsankar__real_sessions_codex_session-01.jsonl", "codex"),
        ("aider/zen-mcp-server__.aider.chat.history.md", "aider"),
        ("claude/spotter__short.jsonl", "claude"),
        ("claude/real-2.1.197/session-a-hooks.jsonl", "hooks"),
        ("claude/real-2.1.197/session-a-transcript.jsonl", "claude"),
    ],
)
def test_format_detection(name: str, fmt: str) -> None:
    assert transcript_format(FIXTURES / name) == fmt


def test_aider_history_without_md_suffix_is_detected(tmp_path: Path) -> None:
    copy = tmp_path / "history.txt"
    shutil.copy(FIXTURES / "aider" / "zen-mcp-server__.aider.chat.history.md", copy)
    assert transcript_format(copy) == "aider"


def test_real_session_all_sources_exit_wins_by_hook() -> None:
    report = inspect_signals(
        REAL / "session-a-transcript.jsonl",
        REAL / "session-a-hooks.jsonl",
        REAL / "session-a-status-idle.json",
        REAL / "pane-api-error-final.txt",
        NOW,
    )
    assert report["format"] == "claude"
    assert (report["state"], report["source"]) == ("exited", "hook")
    assert report["signals"]["transcript"]["state"] == "error"
    assert report["signals"]["status"]["state"] == "idle"
    assert report["signals"]["pane"]["state"] == "error"
    assert report["hooks"]["session_end_reason"] == "prompt_input_exit"
    assert report["status"]["version"] == "2.1.197"


def test_waiting_status_plus_permission_pane(tmp_path: Path) -> None:
    """A transcript ending on the tool_use, Claude's waiting status and the prompt on screen."""
    lines = (REAL / "session-a-transcript.jsonl").read_text().splitlines(keepends=True)
    upto = next(i for i, line in enumerate(lines) if '"tool_use"' in line)
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("".join(lines[: upto + 1]))
    report = inspect_signals(
        transcript,
        None,
        REAL / "session-a-status-waiting.json",
        REAL / "pane-permission-bash.txt",
        NOW,
    )
    assert report["state"] == "waiting_input"
    assert report["waiting_for"] == {
        "kind": "permission",
        "tool": "Bash",
        "command": "touch probe-file.txt",
    }
    assert report["transcript"]["pending_tools"][0]["name"] == "Bash"


def test_missing_optional_files_are_reported(tmp_path: Path) -> None:
    report = inspect_signals(
        FIXTURES / "claude" / "spotter__short.jsonl",
        tmp_path / "no-hooks.jsonl",
        tmp_path / "no-status.json",
        tmp_path / "no-pane.txt",
        NOW,
    )
    assert report["hooks"] == {"missing": str(tmp_path / "no-hooks.jsonl")}
    assert report["status"] == {"missing": str(tmp_path / "no-status.json")}
    assert report["pane"] == {"missing": str(tmp_path / "no-pane.txt")}
    assert report["state"] == "idle"


def test_missing_transcript_raises(tmp_path: Path) -> None:
    with pytest.raises(InspectError, match="no such file"):
        inspect_signals(tmp_path / "nope.jsonl", None, None, None, NOW)


CAPTURED = FIXTURES / "claude-2.1.197"
FUSED = {
    "01-simple-idle/01-idle": "idle",
    "01-simple-idle/03-killed-by-tmux": "exited",  # SessionEnd hook
    "02-permission/01-waiting": "waiting_input",
    "02-permission/03-tool-running": "working",  # answered: status busy, pane busy
    "02-permission/04-idle": "idle",
    "03-interrupt/02-interrupted": "idle",  # no hook fires on an interrupt
    "03b-interrupt-before-first-token/02-escaped": "idle",
    "04-api-500-default-retries/01-retrying": "retrying",  # status busy, pane retrying
    "04-api-500-default-retries/02-gave-up": "error",
    "04d-api-timeout-ms/01-gave-up": "error",
    "05-second-message/05-queued": "working",
    "06-killed/01-waiting": "waiting_input",
}
"""The fused verdict for recorded snapshots where all four sources were captured together."""


@pytest.mark.parametrize(
    "transcript",
    sorted(CAPTURED.glob("*/*.transcript.jsonl")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_recorded_snapshots(transcript: Path) -> None:
    """Every snapshot of the real-agent fixture run: all sources read cleanly, and where the
    right answer is known, the fused state is it."""
    step = transcript.name.removesuffix(".transcript.jsonl")
    sibling = transcript.parent / step
    hooks = Path(f"{sibling}.hooks.jsonl")
    status = Path(f"{sibling}.status.json")
    pane = Path(f"{sibling}.pane.txt")
    report = inspect_signals(
        transcript,
        hooks if hooks.exists() else None,
        status if status.exists() and status.stat().st_size else None,
        pane if pane.exists() else None,
        NOW,
    )
    assert report["format"] == "claude"
    assert report["transcript"]["malformed"] == 0
    if "hooks" in report:
        assert report["hooks"]["malformed"] == 0
    expected = FUSED.get(f"{transcript.parent.name}/{step}")
    if expected is not None:
        assert report["state"] == expected, report["signals"]
