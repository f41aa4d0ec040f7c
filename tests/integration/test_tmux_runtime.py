"""The tmux runtime against a real tmux server on the test's private socket.

Nothing here is mocked: sessions, dead panes, server deaths and pastes all happen in tmux,
and pasted bytes are read back by a small program running in the pane.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from core.slots import PaneInfo, Runtime, SlotError
from plugins.runtime import TmuxRuntime

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary"),
]

T = TypeVar("T")

# Puts its terminal in raw mode (no line editing, no signals, no echo, no CR/LF mapping), so
# every byte tmux writes reaches the output file untouched; optionally asks for bracketed
# paste first. It prints READY only after that request, and tmux handles pane output in
# order, so READY on screen proves tmux has seen the request.
READER = """\
import os, sys, tty
out, bracketed = sys.argv[1], sys.argv[2] == "1"
tty.setraw(0)
if bracketed:
    os.write(1, b"\\x1b[?2004h")
os.write(1, b"READY")
with open(out, "wb", buffering=0) as fh:
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        fh.write(chunk)
"""

# Records the argv and working directory it was started with.
ARGV_DUMPER = """\
import json, os, sys
with open(sys.argv[1] + ".part", "w", encoding="utf-8") as fh:
    json.dump({"argv": sys.argv[2:], "cwd": os.getcwd()}, fh)
os.replace(sys.argv[1] + ".part", sys.argv[1])
"""

HOSTILE = (
    "it's \"quoted\" 'single' ; $(touch PWNED) `touch PWNED` C-c Enter \\n literal\n"
    "real newline\tand a tab; && touch PWNED || true ;\n"
    "tmux command? \\; run-shell 'touch PWNED' ; kill-server ;\n"
    "#{pane_id} ~ $HOME %1 \\ emoji 😀🚀 ünïcödé ;"
)


def retry_until(probe: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(0.02)


def tmux(*args: str) -> str:
    """Query the test's own tmux server directly, bypassing the runtime under test."""
    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    proc = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=True)
    return proc.stdout


@pytest.fixture
def runtime() -> TmuxRuntime:
    """A runtime on the conftest's private socket."""
    return TmuxRuntime()


def start_reader(
    runtime: TmuxRuntime, tmp_path: Path, name: str, *, bracketed: bool
) -> tuple[PaneInfo, Path]:
    """Start the raw-mode reader in a new session; return its pane and output file."""
    script = tmp_path / "reader.py"
    script.write_text(READER)
    out = tmp_path / f"{name}.bin"
    pane = runtime.create(
        name, tmp_path, [sys.executable, str(script), str(out), "1" if bracketed else "0"]
    )
    retry_until(lambda: screen_with(runtime, pane.pane_id, "READY"))
    return pane, out


def received(out: Path, size: int) -> bytes:
    """The reader's output once it holds at least ``size`` bytes."""
    return retry_until(
        lambda: out.read_bytes() if out.exists() and out.stat().st_size >= size else None
    )


def dead_pane(runtime: TmuxRuntime, name: str, *, with_status: bool) -> PaneInfo | None:
    """Session ``name``'s pane once it is dead (and has its exit status, if asked)."""
    pane = runtime.list_panes().get(name)
    if pane is None or not pane.dead or (with_status and pane.dead_status is None):
        return None
    return pane


def screen_with(runtime: TmuxRuntime, pane_id: str, marker: str) -> str | None:
    """The pane's screen once ``marker`` shows on it."""
    screen = runtime.capture(pane_id)
    return screen if marker in screen else None


def test_satisfies_the_runtime_protocol(runtime: TmuxRuntime) -> None:
    assert isinstance(runtime, Runtime)
    assert runtime.name == "tmux"


def test_no_server_lists_nothing(runtime: TmuxRuntime) -> None:
    assert runtime.has_server() is False
    assert runtime.list_panes() == {}
    runtime.kill("ao-missing")  # no server: still not an error
    runtime.kill_server()


