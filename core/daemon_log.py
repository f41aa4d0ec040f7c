"""The daemon's own log: ``$AO_TUI_HOME/daemon.log``, bounded, owner-only, secrets masked.

A daemon runs for days under a service manager, so what it says must outlive a terminal
and never fill the disk: each line goes to a file that rotates by size (``daemon.log``,
then ``daemon.log.1`` … ``daemon.log.N``; the oldest is dropped), so the log never holds
more than ``(backups + 1) * max_bytes``. Every file is created mode 0600: event data quotes
task text and CI output. Every line is masked (:mod:`core.redact`) with the secret-named
values of the daemon's environment, cut to :data:`MAX_LINE` characters, and made inert
(one line, no control characters), so nothing in it is a token or acts on a terminal that
``tail -f``\\ s it.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
from pathlib import Path
from typing import cast

from core.inert import inert
from core.redact import env_secrets, redact

LOG_NAME = "daemon.log"
"""The file under ``AO_TUI_HOME``."""
MAX_BYTES = 5_000_000
"""Size at which the log rotates (about 30 000 lines)."""
BACKUPS = 3
"""Rotated files kept beside the current one."""
MAX_LINE = 2000
"""Characters kept of one line: a CI excerpt in an event's data must not fill the file."""


class _OwnerOnlyRotatingHandler(logging.handlers.RotatingFileHandler):
    """A :class:`RotatingFileHandler` whose every file (the first, and each one opened
    after a rollover) is created 0600, whatever the umask."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(
            self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        # A file left by an older version (or made by hand) may be wider: narrow it.
        os.fchmod(fd, 0o600)
        return cast(
            io.TextIOWrapper, os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)
        )


class _Masked(logging.Formatter):
    """Formats a record, then masks secrets, cuts it and makes it one inert line."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        """The record as one masked, bounded, inert line."""
        # Masked whole before it is cut: a cut token no longer has a recognisable shape.
        text = redact(super().format(record), self._secrets)
        if len(text) > MAX_LINE:
            text = text[: MAX_LINE - 1] + "…"
        return inert(text, one_line=True)


class DaemonLog:
    """The daemon's log file; :meth:`info` and :meth:`warning` write one line each."""

    def __init__(self, home: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        """Open (create 0600) ``home/daemon.log``, rotating at ``max_bytes`` and keeping
        ``backups`` older files; a :class:`~core.store_health.StoreError` naming the file
        and the fix when it cannot be opened (a read-only or full state dir)."""
        from core.store_health import os_error

        self.path = home / LOG_NAME
        try:
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._handler = _OwnerOnlyRotatingHandler(
                self.path, maxBytes=max(1, max_bytes), backupCount=max(1, backups), encoding="utf-8"
            )
        except OSError as exc:
            raise os_error(self.path, exc) from exc
        self._handler.setFormatter(_Masked(env_secrets()))
        # A logger of its own, not the root: a library that logs must not reach this file,
        # and this file's lines must not reach a handler a library installed.
        self._logger = logging.getLogger(f"ao_tui.daemon.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._handler)

    def info(self, text: str) -> None:
        """Write one line at level INFO."""
        self._logger.info("%s", text)

    def warning(self, text: str) -> None:
        """Write one line at level WARNING."""
        self._logger.warning("%s", text)

    def close(self) -> None:
        """Flush and close the file."""
        self._logger.removeHandler(self._handler)
        self._handler.close()
