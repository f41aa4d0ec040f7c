"""What a base that is not a local branch is called, and the branches offered instead."""

from __future__ import annotations

import pytest

from core.project_checks import base_problem
from core.slots import RepoFacts

FACTS = RepoFacts(
    has_commits=True,
    branches=("ao/app-1-fix", "ao/app-2-fix", "develop", "main"),
    tags=("v1.0",),
    remote_branches=("origin/main", "origin/release"),
)


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        ("main", ""),
        ("ao/app-1-fix", ""),
        ("HEAD", "'HEAD' names whatever is checked out, not a branch"),
        ("@", "'@' names whatever is checked out, not a branch"),
        ("ORIG_HEAD", "'ORIG_HEAD' is a pointer git moves on its own, not a branch"),
        ("v1.0", "'v1.0' is a tag, not a branch"),
        ("refs/tags/v1.0", "'refs/tags/v1.0' is a tag, not a branch"),
        ("deadbeef12", "'deadbeef12' looks like a commit id, not a branch"),
        (
            "origin/main",
            "'origin/main' is a remote-tracking branch, not a local one (create the local one "
            "with `git branch main origin/main`)",
        ),
        (
            "remotes/origin/release",
            "'remotes/origin/release' is a remote-tracking branch, not a local one (create "
            "the local one with `git branch release origin/release`)",
        ),
        (
            "release",
            "there is no local branch 'release' (only origin/release: create it with "
            "`git branch release origin/release`)",
        ),
        ("mian", "there is no local branch 'mian'"),
    ],
)
def test_base_problem_names_what_the_base_is(base: str, problem: str) -> None:
    found = base_problem(base, FACTS)
    if not problem:
        assert found == ""
        return
    # the repository's own branches come first, session branches last
    assert found == f"{problem} (branches: develop, main, ao/app-1-fix, ao/app-2-fix)"


def test_a_ref_spelling_of_an_existing_branch_is_corrected() -> None:
    assert base_problem("refs/heads/main", FACTS) == (
        "'refs/heads/main' is written as a ref; write the branch name 'main'"
    )


def test_long_branch_lists_are_cut() -> None:
    facts = RepoFacts(has_commits=True, branches=tuple(f"b{n:02}" for n in range(20)))
    assert base_problem("x", facts).endswith("b06, b07 and 12 more)")