def test_a_server_with_no_session_left_lists_nothing(runtime: TmuxRuntime, tmp_path: Path) -> None:
    """Between its last session ending and its exit, a server answers ``list-panes -a``
    with "no current target": that is an empty list, not an error."""
    runtime.create("ao-last", tmp_path, ["sleep", "60"])
    runtime._run("set-option", "-g", "exit-empty", "off")  # hold that moment open
    runtime.kill("ao-last")
    assert runtime.has_server() is True
    assert runtime.list_panes() == {}
    runtime.kill_server()


def test_create_list_kill(runtime: TmuxRuntime, tmp_path: Path) -> None:
    pane = runtime.create("ao-t-1", tmp_path, ["sleep", "60"], width=90, height=20)
    assert pane.session_name == "ao-t-1"
    assert pane.pane_id.startswith("%")
    assert not pane.dead

    panes = runtime.list_panes()
    assert set(panes) == {"ao-t-1"}
    listed = panes["ao-t-1"]
    assert (listed.pane_id, listed.pane_pid) == (pane.pane_id, pane.pane_pid)
    assert listed.current_command == "sleep"
    assert listed.dead is False and listed.dead_status is None
    assert tmux("display-message", "-p", "-t", pane.pane_id, "#{pane_width}x#{pane_height}") == (
        "90x20\n"
    )
    assert runtime.has_server()

    runtime.kill("ao-t-1")
    assert "ao-t-1" not in runtime.list_panes()
    runtime.kill("ao-t-1")  # already gone: not an error


def test_kill_targets_the_exact_session_only(runtime: TmuxRuntime, tmp_path: Path) -> None:
    runtime.create("ao-t-10", tmp_path, ["sleep", "60"])
    runtime.kill("ao-t-1")  # tmux would match "ao-t-1" as a prefix of "ao-t-10"
    assert "ao-t-10" in runtime.list_panes()


def test_duplicate_name_refused_and_original_untouched(
    runtime: TmuxRuntime, tmp_path: Path
) -> None:
    first = runtime.create("ao-dup", tmp_path, ["sleep", "60"])
    with pytest.raises(SlotError, match="already exists"):
        runtime.create("ao-dup", tmp_path, ["sleep", "61"])
    now = runtime.list_panes()["ao-dup"]
    assert (now.pane_pid, now.dead) == (first.pane_pid, False)


def test_instant_exit_leaves_a_dead_pane_with_its_status(
    runtime: TmuxRuntime, tmp_path: Path
) -> None:
    runtime.create("ao-exit", tmp_path, [sys.executable, "-c", "raise SystemExit(3)"])
    pane = retry_until(lambda: dead_pane(runtime, "ao-exit", with_status=True))
    assert pane.dead is True
    assert pane.dead_status == 3


def test_every_exit_status_is_reported(runtime: TmuxRuntime, tmp_path: Path) -> None:
    """tmux 3.3a loses the SIGCHLD of a good share of panes; the runtime must recover them."""
    for status in range(6):
        runtime.create(f"ao-st-{status}", tmp_path, ["sh", "-c", f"sleep 0.1; exit {status}"])

    def statuses() -> dict[str, int | None] | None:
        seen = {name: p.dead_status for name, p in runtime.list_panes().items()}
        return seen if all(p is not None for p in seen.values()) else None

    assert retry_until(statuses) == {f"ao-st-{status}": status for status in range(6)}


def test_sigkilled_process_leaves_a_dead_pane(runtime: TmuxRuntime, tmp_path: Path) -> None:
    pane = runtime.create("ao-k9", tmp_path, ["sleep", "60"])
    os.kill(pane.pane_pid, signal.SIGKILL)
    dead = retry_until(lambda: dead_pane(runtime, "ao-k9", with_status=False))
    assert dead.pane_id == pane.pane_id
    assert dead.dead_status is None  # tmux records no exit status for a signal death


def test_server_death_under_live_sessions(runtime: TmuxRuntime, tmp_path: Path) -> None:
    runtime.create("ao-s-1", tmp_path, ["sleep", "60"])
    runtime.create("ao-s-2", tmp_path, ["sleep", "60"])
    assert set(runtime.list_panes()) == {"ao-s-1", "ao-s-2"}
    runtime.kill_server()
    assert runtime.list_panes() == {}
    assert runtime.has_server() is False
    runtime.kill("ao-s-1")


