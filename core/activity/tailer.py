"""Incremental line reader for append-only logs (transcripts, hook logs).

A :class:`FileTailer` remembers a byte offset. The first read of a file starts at most
``backscan`` bytes before its end, at a line boundary, so opening a 200 MB transcript costs
one bounded read; every later read costs only the bytes appended since. A final line
without its newline is held back until the writer finishes it. When the file shrinks or is
replaced (different inode), the tailer starts over and says so, so the consumer can drop
state folded from the old content.

A file written by someone else is bounded, whatever it holds: one call reads at most
:data:`MAX_READ` bytes (the rest comes with the next call), a line longer than
:data:`MAX_LINE_BYTES` is cut there (its reader refuses it as too long) and the rest of it is
never held in memory, and a UTF-8 byte-order mark at the start of the file is dropped.

Pure file I/O: no watchers, no threads. The caller decides when to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.bounded_json import MAX_LINE_CHARS

DEFAULT_BACKSCAN = 256 * 1024
"""How far back the first read of a file looks: enough for the recent turns of a session."""
MAX_READ = 64 * 1024 * 1024
"""Most bytes one :meth:`FileTailer.read` takes in; a bigger append is read over several."""
MAX_LINE_BYTES = MAX_LINE_CHARS + 1
"""Bytes of one line kept at most: one more than any reader accepts, so it is refused."""
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class TailRead:
    """The result of one :meth:`FileTailer.read`."""

    lines: list[str] = field(default_factory=list)
    """Complete new lines, without their trailing newline, decoded as UTF-8 (lossy)."""
    restarted: bool = False
    """True when the reader (re)started on this file: first open, truncation or rotation.
    State folded from earlier reads must be discarded."""
    skipped_bytes: int = 0
    """Bytes before the bounded backward scan that were never read (history cut off)."""


class FileTailer:
    """Reads the lines appended to one file since the previous call."""

    def __init__(self, path: Path, *, backscan: int = DEFAULT_BACKSCAN) -> None:
        """Tail ``path``; the first read looks back at most ``backscan`` bytes."""
        self.path = path
        self.backscan = backscan
        self.offset: int | None = None
        """Byte offset of the first unread byte; None until the file was first opened."""
        self._inode: tuple[int, int] | None = None
        self._pending = b""
        self._drop_fragment = False
        """True while the buffered bytes are the tail of a line that began before our window."""
        self._overlong = False
        """True while the rest of a line already cut at :data:`MAX_LINE_BYTES` is skipped."""

    @classmethod
    def at_offset(cls, path: Path, offset: int) -> FileTailer:
        """A tailer that reads only what is appended after ``offset`` (e.g. a delivery marker).

        If ``offset`` falls inside a line, that line is skipped: it began before the marker.
        """
        tailer = cls(path)
        tailer.offset = max(0, offset)
        try:
            st = path.stat()
            tailer._inode = (st.st_dev, st.st_ino)
        except OSError:
            tailer._inode = None
        tailer._drop_fragment = offset > 0 and not _byte_before_is_newline(path, offset)
        return tailer

    @classmethod
    def resumed(
        cls, path: Path, offset: int, inode: tuple[int, int], *, backscan: int
    ) -> FileTailer:
        """A tailer that goes on at ``offset``, a line start of the file ``inode`` (device,
        inode) as an earlier reader left it; if ``path`` is another file by the first read,
        it starts over (``restarted``) as a fresh tailer would."""
        tailer = cls(path, backscan=backscan)
        tailer.offset = offset
        tailer._inode = inode
        return tailer

    def resume_point(self) -> tuple[int, tuple[int, int]] | None:
        """Where a later reader could go on from: the offset of the first line not returned
        yet and the file's (device, inode); None when in the middle of a cut line."""
        if self.offset is None or self._inode is None or self._drop_fragment or self._overlong:
            return None
        return self.offset - len(self._pending), self._inode

    def read(self) -> TailRead:
        """Return the complete lines appended since the last call (none if the file is absent)."""
        try:
            st = self.path.stat()
        except OSError:
            if self._inode is not None:
                # Rotated away: whatever appears next at this path is a fresh file.
                self.offset = None
                self._inode = None
                self._pending = b""
                self._drop_fragment = False
            return TailRead()
        inode = (st.st_dev, st.st_ino)
        if self._inode is None and self.offset is not None:
            # Positioned before the file existed (a delivery marker): read it from there.
            self._inode = inode
        restarted = False
        skipped = 0
        if self.offset is None or inode != self._inode or st.st_size < self.offset:
            restarted = True
            self._inode = inode
            self._pending = b""
            self._overlong = False
            start = max(0, st.st_size - self.backscan)
            skipped = start
            self.offset = start
            self._drop_fragment = start > 0 and not _byte_before_is_newline(self.path, start)
        if st.st_size == self.offset:
            return TailRead(restarted=restarted, skipped_bytes=skipped)
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read(min(st.st_size - self.offset, MAX_READ))
        except OSError:
            return TailRead(restarted=restarted, skipped_bytes=skipped)
        if self.offset == 0 and data.startswith(_BOM):
            data = data[len(_BOM) :]
            self.offset += len(_BOM)
        self.offset += len(data)
        *complete, tail = (self._pending + data).split(b"\n")
        if self._overlong and complete:
            # The cut line ends here: what was kept of it goes out, its rest is dropped.
            complete[0] = self._pending
            self._overlong = False
        elif self._overlong:
            tail = self._pending
        if len(tail) > MAX_LINE_BYTES:
            tail, self._overlong = tail[:MAX_LINE_BYTES], True
        self._pending = tail
        if complete and self._drop_fragment:
            complete = complete[1:]
            self._drop_fragment = False
        lines = [
            raw[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r") for raw in complete
        ]
        return TailRead(lines=lines, restarted=restarted, skipped_bytes=skipped)


def _byte_before_is_newline(path: Path, offset: int) -> bool:
    """Whether the byte just before ``offset`` ends a line (so ``offset`` starts one)."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset - 1)
            return handle.read(1) == b"\n"
    except OSError:
        return False


def tail_lines(path: Path, max_bytes: int) -> list[str]:
    """The whole lines in the last ``max_bytes`` of ``path`` (blocking: call from a thread
    when it may be large); a first line cut by the start of that window is left out."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - max_bytes))
        data = fh.read()
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]  # the first line was cut by the seek
    return lines


def file_size(path: Path) -> int:
    """A file's size, 0 when it does not exist (where a delivery marker starts)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
