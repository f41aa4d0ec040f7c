"""The daemon's log (issue 12, "Unattended"): bounded by rotation, owner-only files, every
line masked, cut and inert. A real file system under the test's AO_TUI_HOME."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.daemon_log import MAX_LINE, DaemonLog


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_log_rotates_and_stays_bounded(tmp_path: Path) -> None:
    log = DaemonLog(tmp_path, max_bytes=2_000, backups=2)
    for i in range(500):
        log.info(f"event {i} app-{i % 7} activity: working")
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 3 * 2_000
    assert "event 499 " in (tmp_path / "daemon.log").read_text()


def test_every_file_is_owner_only_even_after_a_rollover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    os.umask(0o022)  # the usual umask would give 0644
    (tmp_path / "daemon.log").write_text("")
    (tmp_path / "daemon.log").chmod(0o644)  # left wide by hand: narrowed on open
    log = DaemonLog(tmp_path, max_bytes=500, backups=1)
    for i in range(50):
        log.info(f"line {i}")
    log.close()
    assert (tmp_path / "daemon.log.1").exists()
    assert {mode(p) for p in tmp_path.iterdir()} == {0o600}


def test_lines_are_masked_cut_and_inert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_TOKEN", "opaque-value-with-no-shape-1234")
    log = DaemonLog(tmp_path)
    log.info("sent to opaque-value-with-no-shape-1234 with ghp_abcdefghijklmnopqrstuvwxyz0123")
    log.warning("two\nlines \x1b[31mred\x1b[0m")
    log.info("x" * (MAX_LINE * 3))
    log.close()
    text = (tmp_path / "daemon.log").read_text()
    assert "opaque-value" not in text and "ghp_" not in text and "***" in text
    lines = text.splitlines()
    assert len(lines) == 3, lines
    assert "\x1b" not in text
    assert len(lines[2]) <= MAX_LINE


def test_a_log_that_cannot_be_opened_names_the_file(tmp_path: Path) -> None:
    from core.store_health import StoreError

    (tmp_path / "daemon.log").mkdir()
    with pytest.raises(StoreError, match=r"daemon\.log"):
        DaemonLog(tmp_path)
