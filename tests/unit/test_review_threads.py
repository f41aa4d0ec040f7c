"""Review threads forwarded once: fingerprints, the bot/person split, the inert message.

The threads here are built the way the GitHub plugin builds them: from GraphQL-shaped
answers through :func:`plugins.github.queries.parse_threads`, and through the stored
``pr`` JSON, so a refresh and a restart are what the fingerprints are checked across.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from core.inert import find_control, inert
from core.models import ReviewThread, SessionPR
from core.review_threads import (
    NewThreads,
    forward_message,
    new_threads,
    thread_author,
    threads_message,
)
from plugins.github.queries import is_bot, parse_threads
from tests.support.hostile_inputs import hostile_params


def _node(
    host_id: str | None,
    path: str,
    line: int | None,
    body: str,
    author: dict[str, Any] | None,
    *,
    total: int = 1,
    resolved: bool = False,
) -> dict[str, Any]:
    """One ``reviewThreads`` node as GitHub's GraphQL answers it."""
    node: dict[str, Any] = {
        "isResolved": resolved,
        "path": path,
        "line": line,
        "comments": {
            "totalCount": total,
            "nodes": [{"author": author, "body": body, "url": f"https://x/{path}"}],
        },
    }
    if host_id is not None:
        node["id"] = host_id
    return node


BOT = {"__typename": "Bot", "login": "cursor"}
PERSON = {"__typename": "User", "login": "mira"}


def _refresh(*nodes: dict[str, Any]) -> SessionPR:
    """The PR the store holds after a refresh that got ``nodes``: parsed, stored, read."""
    threads, _ = parse_threads({"pageInfo": {"hasNextPage": False}, "nodes": list(nodes)})
    written = json.dumps(SessionPR("open", number=7, threads=threads).to_json())
    return SessionPR.from_json(json.loads(written))


def _prints(pr: SessionPR) -> list[str]:
    return [thread.fingerprint for thread in pr.threads]


def test_a_thread_keeps_its_fingerprint_across_replies_edits_refreshes_and_pushes() -> None:
    first = _refresh(
        _node("PRRT_1", "src/a.py", 3, "Null check?", BOT),
        _node("PRRT_2", "src/b.py", 9, "Keep the old redirect.", PERSON),
    )
    # Replies arrive, the reviewer edits the comment, a push moves the line.
    later = _refresh(
        _node("PRRT_1", "src/a.py", 3, "Null check?", BOT, total=4),
        _node("PRRT_2", "src/b.py", 12, "Keep the old redirect, please.", PERSON, total=2),
    )
    assert _prints(later) == _prints(first)
    assert len(set(_prints(first))) == 2
    assert all(len(fp) == 16 for fp in _prints(first))
    # A new thread is a new fingerprint; the old ones are unchanged.
    grown = _refresh(
        _node("PRRT_1", "src/a.py", 3, "Null check?", BOT, total=4),
        _node("PRRT_3", "src/b.py", 12, "Keep the old redirect, please.", PERSON),
        _node("PRRT_2", "src/b.py", 12, "Keep the old redirect, please.", PERSON, total=2),
    )
    assert _prints(grown)[0::2] == _prints(first)
    assert _prints(grown)[1] not in _prints(first)


def test_without_a_host_id_replies_keep_the_fingerprint_and_an_edit_changes_it() -> None:
    first = _refresh(_node(None, "src/a.py", 3, "Null check?", PERSON))
    replied = _refresh(_node(None, "src/a.py", 3, "Null check?", PERSON, total=5))
    assert _prints(replied) == _prints(first)
    for changed in (
        _node(None, "src/a.py", 3, "Null check here?", PERSON),  # the comment edited
        _node(None, "src/a.py", 4, "Null check?", PERSON),  # the line moved
        _node(None, "src/c.py", 3, "Null check?", PERSON),
        _node(None, "src/a.py", 3, "Null check?", {"login": "jon"}),
    ):
        assert _prints(_refresh(changed)) != _prints(first)


def test_the_id_and_the_bot_flag_are_stored_and_old_rows_read_as_a_person_without_id() -> None:
    pr = _refresh(_node("PRRT_1", "a.py", 1, "x", BOT), _node(None, "b.py", 2, "y", PERSON))
    assert [(t.id, t.bot) for t in pr.threads] == [("PRRT_1", True), ("", False)]
    assert pr.to_json()["threads"][1]["id"] is None
    old_row = {"path": "a.py", "line": 1, "author": "cursor", "body": "x", "replies": 0}
    old = ReviewThread.from_json(old_row)
    assert (old.bot, old.id) == (False, "")


