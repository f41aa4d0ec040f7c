"""A session's review as the detail view shows it, and the message that forwards it.

Reads only the ``pr`` the reconciler stored (state, blockers, the host's problem, the
unresolved review threads), so opening the Review tab costs no request.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.inert import inert, inert_pr
from core.models import ReviewThread, SessionPR

BODY_MAX = 2000
"""Characters of one thread's comment shown and forwarded; the rest is cut with a marker."""


def threads_of(pr: SessionPR | None) -> tuple[ReviewThread, ...]:
    """The unresolved review threads stored on a PR (none for local review)."""
    return () if pr is None else pr.threads


# Every field of a thread is a reviewer's or the host's text: each is made inert
# (core.inert) before it is shown or forwarded to the agent.


def _where(thread: ReviewThread) -> str:
    path = inert(thread.path or "(the PR)", one_line=True)
    line = inert(str(thread.line or ""), one_line=True)
    return f"{path}:{line}" if line else path


def _author(thread: ReviewThread) -> str:
    return inert(thread.author or "?", one_line=True)


def _body(thread: ReviewThread) -> str:
    body = inert(thread.body).strip()
    return body if len(body) <= BODY_MAX else body[:BODY_MAX] + " […]"


def review_view(pr: SessionPR | None) -> RenderableType:
    """PR state, blockers, the host's problem and every unresolved thread."""
    if pr is None:
        return Text("no PR yet: the branch has no commits ahead of its base (or none is open)")
    pr = inert_pr(pr)  # the host's URL, problem and blockers quote its own text
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    number = pr.number
    head.add_row("PR", Text(f"#{number} {pr.url or ''}" if number else "local branch"))
    head.add_row("state", Text(f"{pr.state} · CI {pr.ci} · review {pr.review}"))
    head.add_row("blockers", Text("; ".join(pr.blockers) if pr.blockers else "none"))
    if pr.problem:
        head.add_row("problem", Text(pr.problem, style="bold red"))
    threads = threads_of(pr)
    parts: list[RenderableType] = [head, Text("")]
    if not threads:
        parts.append(Text("no unresolved review threads"))
        return Group(*parts)
    parts.append(Text(f"{len(threads)} unresolved review thread(s) · f forwards them", "bold"))
    for thread in threads:
        replies = thread.replies
        more = f" (+{replies} repl{'y' if replies == 1 else 'ies'})" if replies else ""
        parts.append(Text.assemble(("\n" + _where(thread), "bold"), f" · {_author(thread)}{more}"))
        parts.append(Text(_body(thread)))
    return Group(*parts)


def threads_message(pr: SessionPR | None) -> str:
    """The message that hands the unresolved threads to the agent ("" when there are none)."""
    if pr is None or not pr.threads:
        return ""
    number = pr.number
    lines = [
        f"Review comments on PR #{number} are unresolved. Address each one, push, and say "
        "what you changed:"
        if number
        else "Review comments are unresolved. Address each one and say what you changed:"
    ]
    for index, thread in enumerate(pr.threads, start=1):
        lines += ["", f"{index}. {_where(thread)} ({_author(thread)}):", _body(thread)]
    return "\n".join(lines)
