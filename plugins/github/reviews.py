"""An agent review as GitHub's review API takes it (``POST …/pulls/{n}/reviews``).

One review carries the verdict (``event``), the summary and the inline comments. GitHub
refuses a comment on a line outside the diff, and a verdict on a PR of your own, with a
422: then the same findings are posted as one ``COMMENT`` review with every finding in its
body, so a review is never lost to where a line falls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_VERDICT_WORDS = {"REQUEST_CHANGES": "Changes requested", "APPROVE": "Approved"}


def review_payload(
    head: str, event: str, body: str, comments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The review with its comments on their lines, at exactly ``head``."""
    payload: dict[str, Any] = {"commit_id": head, "event": event, "body": body}
    if comments:
        payload["comments"] = [
            {"path": c["path"], "line": c["line"], "side": "RIGHT", "body": c["body"]}
            for c in comments
        ]
    return payload


def folded_payload(
    head: str, event: str, body: str, comments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The same review as one comment: the verdict in words, each finding as
    ``path:line`` and its text."""
    lines = [f"**{_VERDICT_WORDS[event]}**" if event in _VERDICT_WORDS else ""]
    if body:
        lines += ["", body]
    for comment in comments:
        lines += ["", f"`{comment['path']}:{comment['line']}`: {comment['body']}"]
    return {"commit_id": head, "event": "COMMENT", "body": "\n".join(lines).strip()}
