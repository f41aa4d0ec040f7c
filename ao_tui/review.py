"""A session's review as the detail view shows it.

Reads only the ``pr`` the reconciler stored (state, blockers, the host's problem, the
unresolved review threads), so opening the Review tab costs no request. The message that
forwards the threads (``f``) is :func:`core.review_threads.threads_message`; each thread
is shown here with the same inert parts it is forwarded with.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from core.inert import inert_pr
from core.models import ReviewThread, SessionPR
from core.review_threads import thread_author, thread_body, thread_where


def threads_of(pr: SessionPR | None) -> tuple[ReviewThread, ...]:
    """The unresolved review threads stored on a PR (none for local review)."""
    return () if pr is None else pr.threads


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
        where, author = thread_where(thread), thread_author(thread)
        parts.append(Text.assemble(("\n" + where, "bold"), f" · {author}{more}"))
        parts.append(Text(thread_body(thread)))
    return Group(*parts)
