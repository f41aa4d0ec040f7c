"""GitHub Actions job logs cut to the part that says what failed.

GitHub prefixes every log line with an ISO timestamp and wraps steps in ``##[group]`` /
``##[endgroup]`` markers; both are removed before :func:`core.ci_runner.excerpt` picks the
failing part, so the excerpt reads like the local CI's.
"""

from __future__ import annotations

import re

from core.ci_runner import excerpt

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


def job_excerpt(log: str) -> str:
    """The useful failing part of a job log."""
    return excerpt(clean(log))
