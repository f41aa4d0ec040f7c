"""The small pieces of the GitHub plugin: token discovery, log cleaning, state mapping, URLs.

``gh`` is not installed here, so token discovery through it runs a stand-in ``gh`` script
(a real executable on PATH that prints a token the way ``gh auth token`` does).
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.scm import ScmUnavailableError
from plugins.github.auth import NO_TOKEN_HELP, Token, find_token
from plugins.github.client import GitHubError, graphql_url, next_link
from plugins.github.logs import clean, job_excerpt
from plugins.github.queries import (
    batch_query,
    check_run_state,
    parse_pr,
    rollup_state,
    status_context_state,
)
from tests.support import graphql_mini

SECRET = "ghp_unitTESTtoken0123456789abcdefghijklmn"


def fake_gh(tmp_path: Path, script: str) -> str:
    """A ``gh`` executable in its own directory; that directory, for PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(f"#!/bin/sh\n{script}\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    return str(bin_dir)


def test_environment_tokens_come_first_in_gh_order() -> None:
    both = {"GH_TOKEN": " gh-one ", "GITHUB_TOKEN": "github-one", "PATH": ""}
    assert find_token(env=both).reveal() == "gh-one"
    assert find_token(env={"GITHUB_TOKEN": "github-one", "PATH": ""}).reveal() == "github-one"


def test_gh_is_asked_when_no_variable_is_set(tmp_path: Path) -> None:
    path = fake_gh(tmp_path, f'echo "$@" > "{tmp_path}/args"; echo {SECRET}')
    assert find_token(env={"PATH": path}).reveal() == SECRET
    assert (tmp_path / "args").read_text().split() == ["auth", "token"]
    find_token("https://ghe.example.com/api/v3", env={"PATH": path})
    assert (tmp_path / "args").read_text().split() == [
        "auth",
        "token",
        "--hostname",
        "ghe.example.com",
    ]


def test_gh_without_a_login_or_hanging_gives_the_fix_and_never_its_output(
    tmp_path: Path,
) -> None:
    path = fake_gh(tmp_path, f"echo 'not logged in {SECRET}' >&2; exit 1")
    with pytest.raises(ScmUnavailableError) as raised:
        find_token(env={"PATH": path})
    assert str(raised.value).startswith(NO_TOKEN_HELP)
    assert SECRET not in str(raised.value)
    slow = fake_gh(tmp_path, "sleep 5")
    with pytest.raises(ScmUnavailableError, match="did not answer within"):
        find_token(env={"PATH": slow}, gh_timeout=0.3)


def test_no_token_anywhere_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ScmUnavailableError) as raised:
        find_token(env={"PATH": str(tmp_path)})
    assert str(raised.value) == NO_TOKEN_HELP
    assert "GITHUB_TOKEN" in NO_TOKEN_HELP and "gh auth login" in NO_TOKEN_HELP


def test_a_token_never_prints_itself() -> None:
    token = Token(SECRET)
    assert SECRET not in repr(token) and SECRET not in f"{token}"
    assert token.reveal() == SECRET


def test_graphql_lives_beside_the_rest_root() -> None:
    assert graphql_url("https://api.github.com") == "https://api.github.com/graphql"
    assert graphql_url("https://ghe.corp/api/v3/") == "https://ghe.corp/api/graphql"
    assert graphql_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/graphql"


def test_next_link_is_read_from_the_link_header() -> None:
    import httpx

    headers = httpx.Headers(
        {"link": '<https://x/p?page=2>; rel="next", <https://x/p?page=5>; rel="last"'}
    )
    assert next_link(headers) == "https://x/p?page=2"
    assert next_link(httpx.Headers({"link": '<https://x/p?page=1>; rel="prev"'})) is None


def test_error_lines_show_when_requests_resume() -> None:
    assert GitHubError("GitHub secondary rate limit").line() == "GitHub secondary rate limit"
    line = GitHubError("GitHub rate limit reached", retry_at=4_000_000_000).line()
    assert line.startswith("GitHub rate limit reached; retrying at ")


