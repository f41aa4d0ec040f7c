"""The Gemini CLI plugin against golden captures of the real Gemini CLI 0.61.0.

The captures (tests/fixtures/gemini-0.61.0, README there) were written by the real CLI run
against the Gemini API stand-in, with the plugin's hooks installed; these tests read them as
``ao-tui inspect transcript`` and the live plugin do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.activity.inspect import inspect_signals
from plugins.agent.gemini.reader import read_transcript
from plugins.agent.gemini.screen import shows_prompt
from plugins.agent.gemini.turns import read_turns
from plugins.agent.inspect import transcript_format
from tests.support.engine import ao

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "gemini-0.61.0"
NOW = 1_900_000_000.0

FUSED = {
    # The Notification hook fires before the box is drawn: the hook's word is held until
    # the screen shows it (keys pressed before are lost).
    "01-approval/01-waiting": ("waiting_input", "pane", "approval: touch probe.txt"),
    "01-approval/02-idle": ("idle", "hook", "done"),
    "02-interrupt/01-working": ("working", "hook", "prompt submitted"),
    # AfterAgent fires for an interrupted turn too; the transcript says why it ended.
    "02-interrupt/02-interrupted": ("idle", "hook", "interrupted by user"),
    "03-api-error/01-error": ("error", "hook", "API Error: "),
    "04-edit/01-waiting": ("waiting_input", "pane", "approval: notes.txt"),
    # A declined tool call fires no hook after its Notification: the transcript's
    # "Request cancelled." ends the turn (and the history replay after it is not news).
    "04-edit/02-declined": ("idle", "transcript", "interrupted by user"),
    "05-resume/01-exited": ("exited", "hook", "session ended (exit)"),
    "05-resume/02-resumed": ("idle", "hook", "session resume"),
    # Retries show only a timer; when they give up, this dialog is the only word.
    "06-high-demand/01-asks": (
        "waiting_input",
        "pane",
        "the model keeps failing: keep trying or stop?",
    ),
    "06-high-demand/02-stopped": ("error", "hook", "API Error: "),
}
"""The fused verdict of each snapshot's hook log, transcript and pane, taken together."""


def _inspect(step: str) -> dict[str, object]:
    return inspect_signals(
        GOLDEN / f"{step}.transcript.jsonl",
        GOLDEN / f"{step}.hooks.jsonl",
        None,
        GOLDEN / f"{step}.pane.txt",
        NOW,
    )


@pytest.mark.parametrize("step", sorted(FUSED))
def test_inspect_reads_each_golden_snapshot_right(step: str) -> None:
    assert transcript_format(GOLDEN / f"{step}.transcript.jsonl") == "gemini"
    report = _inspect(step)
    transcript = report["transcript"]
    assert isinstance(transcript, dict)
    assert transcript["malformed"] == 0 and transcript["unknown_types"] == {}
    state, source, detail = FUSED[step]
    assert (report["state"], report["source"]) == (state, source), report["signals"]
    assert str(report["detail"]).startswith(detail)


@pytest.mark.parametrize(
    ("step", "tool", "command"),
    [
        ("01-approval/01-waiting", "run_shell_command", "touch probe.txt"),
        ("04-edit/01-waiting", "write_file", "notes.txt"),
    ],
)
def test_the_waiting_snapshots_name_what_is_asked(step: str, tool: str, command: str) -> None:
    assert _inspect(step)["waiting_for"] == {"kind": "permission", "tool": tool, "command": command}


def test_the_input_box_is_recognised_on_every_screen_that_has_one() -> None:
    for pane in sorted(GOLDEN.glob("*/*.pane.txt")):
        drawn = "Type your message" in pane.read_text()
        assert shows_prompt(pane.read_text()) is drawn, pane


def test_the_transcript_records_prompts_answers_turns_and_usage() -> None:
    path = GOLDEN / "05-resume/02-resumed.transcript.jsonl"
    state = read_transcript(path.read_text().splitlines())
    assert [p.text for p in state.prompts] == [
        "RUN_SHELL touch probe.txt",
        "SLOW 20",
        "FAIL400",
        "WRITE_FILE notes.txt hello from the test",
    ]
    assert state.session_id == "6a1e0c2b-3f4d-4e5a-8b6c-7d8e9f0a1b2c"
    assert state.model == "gemini-2.5-flash"
    facts = state.usage_facts()
    assert facts["model"] == "gemini-2.5-flash"
    assert facts["tokens"]["input"] > 0 and facts["tokens"]["output"] > 0
    assert [(t.kind, t.title) for t in read_turns(path)] == [
        ("user", "RUN_SHELL touch probe.txt"),
        ("tool", "run_shell_command: touch probe.txt"),
        ("assistant", "done"),
        ("user", "SLOW 20"),
        ("user", "FAIL400"),
        (
            "assistant",
            'error: [API Error: {"error":{"code":400,"message":"stand-in failure '
            '(INVALID_ARGUMENT)","status":"INVALID_ARGUMENT"}}]',
        ),
        ("user", "WRITE_FILE notes.txt hello from the test"),
        ("tool", "write_file: notes.txt"),
    ]


def test_ao_tui_inspect_transcript_reads_a_capture() -> None:
    # The real CLI, as an operator runs it on a capture.
    step = GOLDEN / "02-interrupt" / "02-interrupted"
    done = ao(
        Path.cwd(),
        "inspect",
        "transcript",
        f"{step}.transcript.jsonl",
        "--hooks",
        f"{step}.hooks.jsonl",
        "--pane",
        f"{step}.pane.txt",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format"] == "gemini"
    assert (report["state"], report["detail"]) == ("idle", "interrupted by user")
