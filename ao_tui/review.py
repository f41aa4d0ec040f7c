"""A session's review as the detail view shows it, and the message that forwards it.

Reads only the ``pr`` the reconciler stored (state, blockers, the host's problem, the
unresolved review threads), so opening the Review tab costs no request.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.inert import inert, inert_data

BODY_MAX = 2000
"""Characters of one thread's comment shown and forwarded; the rest is cut with a marker."""


def threads_of(pr: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The unresolved review threads stored on a PR (none for local review)."""
    threads = (pr or {}).get("threads") or []
    return [t for t in threads if isinstance(t, dict)]


# Every field of a thread is a reviewer's or the host's text: each is made inert
# (core.inert) before it is shown or forwarded to the agent.


def _where(thread: dict[str, Any]) -> str:
    path = inert(str(thread.get("path") or "(the PR)"), one_line=True)
    line = inert(str(thread.get("line") or ""), one_line=True)
    return f"{path}:{line}" if line else path


def _author(thread: dict[str, Any]) -> str:
    return inert(str(thread.get("author") or "?"), one_line=True)


def _body(thread: dict[str, Any]) -> str:
    body = inert(str(thread.get("body") or "")).strip()
    return body if len(body) <= BODY_MAX else body[:BODY_MAX] + " […]"


def review_view(pr: dict[str, Any] | None) -> RenderableType:
    """PR state, blockers, the host's problem and every unresolved thread."""
    if not pr:
        return Text("no PR yet: the branch has no commits ahead of its base (or none is open)")
    pr = inert_data(pr)  # the host's URL, problem and blockers quote its own text
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    number = pr.get("number")
    head.add_row("PR", Text(f"#{number} {pr.get('url') or ''}" if number else "local branch"))
    state = pr.get("state") or "unknown"
    ci, review = pr.get("ci") or "none", pr.get("review") or "pending"
    head.add_row("state", Text(f"{state} · CI {ci} · review {review}"))
    blockers = pr.get("blockers") or []
    head.add_row("blockers", Text("; ".join(blockers) if blockers else "none"))
    if pr.get("problem"):
        head.add_row("problem", Text(str(pr["problem"]), style="bold red"))
    threads = threads_of(pr)
    parts: list[RenderableType] = [head, Text("")]
    if not threads:
        parts.append(Text("no unresolved review threads"))
        return Group(*parts)
    parts.append(Text(f"{len(threads)} unresolved review thread(s) · f forwards them", "bold"))
    for thread in threads:
        replies = int(thread.get("replies") or 0)
        more = f" (+{replies} repl{'y' if replies == 1 else 'ies'})" if replies else ""
        parts.append(Text.assemble(("\n" + _where(thread), "bold"), f" · {_author(thread)}{more}"))
        parts.append(Text(_body(thread)))
    return Group(*parts)


def threads_message(pr: dict[str, Any] | None) -> str:
    """The message that hands the unresolved threads to the agent ("" when there are none)."""
    threads = threads_of(pr)
    if not threads:
        return ""
    number = (pr or {}).get("number")
    lines = [
        f"Review comments on PR #{number} are unresolved. Address each one, push, and say "
        "what you changed:"
        if number
        else "Review comments are unresolved. Address each one and say what you changed:"
    ]
    for index, thread in enumerate(threads, start=1):
        lines += ["", f"{index}. {_where(thread)} ({_author(thread)}):", _body(thread)]
    return "\n".join(lines)
