"""core.inert: third-party text made inert, operator text checked and cleaned."""

from __future__ import annotations

import json
import unicodedata

import pytest

from core import inert as inert_module
from core.inert import (
    clean,
    find_control,
    inert,
    inert_data,
    inert_json,
    inert_session,
    refusal,
)
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    Session,
    SessionPR,
    SignalSource,
    WaitingFor,
)
from tests.support.hostile_inputs import hostile, hostile_params

# Characters a terminal or an agent's input parser acts on: none may survive inert().
ACTIVE = {chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]} - {"\n", "\t"}


def expected_visible(code: int) -> bool:
    """What the module docstring promises to make visible, from unicodedata itself."""
    category = unicodedata.category(chr(code))
    return (
        (category == "Cc" and code not in (0x09, 0x0A))
        or category in ("Cs", "Zl", "Zp")
        or (category == "Cf" and code not in (0x200C, 0x200D))
        or 0xE0100 <= code <= 0xE01EF
    )


def test_the_written_out_character_list_matches_unicodedata() -> None:
    everything = "".join(map(chr, range(0x110000)))
    shown = {ord(ch) for ch in inert_module._SHOWN.findall(everything)}
    assert shown == {code for code in range(0x110000) if expected_visible(code)}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mFAILED\x1b[0m test", "FAILED test"),
        ("\x1b[1;38;2;255;0;0mred\x1b[m", "red"),
        ("ok\x1b[201~\rrm -rf ~\r", "ok^[[201~^Mrm -rf ~^M"),
        ("\u009b201~", "<U+009B>201~"),
        ("\x9b31mstill styled\x9bm", "still styled"),
        ("\x1b]52;c;aGk=\x07", "^[]52;c;aGk=^G"),
        ("NUL\x00 DEL\x7f BS\x08", "NUL^@ DEL^? BS^H"),
        ("windows\r\nlines\r\n", "windows\nlines\n"),
        ("lone\rcarriage return", "lone^Mcarriage return"),
        ("ends in ESC\x1b", "ends in ESC^["),
        # Removing the colour must not join an ESC to what follows it.
        ("\x1b\x1b[0m[201~", "^[[201~"),
        ("\u202eexe.txt", "<U+202E>exe.txt"),
        ("zero\u200bwidth\ufeff", "zero<U+200B>width<U+FEFF>"),
        ("\U000e0041", "<U+E0041>"),
        ("bad byte \udcff", "bad byte <U+DCFF>"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("family \U0001f468\u200d\U0001f469 \u0645\u06cc\u200c", None),
    ],
)
def test_inert_removes_colour_and_shows_every_other_control(raw: str, shown: str | None) -> None:
    assert inert(raw) == (raw if shown is None else shown)


def test_one_line_shows_newline_and_tab_too() -> None:
    assert inert("Fix login\n\tsecond", one_line=True) == "Fix login^J^Isecond"
    assert inert("a\r\nb", one_line=True) == "a^Jb"


@pytest.mark.parametrize("text", hostile_params("messages") + hostile_params("titles"))
def test_nothing_active_survives_inert_and_a_second_pass_changes_nothing(text: str) -> None:
    for one_line in (False, True):
        shown = inert(text, one_line=one_line)
        assert not ACTIVE & set(shown)
        assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in shown)
        assert inert(shown, one_line=one_line) == shown
        assert find_control(shown) is None
    assert "\n" not in inert(text, one_line=True)


@pytest.mark.parametrize("text", hostile_params("messages"))
def test_clean_leaves_text_the_check_accepts(text: str) -> None:
    cleaned = clean(text)
    assert find_control(cleaned) is None
    assert clean(cleaned) == cleaned
    if find_control(text) is None:
        assert cleaned == text  # nothing to clean: the operator's text is left alone
        assert refusal(text, "message", "x") is None
    else:
        reason = refusal(text, "message", "pass --clean to send the cleaned text")
        assert reason is not None and "\n" not in reason
        assert not ACTIVE & set(reason)


def test_the_refusal_names_the_character_line_column_and_byte_offset() -> None:
    text = "first line\nsecond\nabcdef\x1bghi"
    assert refusal(text, "message", "pass --clean to send the cleaned text") == (
        "message has control character 0x1b (ESC) at line 3, column 7 (byte offset 24); "
        "remove it or pass --clean to send the cleaned text"
    )
    # Columns count characters, byte offsets count UTF-8 bytes.
    found = find_control("héllo\x00")
    assert found is not None
    assert (found.line, found.column, found.offset) == (1, 6, 6)
    assert refusal("a\x00b\x7fc\u009b", "prompt") == (
        "prompt has 3 control characters; the first, 0x00 (NUL), is at line 1, column 2 "
        "(byte offset 1); remove them"
    )


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("x\r\ny", "control character 0x0d (CR, a Windows line ending)"),
        ("x\ry", "control character 0x0d (CR)"),
        ("\x7f", "control character 0x7f (DEL)"),
        ("\u009b", "control character U+009B (CSI)"),
        ("\u0085", "control character U+0085 (NEL)"),
        ("caf\udcc3", "invalid UTF-8 byte 0xc3"),
        ("\ud800", "lone surrogate U+D800 (not text)"),
    ],
)
def test_each_kind_of_character_is_named(text: str, described: str) -> None:
    found = find_control(text)
    assert found is not None
    assert found.describe() == described