@pytest.mark.parametrize(
    ("author", "bot"),
    [
        ({"__typename": "Bot", "login": "cursor"}, True),  # GraphQL: an app, no [bot]
        ({"__typename": "User", "login": "dependabot[bot]"}, True),  # REST-shaped login
        ({"login": "copilot-pull-request-reviewer[bot]"}, True),
        ({"__typename": "User", "login": "mira"}, False),
        ({"__typename": "User", "login": "botanist"}, False),
        (None, False),  # a deleted account (ghost)
    ],
)
def test_a_bot_is_told_from_a_person_by_its_type_or_its_login(
    author: dict[str, Any] | None, bot: bool
) -> None:
    assert is_bot(author) is bot
    (thread,) = _refresh(_node("PRRT_1", "a.py", 1, "x", author)).threads
    assert thread.bot is bot


def test_new_threads_are_split_into_a_bots_and_a_persons_and_forwarded_ones_left_out() -> None:
    pr = _refresh(
        _node("PRRT_1", "src/a.py", 3, "Possible null dereference.", BOT),
        _node("PRRT_2", "src/b.py", 9, "Keep the old redirect.", PERSON),
        _node("PRRT_3", "src/c.py", 1, "Unused import.", BOT),
        _node("PRRT_4", "src/d.py", 2, "Why this name?", PERSON, resolved=True),
    )
    bot_a, person_b, bot_c = pr.threads
    found = new_threads(pr, set())
    assert found == NewThreads(bots=(bot_a, bot_c), humans=(person_b,))
    assert found
    sent = {bot_a.fingerprint, person_b.fingerprint}
    assert new_threads(pr, sent) == NewThreads(bots=(bot_c,), humans=())
    everything = sent | {bot_c.fingerprint}
    assert not new_threads(pr, everything)
    assert not new_threads(None, set())


def test_two_threads_with_one_fingerprint_are_forwarded_once() -> None:
    twice = ReviewThread("a.py", 1, "mira", "Same words.")
    pr = SessionPR("open", threads=(twice, replace(twice, replies=2)))
    assert new_threads(pr, ()) == NewThreads(humans=(twice,))


def test_the_message_names_where_who_and_what_and_a_bot_as_one() -> None:
    pr = _refresh(
        _node("PRRT_1", "src/a.py", 3, "Possible null dereference.", BOT),
        _node("PRRT_2", "", None, "Please add a changelog entry.", PERSON),
    )
    text = threads_message(pr)
    assert text.splitlines() == [
        "Review comments on PR #7 are unresolved. Address each one, push, and say what you "
        "changed:",
        "",
        "1. src/a.py:3 (cursor[bot]):",
        "Possible null dereference.",
        "",
        "2. (the PR) (mira):",
        "Please add a changelog entry.",
    ]
    only_bot = forward_message(pr.threads[:1], 7, intro="A review bot found these:")
    assert only_bot.splitlines()[:3] == [
        "A review bot found these:",
        "",
        "1. src/a.py:3 (cursor[bot]):",
    ]
    assert forward_message((), 7) == ""
    # A login that already says [bot] does not get it twice.
    assert thread_author(ReviewThread("a", 1, "dependabot[bot]", "", bot=True)) == "dependabot[bot]"


@pytest.mark.parametrize("text", hostile_params("messages"))
def test_hostile_thread_text_is_inert_in_the_message(text: str) -> None:
    hostile_thread = ReviewThread(f"src/{text}.py", 3, f"bot{text}", text, bot=True, id="PRRT_1")
    for pr in (SessionPR("open", number=7, threads=(hostile_thread,)), _stored(hostile_thread)):
        message = forward_message(new_threads(pr, ()).bots, pr.number, intro=text)
        assert find_control(message) is None
        assert "\x1b" not in message and "\u202e" not in message
        assert inert(text).strip() in message
        where = f"src/{inert(text, one_line=True)}.py:3 (bot{inert(text, one_line=True)}[bot]):"
        assert where in message
    # The fingerprint is the host's id: the hostile text does not reach it.
    assert hostile_thread.fingerprint == ReviewThread("", None, "", "", id="PRRT_1").fingerprint


def _stored(thread: ReviewThread) -> SessionPR:
    """``thread`` on a PR written to the store's JSON and read back."""
    pr = SessionPR("open", number=7, threads=(thread,))
    return SessionPR.from_json(json.loads(json.dumps(pr.to_json())))