def test_check_states_map_like_the_board_expects() -> None:
    assert check_run_state("COMPLETED", "SUCCESS") == "passing"
    assert check_run_state("COMPLETED", "NEUTRAL") == "passing"
    assert check_run_state("COMPLETED", "SKIPPED") == "passing"
    assert check_run_state("COMPLETED", "FAILURE") == "failing"
    assert check_run_state("COMPLETED", "TIMED_OUT") == "failing"
    assert check_run_state("IN_PROGRESS", None) == "running"
    assert check_run_state("QUEUED", None) == "running"
    assert status_context_state("EXPECTED") == "running"
    assert status_context_state("ERROR") == "failing"
    assert [rollup_state(s) for s in ("SUCCESS", "ERROR", "EXPECTED", None)] == [
        "passing",
        "failing",
        "running",
        "none",
    ]


def test_timestamps_and_workflow_markers_are_stripped_before_the_excerpt() -> None:
    log = "\n".join(
        [
            "\ufeff2024-05-01T10:00:00.1234567Z ##[group]Run make test",
            "2024-05-01T10:00:01.1234567Z compiling",
            "2024-05-01T10:00:02.1234567Z ##[endgroup]",
            "2024-05-01T10:00:03.1234567Z ##[error]Process completed with exit code 2.",
        ]
    )
    assert clean(log) == "Run make test\ncompiling\nerror: Process completed with exit code 2."
    assert "exit code 2" in job_excerpt(log)
    assert "2024-05-01" not in job_excerpt(log)


def test_pr_parsing_keeps_unresolved_threads_and_every_context() -> None:
    node = {
        "number": 7,
        "url": "https://github.com/o/r/pull/7",
        "state": "OPEN",
        "isDraft": False,
        "mergeable": "MERGEABLE",
        "mergeStateStatus": "CLEAN",
        "reviewDecision": None,
        "headRefName": "b",
        "headRefOid": "a" * 40,
        "baseRefName": "main",
        "baseRefOid": "c" * 40,
        "updatedAt": "2024-05-01T10:00:00Z",
        "commits": {
            "totalCount": 3,
            "nodes": [
                {
                    "commit": {
                        "statusCheckRollup": {
                            "state": "PENDING",
                            "contexts": {
                                "pageInfo": {"hasNextPage": True, "endCursor": "abc"},
                                "nodes": [
                                    {"__typename": "CheckRun", "name": "t", "status": "QUEUED"},
                                    {"__typename": "StatusContext", "context": "s"},
                                ],
                            },
                        }
                    }
                }
            ],
        },
        "reviewThreads": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [
                {"isResolved": True, "path": "x", "line": 1, "comments": {"nodes": []}},
                {
                    "isResolved": False,
                    "path": "y.py",
                    "line": None,
                    "comments": {"totalCount": 3, "nodes": [{"author": None, "body": "hm"}]},
                },
            ],
        },
    }
    snap = parse_pr(node, fetched_at=0.0)
    assert snap.commits == 3 and snap.ci_pending
    assert [c.name for c in snap.contexts] == ["t", "s"]
    assert snap.contexts_after == "abc" and snap.threads_after is None
    assert [(t.path, t.line, t.author, t.replies) for t in snap.threads] == [
        ("y.py", None, "ghost", 2)
    ]


def test_the_stand_in_prices_queries_as_github_documents() -> None:
    # GitHub's own worked example: 1 + 100 + 5,000 requests = 5,101 -> 51 points.
    documented = """query { viewer { login repositories(first: 100) { edges { node { id
        issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name }
        } } } } } } } } } }"""
    assert graphql_mini.cost(graphql_mini.parse(documented)) == 51
    ours = graphql_mini.parse(batch_query("o", "r", [("number", n) for n in range(25)]))
    # 25 x (commits + contexts + threads + 50 comments + reviews) = 1,350 requests -> 14
    assert graphql_mini.cost(ours) == 14
