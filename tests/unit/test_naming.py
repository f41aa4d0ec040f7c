"""Titles and branch names are made from the prompt with its credentials masked first."""

from __future__ import annotations

import pytest

from core.naming import TITLE_MAX, branch_name, slug, title_from

TOKEN = "ghp_AbCdEf0123456789GhIjKlMnOpQrStUvWxYz"


def fragments(token: str) -> list[str]:
    """Pieces of a token that would give part of it away, in any case."""
    body = token.split("_", 1)[1]
    return [body[:6].lower(), body[-6:].lower()]


def test_a_title_never_keeps_a_token() -> None:
    title = title_from(f"push with {TOKEN} then open the PR")
    assert title == "push with *** then open the PR"


def test_a_token_crossing_the_title_cut_leaves_no_prefix() -> None:
    # Cut first, the token's first 20 characters would stay: too short to be recognised.
    prompt = "x" * (TITLE_MAX - 25) + " " + TOKEN + " and more"
    title = title_from(prompt)
    assert len(title) <= TITLE_MAX
    assert "ghp_" not in title and "AbCdEf" not in title


@pytest.mark.parametrize(
    "title",
    [f"fix {TOKEN} leak", f"export GITHUB_TOKEN={TOKEN}", f"use Bearer {TOKEN[4:]}"],
)
def test_a_branch_never_keeps_a_lowercased_token_fragment(title: str) -> None:
    branch = branch_name("app-1", title)
    assert branch.startswith("ao/app-1-")
    for piece in fragments(TOKEN):
        assert piece not in branch, branch


def test_the_value_of_a_secret_variable_is_masked_in_titles_and_slugs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOY_PASSWORD", "opensesame-no-shape")
    assert title_from("login with opensesame-no-shape") == "login with ***"
    assert slug("login with opensesame-no-shape") == "login-with"


def test_ordinary_titles_are_unchanged() -> None:
    assert title_from("fix the flaky login test\nmore") == "fix the flaky login test"
    assert slug("Fix the flaky login-test") == "fix-the-flaky-login-test"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Fix the flaky login test in a scratch directory", "fix-the-flaky-login-test-in-a"),
        ("Upgrade the test tooling and add a scratch area", "upgrade-the-test-tooling-and-add"),
        ("supercalifragilisticexpialidociousness is great", "supercalifragilisticexpialidocio"),
        ("a " * 40, "-".join(["a"] * 16)),
        ("???", "task"),
    ],
)
def test_a_slug_is_cut_between_words(title: str, expected: str) -> None:
    found = slug(title)
    assert found == expected
    assert len(found) <= 32  # what fits beside the id in a branch column
    # Every word kept is a whole word of the title (the first one only if it is too long).
    words = title.lower().split()
    assert all(part in words for part in found.split("-")[1:])
