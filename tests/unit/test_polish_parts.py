"""The small pure parts behind the first-minutes polish, fed odd and hostile input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ao_tui.screens.detail import event_time, pr_rows
from ao_tui.widgets.footer import fit_keys
from core.ci_events import ci_failed_data
from core.inert import inert
from core.models import CiState, ReviewThread, SessionPR
from core.scm import CheckRun, PRInfo
from plugins.runtime.tmux import popup_argv, restore_size_commands, same_server


@pytest.mark.parametrize(
    ("widths", "essential", "room", "fits"),
    [
        ([9, 7, 6], 14, 80, 3),  # everything fits: no …
        ([9, 7, 6], 14, 36, 3),  # exactly
        ([9, 7, 6], 14, 35, 2),  # one too many: the last goes, … takes its place
        ([30, 2, 2], 14, 40, 0),  # keys keep their order: none skips ahead of a wide one
        ([9, 7], 14, 10, 0),  # narrower than the essentials alone: they still come last
        ([], 14, 80, 0),
    ],
)
def test_the_footer_cuts_from_the_end_of_the_other_keys(
    widths: list[int], essential: int, room: int, fits: int
) -> None:
    assert fit_keys(widths, essential, room) == fits


def test_same_server_compares_real_socket_paths(tmp_path: Path) -> None:
    socket = tmp_path / "ao"
    socket.write_text("")
    link = tmp_path / "link"
    link.symlink_to(socket)
    assert same_server(f"{socket},123,0", str(socket))
    assert same_server(f"{link},1,2", str(socket))  # the same socket by another path
    assert not same_server(f"{tmp_path / 'default'},123,0", str(socket))
    for garbage in ("", ",,,", ",123,0"):
        assert not same_server(garbage, str(socket))


def test_the_popup_runs_the_attach_as_argv_and_names_the_way_back() -> None:
    argv = popup_argv("/tmp/tmux 1000/my#sock", "ao-app-1")
    # tmux runs a multi-argument command without a shell: the odd path stays one argument.
    tail = argv[argv.index("--") + 1 :]
    assert tail == ["tmux", "-S", "/tmp/tmux 1000/my#sock", "attach-session", "-t", "=ao-app-1"]
    assert argv[:3] == ["tmux", "display-popup", "-E"]
    assert "prefix d comes back" in argv[argv.index("-T") + 1]


def test_restore_size_commands_pin_nothing() -> None:
    commands = restore_size_commands("ao-a+b=c@d", "200x50")
    assert commands == [
        "resize-window", "-t", "=ao-a+b=c@d:", "-x", "200", "-y", "50", ";",
        "set-option", "-wu", "-t", "=ao-a+b=c@d:", "window-size",
    ]  # fmt: skip


def test_info_pr_rows_show_every_fact_and_leave_hostile_text_to_inert() -> None:
    thread = ReviewThread(path="a.py", line=None, author="", body="")
    rows = dict(
        pr_rows(
            SessionPR(
                "ci_failed",
                number=7,
                url="https://x\x1b[2J",
                blockers=("CI failing",),
                conflicts=("a.py", "b.py"),
                threads=(thread, thread),
                problem="rate limited \u202e",
                ahead=3,
            )
        )
    )
    assert rows["pull request"] == "#7 https://x\x1b[2J"  # made inert when shown
    assert rows["blockers"] == "• CI failing"
    assert rows["conflicts"] == "• a.py\n• b.py"
    assert rows["head"] == "? · 3 ahead, 0 behind the base"
    assert rows["review threads"] == "2 unresolved (Review tab)"
    assert "notes" not in rows
    assert "\x1b" not in inert(rows["pull request"]) and "\u202e" not in inert(rows["host problem"])
    assert dict(pr_rows(None)) == {"pull request": "- (no commits ahead of the base yet)"}


def test_event_times_are_local_times_of_day_then_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        now = 1_767_225_600.0  # 2026-01-01 00:00 UTC
        assert event_time(now - 60, now) == "23:59:00"
        assert event_time(now - 25 * 3600, now) == "Dec 30 23:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def _pr(ci: CiState, head: str, checks: tuple[CheckRun, ...] = ()) -> PRInfo:
    return PRInfo(head_sha=head, base_sha="b" * 40, ahead=1, behind=0, ci=ci, checks=checks)


def test_ci_failed_is_new_only_for_a_new_failing_run() -> None:
    failing = CheckRun("pytest", "failing", "h1", excerpt="E  assert 1 == 2\n" * 3)
    passing = CheckRun("ruff", "passing", "h1")
    pr = _pr("failing", "h1", (failing, passing))
    data = ci_failed_data(SessionPR("ci_running", ci="running", head_sha="h1"), pr)
    assert data is not None
    assert data["head_sha"] == "h1"
    assert [c["name"] for c in data["checks"]] == ["pytest"]  # the passing one is not named
    assert data["checks"][0]["excerpt_chars"] > 0
    assert ci_failed_data(None, pr) is not None  # first sight of a PR already failing
    told = SessionPR("ci_failed", ci="failing", head_sha="h1")
    assert ci_failed_data(replace(told, head_sha="h0"), pr) is not None  # new head
    assert ci_failed_data(told, pr) is None  # told already
    running = SessionPR("ci_running", ci="running")
    assert ci_failed_data(running, _pr("passing", "h1")) is None
    assert ci_failed_data(running, None) is None


def test_ci_failed_masks_secrets_in_check_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "a" * 36)
    name = "deploy --token ghp_" + "a" * 36
    data = ci_failed_data(None, _pr("failing", "h1", (CheckRun(name, "failing", "h1"),)))
    assert data is not None
    assert "ghp_" + "a" * 36 not in str(data)
