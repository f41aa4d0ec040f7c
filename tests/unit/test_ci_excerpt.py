"""CI excerpts are masked and bounded wherever they are made, stored or printed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.ci_excerpt import LINE_CHARS, MAX_BYTES, MAX_LINES, bound_excerpt, read_log_end
from core.scm import CheckRun
from core.store import Store
from plugins.github.logs import job_excerpt

TOKEN = "ghp_" + "L" * 36


def test_a_huge_single_line_is_cut_with_a_note_and_the_log_named() -> None:
    line = "x" * 50_000_000
    out = bound_excerpt(line, log_path="/state/sessions/app-1/ci-abc.log")
    assert len(out.encode()) <= MAX_BYTES
    first, footer = out.split("\n")
    assert len(first) <= LINE_CHARS
    assert "49,999,640 more characters cut" in first
    assert footer == "…[cut; the full log: /state/sessions/app-1/ci-abc.log]"


def test_many_lines_and_many_bytes_are_bounded() -> None:
    lines = "\n".join(f"error {i}: " + "é" * 380 for i in range(5000))
    out = bound_excerpt(lines, log_path="/l")
    assert len(out.splitlines()) <= MAX_LINES
    assert len(out.encode()) <= MAX_BYTES
    assert out.endswith("…[cut; the full log: /l]")
    assert "more lines cut" in out


def test_an_excerpt_within_the_bounds_is_kept_and_bounding_twice_changes_nothing() -> None:
    short = "FAILED test_login\nAssertionError: expected 200"
    assert bound_excerpt(short, log_path="/l") == short
    cut = bound_excerpt("y" * 10_000 + "\n" + "\n".join(["z" * 500] * 200), log_path="/l")
    assert bound_excerpt(cut, log_path="/l") == cut


def test_a_token_straddling_the_cut_leaves_no_fragment() -> None:
    # The line is cut at LINE_CHARS - 40 characters; the token starts 10 before that.
    start = LINE_CHARS - 50
    line = "a " * (start // 2) + TOKEN + " after" + "b" * 5000
    out = bound_excerpt(line)
    assert "ghp_" not in out and "LLLL" not in out
    assert "***" in out


def test_a_token_split_by_colour_codes_is_masked() -> None:
    text = "\x1b[31mghp_" + "L" * 10 + "\x1b[0m" + "L" * 26 + " FAILED\x07\x00"
    out = bound_excerpt(text)
    # Colours go; other controls stay visible (core.inert), never acting on a terminal.
    assert out == "*** FAILED^G^@"


def test_the_values_of_secret_variables_are_masked_in_the_excerpt() -> None:
    out = bound_excerpt("using hunter2-no-shape-at-all now", secrets=("hunter2-no-shape-at-all",))
    assert out == "using *** now"


def test_read_log_end_reads_only_the_end_of_a_big_log(tmp_path: Path) -> None:
    log = tmp_path / "ci.log"
    log.write_bytes(b"a" * 10_000 + b"\nthe verdict\xff\n")
    text = read_log_end(log, limit=100)
    assert text.startswith("…[9,914 bytes before this]")
    assert text.endswith("the verdict\ufffd\n")


def test_the_store_never_keeps_an_unbounded_or_unmasked_excerpt(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    run = store.start_ci_run("app-1", "a" * 40, "/l")
    assert run is not None
    store.finish_ci_run(run, passed=False, exit_code=1, excerpt=f"{TOKEN}\n" + "q" * 5_000_000)
    stored = store.ci_run(run)
    store.close()
    assert stored is not None and len(stored.excerpt.encode()) <= MAX_BYTES
    raw = (tmp_path / "s.db").read_bytes() + _wal(tmp_path / "s.db")
    assert TOKEN.encode() not in raw
    assert b"q" * 10_000 not in raw


def _wal(db: Path) -> bytes:
    wal = db.with_name(db.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_an_excerpt_stored_by_an_older_version_is_masked_and_bounded_when_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_SIGNING_KEY", "no-shape-but-secret-value")
    store = Store(tmp_path / "s.db")
    run = store.start_ci_run("app-1", "a" * 40, "/logs/ci.log")
    store.close()
    # An older ao-tui wrote excerpts verbatim: put one there as it would have.
    db = sqlite3.connect(tmp_path / "s.db")
    old = f"{TOKEN} no-shape-but-secret-value\n" + "w" * 1_000_000
    db.execute("UPDATE ci_runs SET state='failing', excerpt=? WHERE id=?", (old, run))
    db.commit()
    db.close()
    store = Store(tmp_path / "s.db")
    found = store.ci_run(int(run or 0))
    store.close()
    assert found is not None and found.excerpt == old
    shown = CheckRun("ci", "failing", excerpt=found.excerpt, log_path=found.log_path).to_json()
    assert TOKEN not in shown["excerpt"] and "no-shape-but-secret-value" not in shown["excerpt"]
    assert len(shown["excerpt"].encode()) <= MAX_BYTES
    assert shown["excerpt"].endswith("the full log: /logs/ci.log]")


def test_a_github_job_excerpt_is_masked_and_bounded() -> None:
    log = "\n".join(
        [
            f"2024-05-01T10:00:00.0000000Z Error: push with {TOKEN} refused",
            "2024-05-01T10:00:01.0000000Z " + "v" * 3_000_000,
            "2024-05-01T10:00:02.0000000Z ##[error]Process completed with exit code 1.",
        ]
    )
    out = job_excerpt(log, log_path="/state/github-job-7.log")
    assert TOKEN not in out and "Error: push with *** refused" in out
    assert len(out.encode()) <= MAX_BYTES
    assert out.endswith("the full log: /state/github-job-7.log]")