def test_argv_and_cwd_reach_the_process_verbatim(runtime: TmuxRuntime, tmp_path: Path) -> None:
    """tmux re-parses argv (trailing ';') and format-expands the start directory ('#')."""
    script = tmp_path / "dump.py"
    script.write_text(ARGV_DUMPER)
    cwd = tmp_path / "odd #{pane_id} ## dir;"
    cwd.mkdir()
    out = tmp_path / "argv.json"
    args = ["ends;", ";", "a\\;", "#{pane_id}", "$(touch PWNED)", "", "two words", "-x", "😀"]
    runtime.create("ao-argv", cwd, [sys.executable, str(script), str(out), *args])
    seen = json.loads(retry_until(lambda: out.read_text() if out.exists() else None))
    assert seen == {"argv": args, "cwd": str(cwd)}
    assert not (cwd / "PWNED").exists()


def test_one_element_argv_refused(runtime: TmuxRuntime, tmp_path: Path) -> None:
    with pytest.raises(SlotError, match="at least two"):
        runtime.create("ao-sh", tmp_path, ["touch PWNED"])
    assert runtime.list_panes() == {}


def test_missing_cwd_refused(runtime: TmuxRuntime, tmp_path: Path) -> None:
    with pytest.raises(SlotError, match="no such directory"):
        runtime.create("ao-cwd", tmp_path / "gone", ["sleep", "60"])


@pytest.mark.parametrize(
    "name", ["", "../x", "/", "a/b", "a b", " a", "a.b", "a:b", "a\tb", "a;", "#{pane_id}", "é"]
)
def test_hostile_session_names_refused(runtime: TmuxRuntime, tmp_path: Path, name: str) -> None:
    with pytest.raises(SlotError, match="invalid tmux session name"):
        runtime.create(name, tmp_path, ["sleep", "60"])
    with pytest.raises(SlotError):
        runtime.kill(name)
    with pytest.raises(SlotError):
        runtime.attach_argv(name, inside_tmux=False)
    assert runtime.list_panes() == {}


def test_default_server_refused_under_pytest() -> None:
    with pytest.raises(SlotError, match="default tmux server"):
        TmuxRuntime(environ={"PATH": os.environ.get("PATH", "")})
    with pytest.raises(SlotError, match="default tmux server"):
        TmuxRuntime(environ={})
    assert TmuxRuntime("explicit", environ={}).socket_name == "explicit"
    assert TmuxRuntime().socket_name == os.environ["AO_TUI_TMUX_SOCKET"]


def test_default_server_allowed_outside_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    runtime = TmuxRuntime(environ={"PATH": os.environ.get("PATH", "")})
    assert runtime.socket_name is None
    # Only the argv is built; nothing here talks to a tmux server.
    assert runtime.attach_argv("ao-1", inside_tmux=False) == [
        "tmux",
        "attach-session",
        "-t",
        "=ao-1",
    ]


def test_works_from_inside_another_tmux(tmp_path: Path) -> None:
    """An operator's own TMUX/TMUX_PANE must not leak into the tmux calls."""
    inside = {**os.environ, "TMUX": "/nonexistent/default,1,0", "TMUX_PANE": "%9"}
    runtime = TmuxRuntime(environ=inside)
    pane = runtime.create("ao-nested", tmp_path, ["sleep", "60"])
    assert runtime.list_panes()["ao-nested"].pane_id == pane.pane_id


def test_bad_socket_name_refused() -> None:
    for bad in ("../elsewhere", "..", "a/b", "-x"):
        with pytest.raises(SlotError, match="socket name"):
            TmuxRuntime(bad)


