"""Pane patterns, checked against golden captures of the real Claude Code 2.1.197."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.activity.pane import generic_pane_signal
from core.models import ActivityState, SignalSource, WaitingFor
from plugins.agent.claude_code.screen import claude_pane_signal, permission_prompt

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "claude" / "real-2.1.197"
NOW = 1_800_000_000.0
WAITING = ActivityState.WAITING_INPUT


def _screen(name: str) -> str:
    return (REAL / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "state", "detail"),
    [
        ("pane-permission-bash.txt", WAITING, "permission: Bash: touch probe-file.txt"),
        ("pane-permission-write.txt", WAITING, "permission: Write: new.txt"),
        ("pane-busy-spinner.txt", ActivityState.WORKING, "busy"),
        ("pane-busy-queued.txt", ActivityState.WORKING, "message queued"),
        # Busy-looking, but it makes no progress: its own state (issue 9 item 8).
        ("pane-busy-api-retrying.txt", ActivityState.RETRYING, "retrying after API error 1/3"),
        ("pane-interrupted.txt", ActivityState.IDLE, "interrupted by user"),
        ("pane-permission-escaped.txt", ActivityState.IDLE, "interrupted by user"),
        ("pane-idle-after-tool.txt", ActivityState.IDLE, "waiting for a prompt"),
        # An "Interrupted" line from an earlier turn is still on screen: not this turn's state.
        ("pane-idle-after-queued-turn.txt", ActivityState.IDLE, "waiting for a prompt"),
        ("pane-idle-write-rejected.txt", ActivityState.IDLE, "waiting for a prompt"),
    ],
)
def test_real_claude_panes(name: str, state: ActivityState, detail: str) -> None:
    signal = claude_pane_signal(_screen(name), NOW)
    assert signal is not None
    assert (signal.state, signal.detail) == (state, detail)
    assert signal.source is SignalSource.PANE
    assert signal.at == NOW


def test_real_api_error_is_an_error() -> None:
    signal = claude_pane_signal(_screen("pane-api-error-final.txt"), NOW)
    assert signal is not None
    assert signal.state is ActivityState.ERROR
    assert signal.detail.startswith("API Error: 500 Internal server error")


def test_permission_prompt_extracts_tool_and_command() -> None:
    assert permission_prompt(_screen("pane-permission-bash.txt")) == WaitingFor(
        "permission", "Bash", "touch probe-file.txt"
    )
    waiting = claude_pane_signal(_screen("pane-permission-write.txt"), NOW)
    assert waiting is not None
    assert waiting.waiting_for == WaitingFor("permission", "Write", "new.txt")


def test_no_permission_prompt_on_other_screens() -> None:
    for path in REAL.glob("pane-*.txt"):
        if "permission-bash" in path.name or "permission-write" in path.name:
            continue
        assert permission_prompt(path.read_text(encoding="utf-8")) is None, path.name


def test_question_without_a_menu_is_not_a_prompt() -> None:
    """A transcript line quoting the question must not look like a live dialog."""
    screen = "● I will ask: Do you want to proceed?\n\n\u276f \n  ? for shortcuts\n"
    assert permission_prompt(screen) is None


def test_unknown_screen_says_nothing() -> None:
    assert claude_pane_signal("", NOW) is None
    assert claude_pane_signal("some compiler output\nmore output\n", NOW) is None


# -- generic patterns (shell commands, Aider): hand-written screens ------------------------


def test_aider_yes_no_question_is_waiting() -> None:
    screen = "Aider v0.86.1\n> Add .aider* to .gitignore (recommended)? (Y)es/(N)o [Yes]: \n"
    signal = generic_pane_signal(screen, NOW)
    assert signal is not None
    assert signal.state is ActivityState.WAITING_INPUT
    assert signal.waiting_for is not None and signal.waiting_for.kind == "confirm"


@pytest.mark.parametrize("last", ["user@box:~/repo$ ", "root@box:/# ", "> ", "architect> ", "% "])
def test_prompt_like_last_line_is_idle(last: str) -> None:
    signal = generic_pane_signal(f"output\n{last}\n\n", NOW)
    assert signal is not None and signal.state is ActivityState.IDLE


@pytest.mark.parametrize("last", ["</div>", "compiling foo v0.1", "a -> b", ""])
def test_other_last_lines_say_nothing(last: str) -> None:
    assert generic_pane_signal(f"output\n{last}\n", NOW) is None


# -- captures recorded by the real-agent fixture run (tests/fixtures/claude-2.1.197/) --------

CAPTURED = Path(__file__).resolve().parent.parent / "fixtures" / "claude-2.1.197"
WORKING, IDLE, ERROR = ActivityState.WORKING, ActivityState.IDLE, ActivityState.ERROR
RECORDED: dict[str, ActivityState | None] = {
    "01-simple-idle/01-idle": IDLE,
    "01-simple-idle/02-idle-notified": IDLE,
    "01-simple-idle/03-killed-by-tmux": None,  # empty screen: nothing to say
    "02-permission/01-waiting": WAITING,
    "02-permission/02-waiting-notified": WAITING,
    "02-permission/03-tool-running": WORKING,
    "02-permission/04-idle": IDLE,
    "03-interrupt/01-streaming": WORKING,
    "03-interrupt/02-interrupted": IDLE,
    "03b-interrupt-before-first-token/01-waiting-first-token": WORKING,
    "03b-interrupt-before-first-token/02-escaped": IDLE,  # the prompt is back in the input box
    "04-api-500-default-retries/01-retrying": ActivityState.RETRYING,
    "04-api-500-default-retries/02-gave-up": ERROR,
    "04b-api-500-max-retries-2/01-gave-up": ERROR,
    "04c-api-429-max-retries-2/01-gave-up": ERROR,
    "04d-api-timeout-ms/01-gave-up": ERROR,
    "05-second-message/01-pasted-before-enter": IDLE,
    "05-second-message/02-second-answered": IDLE,
    "05-second-message/03-multiline-pasted-before-enter": IDLE,
    "05-second-message/04-multiline-answered": IDLE,
    "05-second-message/05-queued": WORKING,
    "05-second-message/06-queue-drained": IDLE,
    "06-killed/01-waiting": WAITING,
    "06-killed/02-killed": WAITING,  # the dead pane keeps its last screen; the runtime says exited
}
"""What each recorded screen shows (checked by eye against the capture and its timeline)."""
LABEL_STATES = (
    ("permission", WAITING),
    ("interrupt", IDLE),
    ("gave-up", ERROR),
    ("error", ERROR),
    ("queued", WORKING),
    ("retry", WORKING),
    ("running", WORKING),
    ("streaming", WORKING),
    ("idle", IDLE),
)
"""For captures recorded after this table was written: what a label promises, first match."""


def expected_state(path: Path) -> tuple[bool, ActivityState | None]:
    """(known, state) for a recorded capture: from the table, else from its label."""
    key = f"{path.parent.name}/{path.name.removesuffix('.pane.txt')}"
    if key in RECORDED:
        return True, RECORDED[key]
    label = path.name.split(".", 1)[0].lower()
    state = next((state for word, state in LABEL_STATES if word in label), None)
    return state is not None, state


@pytest.mark.parametrize(
    "path", sorted(CAPTURED.glob("*/*.pane.txt")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_recorded_claude_panes(path: Path) -> None:
    signal = claude_pane_signal(path.read_text(encoding="utf-8"), NOW)
    known, expected = expected_state(path)
    if not known:
        return  # a label we cannot map: reading it without error is all we can check
    assert (signal.state if signal else None) is expected, f"{path.name}: {signal}"


def test_recorded_permission_prompt_details() -> None:
    path = CAPTURED / "02-permission" / "01-waiting.pane.txt"
    if not path.exists():
        pytest.skip("recorded captures not present")
    waiting = permission_prompt(path.read_text(encoding="utf-8"))
    assert waiting is not None
    assert waiting.tool == "Bash"
    assert waiting.command.startswith("sleep 3 && touch ")
