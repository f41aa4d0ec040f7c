"""What the detail's Review tab forwards to the agent."""

from __future__ import annotations

from ao_tui.review import threads_of
from core.models import ReviewThread, SessionPR
from core.review_threads import BODY_MAX, threads_message


def test_no_pr_or_no_threads_forwards_nothing() -> None:
    assert threads_message(None) == ""
    assert threads_message(SessionPR("open")) == ""
    assert threads_of(None) == ()


def test_threads_without_line_or_number_and_long_bodies_are_cut() -> None:
    pr = SessionPR("open", threads=(ReviewThread(path="", line=None, author="", body="x" * 5000),))
    text = threads_message(pr)
    assert text.startswith("Review comments are unresolved.")
    assert "1. (the PR) (?):" in text
    assert text.endswith("x" * BODY_MAX + " […]")
