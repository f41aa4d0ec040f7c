"""An agent retrying after API errors: how it reads, wherever it was seen.

An agent CLI may retry a failed API call on its own, with back-off, for minutes
(``API error · Retrying in 32s · attempt 7/10`` on its screen; older releases also log
each retry in the transcript). It looks busy all that time, but it makes no progress, so
it is its own condition (:attr:`~core.models.ActivityState.RETRYING`), worded the same
from every source.
"""

from __future__ import annotations

import re

_ATTEMPT = re.compile(r"^retrying after API error (\d+/(?:\d+|\?))")


def retrying_detail(attempt: int | str, of: int | str | None, cause: str = "") -> str:
    """``retrying after API error 7/10``, with the cause when it says more than that."""
    detail = f"retrying after API error {attempt}/{of if of else '?'}"
    cause = " ".join(cause.split()).strip(" .·")
    if cause and cause.lower() not in ("api error", "api_error"):
        detail += f" ({cause[:120]})"
    return detail


def retry_attempt(detail: str) -> str | None:
    """``7/10`` from a :func:`retrying_detail`, else None."""
    found = _ATTEMPT.match(detail)
    return found.group(1) if found else None
