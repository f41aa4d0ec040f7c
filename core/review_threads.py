"""A PR's unresolved review threads as an agent is told of them.

Which threads are new since the last forward (by :attr:`ReviewThread.fingerprint`), split
into a bot's and a person's (the two are answered differently: a bot's findings are
checked and fixed, a reviewer's request may need a reply), and the one message that hands
a list of threads to the agent. The cockpit's ``f`` on the Review tab and the reactions
both compose with :func:`forward_message`, so the agent reads one format.

Every field of a thread is a reviewer's or the host's text: each is made inert
(:func:`core.inert.inert`) before it is shown or forwarded.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from core.inert import inert
from core.models import ReviewThread, SessionPR

BODY_MAX = 2000
"""Characters of one thread's comment shown and forwarded; the rest is cut with a marker."""


@dataclass(frozen=True)
class NewThreads:
    """The unresolved threads of a PR not forwarded yet, a bot's apart from a person's."""

    bots: tuple[ReviewThread, ...] = ()
    humans: tuple[ReviewThread, ...] = ()

    def __bool__(self) -> bool:
        """True when there is anything to forward."""
        return bool(self.bots or self.humans)


def new_threads(pr: SessionPR | None, forwarded: Collection[str]) -> NewThreads:
    """The threads of ``pr`` whose fingerprint is not in ``forwarded``, in the PR's order.

    A thread is listed once even when two share a fingerprint (two identical comments on
    one line from a host that gives no ids): the agent would get the same text twice.
    """
    if pr is None:
        return NewThreads()
    seen = set(forwarded)
    bots: list[ReviewThread] = []
    humans: list[ReviewThread] = []
    for thread in pr.threads:
        fingerprint = thread.fingerprint
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        (bots if thread.bot else humans).append(thread)
    return NewThreads(tuple(bots), tuple(humans))


def thread_where(thread: ReviewThread) -> str:
    """``path:line`` of the thread (``(the PR)`` for a comment on no file), inert."""
    path = inert(thread.path or "(the PR)", one_line=True)
    line = inert(str(thread.line or ""), one_line=True)
    return f"{path}:{line}" if line else path


def thread_author(thread: ReviewThread) -> str:
    """Who started the thread, inert; a bot as GitHub's web shows it (``cursor[bot]``).

    GraphQL gives a GitHub App's login without the ``[bot]``; the suffix tells the agent
    (and the operator) that no person wrote this.
    """
    login = thread.author or "?"
    if thread.bot and not login.endswith("[bot]"):
        login += "[bot]"
    return inert(login, one_line=True)


def thread_body(thread: ReviewThread) -> str:
    """The first comment, inert, cut after :data:`BODY_MAX` characters with a marker."""
    body = inert(thread.body).strip()
    return body if len(body) <= BODY_MAX else body[:BODY_MAX] + " […]"


def forward_message(
    threads: Sequence[ReviewThread], number: int | None = None, *, intro: str = ""
) -> str:
    """The message that hands ``threads`` to the agent ("" when there are none).

    One numbered entry per thread: ``path:line (author):`` and the comment below it.
    ``number`` is the PR's, named in the default first line; ``intro`` replaces that line.
    """
    if not threads:
        return ""
    if intro:
        first = inert(intro)
    elif number:
        first = (
            f"Review comments on PR #{number} are unresolved. Address each one, push, and say "
            "what you changed:"
        )
    else:
        first = "Review comments are unresolved. Address each one and say what you changed:"
    lines = [first]
    for index, thread in enumerate(threads, start=1):
        lines += ["", f"{index}. {thread_where(thread)} ({thread_author(thread)}):"]
        lines.append(thread_body(thread))
    return "\n".join(lines)


def threads_message(pr: SessionPR | None) -> str:
    """The message that hands every unresolved thread of ``pr`` to the agent ("" if none)."""
    if pr is None:
        return ""
    return forward_message(pr.threads, pr.number)
