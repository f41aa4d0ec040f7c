"""Every plain-text CLI output of a title or other third-party text is inert.

The CLI runs as a real process; sessions are written straight into the real state
database with the raw hostile titles of tests/fixtures/hostile/titles/ (as an older
version, or an issue title before titles were neutralised, left them). Output counts as
inert when :func:`core.inert.inert` would leave it unchanged: no escape, no control
character but newline, no C1 control, no invisible formatting character.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ao_tui.cli import fail
from core.inert import inert
from core.locations import Locations
from core.models import Activity, ActivityState, Lifecycle, Session, SignalSource
from core.store import Store
from tests.conftest import run_git
from tests.support.engine import ao, make_engine, wait_for, write_config
from tests.support.hostile_inputs import hostile

TITLES = hostile("titles")
AGENT = f"{sys.executable} -c 'import time; time.sleep(600)'"


def assert_inert(text: str) -> None:
    """``text`` holds nothing a terminal would act on or that hides text."""
    assert inert(text) == text, [ch for ch in text if inert(ch) != ch]


def raw_session(number: int, title: str) -> Session:
    """A stopped session as an older ao-tui would have stored it, title and all."""
    activity = Activity(ActivityState.EXITED, SignalSource.RUNTIME, 1.0, "exited \x1b[2J")
    return Session(
        id=f"app-{number}",
        project="app",
        agent="shell",
        title=title,
        prompt="p",
        branch=f"ao/app-{number}-x",
        worktree=f"/nonexistent/app-{number}",
        tmux=f"ao-app-{number}",
        lifecycle=Lifecycle.KILLED,
        activity=activity,
        created_at=1.0,
        updated_at=1.0,
    )


@pytest.fixture
def store() -> Store:
    locations = Locations.from_env()
    locations.ensure()
    store = Store(locations.database)
    for number, (_, title) in enumerate(TITLES, start=1):
        store.insert_session(raw_session(number, title), event=("spawned", {"title": title}))
    return store


def test_status_and_ls_show_raw_stored_titles_inert(
    store: Store, tmp_path: Path, git_repo: Path
) -> None:
    config = write_config(tmp_path, git_repo, command=AGENT)
    for args in (["ls"], ["--config", str(config), "status"]):
        result = ao(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert_inert(result.stdout)
        assert "^[[2J^[[3J^[[HFix login" in result.stdout
        assert "Fix <U+202E>nigol<U+202C>" in result.stdout
        assert "Fix login^Jsecond line" in result.stdout
        assert len(result.stdout.splitlines()) == len(TITLES) + 1  # one row per session
    # JSON keeps the data as it is, spelled so that no byte of it acts on a terminal.
    as_json = ao(tmp_path, "ls", "--json")
    assert_inert(as_json.stdout)
    assert [s["title"] for s in json.loads(as_json.stdout)] == [title for _, title in TITLES]


def test_events_plain_output_is_inert(store: Store, tmp_path: Path, git_repo: Path) -> None:
    store.append_event(
        "app-1", "message", {"preview": "hi \u009b2J \x7f \u202e \x1b]52;c;eA==\x07"}
    )
    config = write_config(tmp_path, git_repo, command=AGENT)
    result = ao(tmp_path, "--config", str(config), "events")
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout)
    assert "hi <U+009B>2J ^? <U+202E>" in result.stdout


def test_issues_listing_and_spawn_on_a_hostile_task_are_inert(
    tmp_path: Path, git_repo: Path
) -> None:
    (git_repo / "TASKS.md").write_bytes(
        b"## 12. Fix \x1b[2Jlogin\xc2\x9b \xe2\x80\xae\x1b]52;c;eA==\x07\nIt \x1b[201~\rfails.\n"
    )
    run_git(git_repo, "add", "TASKS.md")
    run_git(git_repo, "commit", "-qm", "tasks")
    config = write_config(
        tmp_path, git_repo, command=AGENT, extra_project_yaml="    tracker: local\n"
    )
    listed = ao(tmp_path, "--config", str(config), "issues")
    assert listed.returncode == 0, listed.stderr
    assert_inert(listed.stdout)
    assert "Fix ^[[2Jlogin<U+009B> <U+202E>^[]52;c;eA==^G" in listed.stdout
    spawned = ao(tmp_path, "--config", str(config), "spawn", "--issue", "12")
    assert spawned.returncode == 0, spawned.stderr
    assert_inert(spawned.stdout)
    status = ao(tmp_path, "--config", str(config), "status")
    assert_inert(status.stdout)
    assert "#12 Fix ^[[2Jlogin" in status.stdout
    session = make_engine(config).get("app-1")
    # (The task file's parser takes a lone CR as a line end, as str.splitlines does.)
    assert session.prompt.endswith("\n\nIt ^[[201~\nfails.")
    assert "<U+009B> <U+202E>^[]52;c;eA==^G" in session.title


CI_SCRIPT = """\
import sys
sys.stdout.write("collecting\\n\\x1b[31mFAILED\\x1b[0m test_login\\x1b[201~\\rtouch PWNED\\n")
sys.stdout.write("\\x1b]52;c;cm0gLXJmIH4K\\x07 \\u009b2J \\u202e done\\n")
sys.exit(1)
"""


def test_ci_output_shows_the_log_escapes_instead_of_passing_them_on(
    tmp_path: Path, git_repo: Path
) -> None:
    (git_repo / "check.py").write_text(CI_SCRIPT)
    run_git(git_repo, "add", "check.py")
    run_git(git_repo, "commit", "-qm", "ci")
    config = write_config(
        tmp_path,
        git_repo,
        command=AGENT,
        extra_project_yaml=f"    ci:\n      command: '{sys.executable} check.py'\n",
    )
    engine = make_engine(config)
    session = engine.spawn("app", "make CI fail")
    worktree = Path(session.worktree)
    (worktree / "feature.py").write_text("x = 1\n")
    run_git(worktree, "add", "feature.py")
    run_git(worktree, "commit", "-qm", "work")

    def finished() -> bool:
        engine.reconcile()
        return (pr := engine.get(session.id).pr) is not None and pr.ci == "failing"

    wait_for(finished, timeout=60, interval=0.2)
    result = ao(tmp_path, "--config", str(config), "ci", session.id)
    assert result.returncode == 0, result.stderr
    assert_inert(result.stdout)
    assert "    FAILED test_login^[[201~\n" in result.stdout  # (the excerpt splits at CR)
    assert "^[]52;c;cm0gLXJmIH4K^G <U+009B>2J <U+202E> done" in result.stdout


def test_an_error_line_quoting_third_party_text_is_inert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        fail("GitHub said: \x1b]52;c;eA==\x07 \u009b2J")
    assert exited.value.code == 1
    assert capsys.readouterr().err == "ao-tui: GitHub said: ^[]52;c;eA==^G <U+009B>2J\n"


def test_inspect_transcript_shows_a_hostile_command_inert(tmp_path: Path) -> None:
    command = {"command": "echo \x1b]52;c;eA==\x07 \u009b2J"}
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": command}
    lines = [
        {"type": "user", "message": {"role": "user", "content": "do it"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [call]}},
    ]
    for second, line in enumerate(lines):
        line["timestamp"] = f"2025-01-01T00:00:0{second}Z"
    transcript = tmp_path / "t.jsonl"
    transcript.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = ao(tmp_path, "inspect", "transcript", str(transcript))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "working (from transcript) Bash: echo ^[]52;c;eA==^G <U+009B>2J\n"


def read_all(fd: int) -> bytes:
    """Everything written to the master side of a pty until the writer closed it."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_diff_on_a_terminal_shows_escapes_and_piped_passes_bytes_on(
    tmp_path: Path, git_repo: Path
) -> None:
    config = write_config(tmp_path, git_repo, command=AGENT)
    session = make_engine(config).spawn("app", "write a hostile file")
    worktree = Path(session.worktree)
    (worktree / "notes.txt").write_bytes(b"see \x1b]52;c;cm0gLXJmIH4K\x07 and \x1b[2J\n")
    run_git(worktree, "add", "notes.txt")
    run_git(worktree, "commit", "-qm", "notes")
    args = [sys.executable, "-m", "ao_tui", "--config", str(config), "diff", session.id]
    # A real terminal (a pty) on the CLI's stdout, as when the operator runs it.
    master, slave = pty.openpty()
    proc = subprocess.run(args, cwd=tmp_path, stdout=slave, stderr=subprocess.PIPE, check=False)
    os.close(slave)
    shown = read_all(master).decode()
    os.close(master)
    assert proc.returncode == 0, proc.stderr
    assert "+see ^[]52;c;cm0gLXJmIH4K^G and ^[[2J" in shown
    assert "\x1b" not in shown
    piped = ao(tmp_path, "--config", str(config), "diff", session.id)
    assert "+see \x1b]52;c;cm0gLXJmIH4K\x07 and \x1b[2J\n" in piped.stdout  # byte for byte
