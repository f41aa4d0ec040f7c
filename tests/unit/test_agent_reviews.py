"""Agent review in the store and the review verbs' checks of their arguments.

The store: one review per session and head (a second is refused, not doubled), comments
only while it is open, the verdict at its head, the local threads of the newest submitted
review; a v6 database migrates to v7 keeping its rows. The verbs: a path outside the
repository, a line that is not a positive number, text with control characters, empty or
huge text, each refused with one line saying why.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.agent_reviews import OPERATOR, ReviewBook, local_threads
from core.errors import EngineError
from core.review_verbs import MAX_TEXT_BYTES, checked_line_text, checked_path, checked_text
from core.store import Store
from core.store_sqlite import MIGRATIONS, SCHEMA_VERSION

HEAD = "1a2b3c4d5e6f" + "0" * 28
NEXT = "2b3c4d5e6f70" + "0" * 28


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "state.db")


def test_one_review_per_head_comments_until_the_verdict(store: Store) -> None:
    book = ReviewBook(store, clock=lambda: 100.0)
    review = book.begin("app-3", HEAD, reviewer="", state="starting")
    assert review is not None and review.state == "starting" and review.open
    # The same head again (a restart, another process): nothing new is recorded.
    assert book.begin("app-3", HEAD, reviewer="app-5", state="reviewing") is None
    book.started(review, "app-5")
    review = book.at("app-3", HEAD)
    assert review is not None and (review.reviewer, review.state) == ("app-5", "reviewing")
    first = book.add_comment(review, author="app-5", path="src/a.py", line=3, body="off by one")
    second = book.add_comment(review, author="app-5", path="src/b.py", line=9, body="no test")
    assert first is not None and second is not None
    # Comments are threads only once the review is submitted (as a host's pending review).
    assert local_threads(book, "app-3") == ()
    assert book.verdict_at("app-3", HEAD) == ""
    done = book.submit(review, "changes_requested", "two problems")
    assert done is not None and (done.state, done.verdict) == ("submitted", "changes_requested")
    assert book.verdict_at("app-3", HEAD) == "changes_requested"
    assert book.verdict_at("app-3", NEXT) == ""
    # Nothing is added to a submitted review, and it is not submitted twice.
    assert book.add_comment(review, author="app-5", path="x", line=1, body="late") is None
    assert book.submit(review, "approved", "") is None
    threads = local_threads(book, "app-3")
    assert [(t.path, t.line, t.author, t.body, t.bot) for t in threads] == [
        ("", None, "app-5", "two problems", True),  # the summary, on the PR as a whole
        ("src/a.py", 3, "app-5", "off by one", True),
        ("src/b.py", 9, "app-5", "no test", True),
    ]
    # Fingerprints stay as they are across reads: nothing is forwarded twice.
    assert [t.fingerprint for t in threads] == [t.fingerprint for t in local_threads(book, "app-3")]


def test_threads_are_the_newest_submitted_reviews(store: Store) -> None:
    book = ReviewBook(store)
    old = book.begin("app-3", HEAD, reviewer="app-5", state="reviewing")
    assert old is not None
    book.add_comment(old, author="app-5", path="a.py", line=1, body="old finding")
    book.submit(old, "changes_requested", "")
    new = book.begin("app-3", NEXT, reviewer=OPERATOR, state="reviewing")
    assert new is not None
    book.add_comment(new, author=OPERATOR, path="b.py", line=2, body="a person's finding")
    # The older review's threads stay unresolved while the new head's review is open.
    assert [t.body for t in local_threads(book, "app-3")] == ["old finding"]
    book.submit(new, "approved", "")
    (thread,) = local_threads(book, "app-3")
    assert (thread.body, thread.bot) == ("a person's finding", False)  # changes-requested's
    assert book.reviewer_at("app-3", NEXT) == OPERATOR


def test_a_failed_review_takes_no_comment(store: Store) -> None:
    book = ReviewBook(store)
    review = book.begin("app-3", HEAD, reviewer="", state="starting")
    assert review is not None
    assert book.fail(review, "ao-tui stopped while starting the reviewer")
    assert not book.fail(review, "again")
    assert book.add_comment(review, author="app-5", path="a", line=1, body="x") is None
    failed = book.at("app-3", HEAD)
    assert failed is not None and failed.detail == "ao-tui stopped while starting the reviewer"


def test_a_v6_database_migrates_to_v7_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:6]:
        db.executescript(step)
    db.execute("PRAGMA user_version=6")
    db.execute("INSERT INTO approvals(session_id, head_sha, at) VALUES('app-1', 'abc', 1.0)")
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store.latest_approval("app-1") == ("abc", 1.0)
        book = ReviewBook(store)
        review = book.begin("app-1", HEAD, reviewer=OPERATOR, state="reviewing")
        assert review is not None and book.reviews("app-1") == [review]
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
    db.close()


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd", "is an absolute path"),
        ("\\\\server\\share", "is an absolute path"),
        ("C:\\Windows\\x", "is an absolute path"),
        ("../outside.py", "leaves the repository"),
        ("src/../../outside.py", "leaves the repository"),
        ("src\\..\\..\\x", "leaves the repository"),
        ("", "--file is empty"),
        ("  ", "--file is empty"),
        (".", "names no file"),
        ("a\x00b", "--file has"),
        ("src/\x1b[31mred.py", "--file has"),
        ("a" * 2000, "characters long (max 1024)"),
    ],
)
def test_a_path_outside_the_repository_is_refused(path: str, why: str) -> None:
    with pytest.raises(EngineError) as info:
        checked_path(path)
    assert why in str(info.value)
    assert "\n" not in str(info.value)


def test_a_path_inside_is_kept_normalised() -> None:
    assert checked_path("src/app.py") == "src/app.py"
    assert checked_path("./src/./app.py") == "src/app.py"
    assert checked_path("docs/a..b.md") == "docs/a..b.md"  # dots in a name are a name


@pytest.mark.parametrize("line", ["0", "-1", "x", "1.5", "1e3", "", "\u0663", "9" * 12, "3 4"])
def test_a_line_that_is_not_a_positive_number_is_refused(line: str) -> None:
    with pytest.raises(EngineError) as info:
        checked_line_text(line)
    assert "is not a line number; lines count from 1" in str(info.value)


def test_a_line_number_is_read() -> None:
    assert checked_line_text("12") == 12
    assert checked_line_text(" 7 ") == 7


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("fix \x1b[2J this", "the comment has"),
        ("nul\x00here", "the comment has"),
        ("\r\nsecond line", "the comment has"),
        ("", "the comment is empty"),
        ("   \n ", "the comment is empty"),
        ("é" * MAX_TEXT_BYTES, f"bytes (max {MAX_TEXT_BYTES})"),
    ],
)
def test_comment_text_is_refused_like_a_message(text: str, why: str) -> None:
    with pytest.raises(EngineError) as info:
        checked_text(text, "the comment", required=True)
    assert why in str(info.value)


def test_comment_text_with_newlines_and_tabs_is_kept() -> None:
    text = "the loop stops early:\n\tfor i in range(n - 1)"
    assert checked_text(text, "the comment", required=True) == text
    assert checked_text("", "the summary", required=False) == ""


def test_the_event_log_says_what_a_review_did() -> None:
    from core.event_summary import summary

    started = {
        "key": "agent-review",
        "outcome": "reviewing",
        "attempt": 1,
        "reason": "agent review started: app-5 reviews app-3 at 1a2b3c4d5e",
    }
    assert summary("reaction", started) == (
        "agent-review: agent review started: app-5 reviews app-3 at 1a2b3c4d5e"
    )
    verdict = {
        "verdict": "changes_requested",
        "head_sha": HEAD,
        "reviewer": "app-5",
        "comments": 2,
        "summary": "two problems",
        "by": "app-5",
    }
    assert summary("review", verdict) == (
        f"app-5 requested changes at {HEAD[:10]} (2 comment(s)): two problems"
    )
    comment = {"head_sha": HEAD, "path": "src/a.py", "line": 3, "reviewer": "app-5", "by": "app-5"}
    assert summary("review-comment", comment).startswith("review comment on src/a.py:3 at ")
