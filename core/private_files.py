"""Small files a process keeps for the next one (a config snapshot, the plugin index).

Written whole or not at all, readable by this user only; read back only when the file is
still a regular file of this user that nobody else may read, since anything else may
have been put there by someone who wants it believed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import AoError


class NotPrivateError(AoError):
    """The file is missing, too big, or not a private regular file of this user (the caller
    does without it: it never reaches the operator)."""


def read_private(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of this user, mode ``0o600`` or
    narrower, and at most ``max_bytes`` long; else :class:`NotPrivateError` saying why.

    Never follows a symlink, and never waits on a FIFO put in its place.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotPrivateError(f"cannot open: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotPrivateError("not a regular file")
        if info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise NotPrivateError("not private to this user")
        if info.st_size > max_bytes:
            raise NotPrivateError("too large")
        data = read_at_most(fd, max_bytes)
    finally:
        os.close(fd)
    if data is None:
        raise NotPrivateError("too large")
    return data


def read_at_most(fd: int, limit: int) -> bytes | None:
    """What the open file ``fd`` holds, or None when it holds more than ``limit`` bytes
    (read no further than one chunk past it: a file that grows forever cannot hang us)."""
    chunks = []
    size = 0
    while size <= limit:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, mode ``0o600``; its folder must exist.

    A reader sees the old file or the new one, never a part; raises :class:`OSError`.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
