"""The incremental tailer: offsets, bounded first read, partial lines, truncation, rotation."""

from __future__ import annotations

from pathlib import Path

from core.activity.tailer import FileTailer


def test_reads_complete_lines_then_only_appended_ones(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"one\ntwo\n")
    tailer = FileTailer(log)
    first = tailer.read()
    assert first.lines == ["one", "two"]
    assert first.restarted
    assert tailer.read().lines == []
    with log.open("ab") as handle:
        handle.write(b"three\n")
    second = tailer.read()
    assert second.lines == ["three"]
    assert not second.restarted
    assert tailer.offset == log.stat().st_size


def test_partial_last_line_is_held_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b'{"a":1}\n{"b":')
    tailer = FileTailer(log)
    assert tailer.read().lines == ['{"a":1}']
    with log.open("ab") as handle:
        handle.write(b"2}")
    assert tailer.read().lines == []
    with log.open("ab") as handle:
        handle.write(b"\n")
    assert tailer.read().lines == ['{"b":2}']


def test_first_read_is_bounded_and_starts_at_a_line_boundary(tmp_path: Path) -> None:
    log = tmp_path / "big.jsonl"
    lines = [f"line-{i:05d}-" + "x" * 50 for i in range(2000)]
    log.write_text("".join(line + "\n" for line in lines))
    tailer = FileTailer(log, backscan=4096)
    read = tailer.read()
    assert read.skipped_bytes == log.stat().st_size - 4096
    assert read.lines, "the window holds some lines"
    assert read.lines[-1] == lines[-1]
    assert all(line in lines for line in read.lines), "no fragment of a cut line"
    assert len(read.lines) < 4096 // 50


def test_backscan_landing_exactly_on_a_line_start_keeps_that_line(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"aaaa\nbbbb\n")  # "bbbb\n" is exactly the last 5 bytes
    assert FileTailer(log, backscan=5).read().lines == ["bbbb"]


def test_truncation_restarts_from_the_beginning(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"old-1\nold-2\n")
    tailer = FileTailer(log)
    tailer.read()
    log.write_bytes(b"new\n")  # same inode, smaller than our offset
    read = tailer.read()
    assert read.restarted
    assert read.lines == ["new"]


def test_rotation_to_a_new_file_restarts(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"old\n")
    tailer = FileTailer(log)
    tailer.read()
    replacement = tmp_path / "t.jsonl.new"
    replacement.write_bytes(b"fresh-1\nfresh-2\nfresh-3\n")
    replacement.replace(log)  # new inode, larger than the old offset
    read = tailer.read()
    assert read.restarted
    assert read.lines == ["fresh-1", "fresh-2", "fresh-3"]


def test_missing_file_reads_nothing_until_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "later.jsonl"
    tailer = FileTailer(log)
    assert tailer.read().lines == []
    log.write_bytes(b"hello\n")
    assert tailer.read().lines == ["hello"]


def test_at_offset_skips_the_line_the_offset_falls_into(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"before\nhalf-written")
    tailer = FileTailer.at_offset(log, log.stat().st_size)
    with log.open("ab") as handle:
        handle.write(b" line\nafter\n")
    assert tailer.read().lines == ["after"]


def test_at_offset_on_a_line_boundary_and_on_a_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"before\n")
    tailer = FileTailer.at_offset(log, log.stat().st_size)
    with log.open("ab") as handle:
        handle.write(b"after\n")
    assert tailer.read().lines == ["after"]
    missing = tmp_path / "not-yet.jsonl"
    waiting = FileTailer.at_offset(missing, 0)
    assert waiting.read().lines == []
    missing.write_bytes(b"first\n")
    assert waiting.read().lines == ["first"]


def test_invalid_utf8_is_replaced_not_raised(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_bytes(b"ok\n\xff\xfebad\n")
    assert FileTailer(log).read().lines == ["ok", "\ufffd\ufffdbad"]