def test_operator_text_keeps_its_own_bidi_marks_and_joiners() -> None:
    text = "\u05e9\u05dc\u05d5\u05dd \u200f and \U0001f468\u200d\U0001f469"
    assert find_control(text) is None
    assert clean(text) == text


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("line one\r\nline two\r\n", "line one\nline two\n"),
        ("old mac\rline", "old mac\nline"),
        ("\x1b[31mred\x1b[0m text", "red text"),
        ("copy \x1b]52;c;cm0gLXJmIH4K\x07done", "copy done"),
        ("copy \x1b]52;c;cm0gLXJmIH4K\x1b\\done", "copy done"),
        ("ok\x1b[201~\rtyped", "ok\ntyped"),
        ("8-bit \u009b201~ end", "8-bit  end"),
        ("nul\x00 del\x7f", "nul del"),
        ("caf\udcc3 \udcff", "caf\ufffd \ufffd"),
        ("split \x1b[20", "split 20"),
        ("lone ESC\x1b", "lone ESC"),
    ],
)
def test_clean_drops_sequences_and_controls_and_unifies_line_ends(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_inert_data_and_inert_session_return_the_same_object_when_nothing_changes() -> None:
    data = {"threads": [{"body": "fine", "line": 3}], "state": "open"}
    assert inert_data(data) is data
    changed = inert_data({"threads": [{"body": "bad\x1b[2J"}], "state": "open"})
    assert changed == {"threads": [{"body": "bad^[[2J"}], "state": "open"}
    session = Session(
        id="app-1",
        project="app",
        agent="shell",
        title="Fix login",
        prompt="p",
        branch="ao/app-1-fix-login",
        worktree="/w",
        tmux="ao-app-1",
        lifecycle=Lifecycle.RUNNING,
        activity=Activity(ActivityState.WAITING_INPUT, SignalSource.HOOK, 1.0, "Bash: ls"),
        created_at=1.0,
        updated_at=1.0,
        pr=SessionPR("ci_failed", blockers=("CI failing",)),
    )
    assert inert_session(session) is session
    hostile_session = Session(
        **{
            **session.__dict__,
            "title": "\x1b[2JFix\nlogin",
            "lifecycle_reason": "exited \u009b2J",
            "activity": Activity(
                ActivityState.WAITING_INPUT,
                SignalSource.HOOK,
                1.0,
                "Bash: echo \x1b]52;c;eA==\x07",
                WaitingFor("permission", "Bash", "echo \x1b[201~"),
            ),
            "pr": SessionPR("unknown", problem="host said \x1b[31mno\x1b[0m\x07"),
        }
    )
    shown = inert_session(hostile_session)
    assert shown.title == "^[[2JFix^Jlogin"
    assert shown.lifecycle_reason == "exited <U+009B>2J"
    assert shown.activity.detail == "Bash: echo ^[]52;c;eA==^G"
    assert shown.activity.waiting_for == WaitingFor("permission", "Bash", "echo ^[[201~")
    assert shown.pr == SessionPR("unknown", problem="host said no^G")
    assert (shown.id, shown.prompt, shown.branch) == (session.id, "p", session.branch)


@pytest.mark.parametrize("text", hostile_params("messages") + hostile_params("titles"))
def test_inert_json_keeps_the_data_and_writes_nothing_active(text: str) -> None:
    encoded = inert_json(json.dumps({"title": text, "n": [1, text]}, ensure_ascii=False))
    assert inert(encoded) == encoded
    assert json.loads(encoded) == {"title": text, "n": [1, text]}


def test_the_corpus_has_every_kind_of_attack_the_issue_names() -> None:
    names = {name for name, _ in hostile("messages")}
    assert {
        "paste-end",
        "paste-end-cr",
        "paste-end-split-1",
        "paste-end-split-2",
        "paste-end-c1",
        "paste-end-8bit",
        "osc52-bel",
        "clear-screen",
        "nul",
        "del",
        "cr",
        "lone-esc-at-end",
        "long-line",
        "invalid-utf8",
        "bidi-override",
        "zero-width",
    } <= names
