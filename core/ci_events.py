"""The ``ci-failed`` event: a failing CI run, told once, with what failed.

The ``pr`` event records every change of a session's PR; a CI failure is the one change an
operator (or a script following ``events --json``) acts on, so it also gets an event of its
own: which head failed, which checks, and how much of their logs the excerpt holds. It is
logged once per failing run: when the stored PR did not yet show CI failing at that head
(a new head failed, or a rerun of the same head failed again after running).
"""

from __future__ import annotations

from typing import Any

from core.models import SessionPR
from core.scm import PRInfo

KIND = "ci-failed"


def ci_failed_data(before: SessionPR | None, pr: PRInfo | None) -> dict[str, Any] | None:
    """The event data when ``pr`` shows a CI failure that ``before`` (the stored PR) did not.

    ``{"head_sha", "checks": [{"name", "excerpt_chars", "url"}]}``; None when there is
    nothing new to tell.
    """
    if pr is None or pr.ci != "failing":
        return None
    if before is not None and before.ci == "failing" and before.head_sha == pr.head_sha:
        return None
    checks = []
    for check in pr.checks:
        if check.state != "failing":
            continue
        shown = check.to_json()  # masked and bounded: the excerpt the operator gets to see
        checks.append(
            {"name": shown["name"], "excerpt_chars": len(shown["excerpt"]), "url": shown["url"]}
        )
    return {"head_sha": pr.head_sha, "checks": checks}
