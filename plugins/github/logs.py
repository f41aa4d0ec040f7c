"""GitHub Actions job logs cut to the part that says what failed.

GitHub prefixes every log line with an ISO timestamp and wraps steps in ``##[group]`` /
``##[endgroup]`` markers; both are removed before :func:`core.ci_runner.excerpt` picks the
failing part, so the excerpt reads like the local CI's. Excerpts and the saved log are
masked (GitHub masks the repository's registered secrets, not what a test prints) and the
excerpt is bounded like the local CI's (:mod:`core.ci_excerpt`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.ci_excerpt import bound_excerpt
from core.ci_runner import excerpt
from core.inert import inert
from core.redact import env_secrets, redact

LOG_MAX_BYTES = 4 * 1024 * 1024
"""Only the last 4 MiB of a job log are read: the verdict is at the end."""

_STAMP = re.compile(r"^\ufeff?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?")
_COMMAND = re.compile(r"^##\[(group|endgroup|error|warning|notice|debug|command)\]")


def clean(log: str) -> str:
    """The log without timestamps and workflow-command markers (``##[error]`` → ``error: ``)."""
    out = []
    for raw in log.splitlines():
        line = _STAMP.sub("", raw)
        marker = _COMMAND.match(line)
        if marker:
            kind = marker.group(1)
            rest = line[marker.end() :]
            if kind == "endgroup":
                continue
            line = f"{kind}: {rest}" if kind in ("error", "warning") else rest
        out.append(line)
    return "\n".join(out)


def job_excerpt(log: str, *, log_path: str = "") -> str:
    """The useful failing part of a job log, masked and bounded; ``log_path`` is where the
    whole log is kept, named in the excerpt when it had to be cut."""
    return bound_excerpt(excerpt(clean(log)), secrets=env_secrets(), log_path=log_path)


def save_log(path: Path, text: str) -> None:
    """Write a job log, credentials masked, readable by its owner only, in a private
    directory (masking megabytes is slow: call it off an event loop)."""
    # Made inert first: colour codes go (a token split by them reads whole on a terminal)
    # and other escapes show instead of acting on the terminal that views the log.
    text = redact(inert(text), env_secrets())
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file left by an older version keeps its mode on open
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