def test_attach_argv(runtime: TmuxRuntime) -> None:
    socket = os.environ["AO_TUI_TMUX_SOCKET"]
    assert runtime.attach_argv("ao-1", inside_tmux=False) == [
        "tmux", "-L", socket, "attach-session", "-t", "=ao-1",
    ]  # fmt: skip
    assert runtime.attach_argv("ao-1", inside_tmux=True) == [
        "tmux", "-L", socket, "switch-client", "-t", "=ao-1",
    ]  # fmt: skip


def test_capture_plain_and_ansi(runtime: TmuxRuntime, tmp_path: Path) -> None:
    program = "print('\\x1b[31mRED-MARK\\x1b[0m', flush=True); import time; time.sleep(60)"
    pane = runtime.create("ao-cap", tmp_path, [sys.executable, "-c", program])
    plain = retry_until(lambda: screen_with(runtime, pane.pane_id, "RED-MARK"))
    assert "\x1b[" not in plain
    assert "\x1b[31mRED-MARK" in runtime.capture(pane.pane_id, ansi=True)
    with pytest.raises(SlotError):
        runtime.capture("%999")


def test_hostile_text_pastes_byte_for_byte_into_bracketed_paste(
    runtime: TmuxRuntime, tmp_path: Path
) -> None:
    pane, out = start_reader(runtime, tmp_path, "ao-paste", bracketed=True)
    runtime.paste(pane.pane_id, HOSTILE)
    expected = b"\x1b[200~" + HOSTILE.encode() + b"\x1b[201~"
    assert received(out, len(expected)) == expected
    assert not (tmp_path / "PWNED").exists()
    assert runtime.list_panes()["ao-paste"].dead is False  # no C-c, no kill-server
    assert "ao-tui-" not in tmux("list-buffers", "-F", "#{buffer_name}")


def test_large_paste_arrives_whole_without_brackets(runtime: TmuxRuntime, tmp_path: Path) -> None:
    """A program that never asked for bracketed paste gets the raw text, 100 KB and all."""
    pane, out = start_reader(runtime, tmp_path, "ao-big", bracketed=False)
    text = "".join(f"line {i}: {HOSTILE}\n" for i in range(500))[:100_000] + "end 😀;"
    assert len(text.encode()) > 100_000
    runtime.paste(pane.pane_id, text)
    assert received(out, len(text.encode())) == text.encode()
    assert not (tmp_path / "PWNED").exists()


def test_paste_leaves_copy_mode_first(runtime: TmuxRuntime, tmp_path: Path) -> None:
    pane, out = start_reader(runtime, tmp_path, "ao-copy", bracketed=False)
    tmux("copy-mode", "-t", pane.pane_id)
    assert tmux("display-message", "-p", "-t", pane.pane_id, "#{pane_in_mode}") == "1\n"
    runtime.paste(pane.pane_id, "after copy mode;")
    assert tmux("display-message", "-p", "-t", pane.pane_id, "#{pane_in_mode}") == "0\n"
    runtime.send_keys(pane.pane_id, "Enter")  # copy mode would have taken this one
    assert received(out, 17) == b"after copy mode;\r"


def test_empty_paste_is_a_no_op(runtime: TmuxRuntime, tmp_path: Path) -> None:
    pane, out = start_reader(runtime, tmp_path, "ao-empty", bracketed=True)
    runtime.paste(pane.pane_id, "")
    runtime.paste(pane.pane_id, "x")
    assert received(out, 13) == b"\x1b[200~x\x1b[201~"


def test_paste_into_missing_pane_fails_cleanly(runtime: TmuxRuntime, tmp_path: Path) -> None:
    runtime.create("ao-keep", tmp_path, ["sleep", "60"])
    with pytest.raises(SlotError):
        runtime.paste("%999", "text")
    assert "ao-tui-" not in tmux("list-buffers", "-F", "#{buffer_name}")


def test_send_keys_presses_named_keys(runtime: TmuxRuntime, tmp_path: Path) -> None:
    pane, out = start_reader(runtime, tmp_path, "ao-keys", bracketed=False)
    runtime.send_keys(pane.pane_id, "1", "Enter", "C-c", "Escape")
    assert received(out, 4) == b"1\r\x03\x1b"
