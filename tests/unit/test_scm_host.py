"""`scm: auto` and the GitHub owner/name, decided from a real repository's origin remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import GitHubConfig, ProjectConfig
from core.scm_host import host_settings, origin_url, repo_on_host, scm_name, web_host
from tests.conftest import run_git


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@github.com:octo-org/widgets.git", "octo-org/widgets"),
        ("git@github.com:octo-org/widgets", "octo-org/widgets"),
        ("https://github.com/octo-org/widgets.git", "octo-org/widgets"),
        ("https://github.com/octo-org/widgets/", "octo-org/widgets"),
        ("ssh://git@github.com/octo-org/widgets.git", "octo-org/widgets"),
        ("https://GitHub.com/octo-org/widgets", "octo-org/widgets"),
        ("https://gitlab.com/octo-org/widgets.git", None),
        ("git@gitlab.com:octo-org/widgets.git", None),
        ("https://github.com/octo-org", None),
        ("https://github.com/a/b/c", None),
        ("/srv/git/widgets.git", None),
        ("", None),
    ],
)
def test_repo_on_host(url: str, expected: str | None) -> None:
    assert repo_on_host(url, "github.com") == expected


def test_web_host_of_public_and_enterprise_roots() -> None:
    assert web_host("https://api.github.com") == "github.com"
    assert web_host("https://ghe.example.com/api/v3") == "ghe.example.com"


def _project(repo: Path, **fields: object) -> ProjectConfig:
    return ProjectConfig.model_validate({"path": str(repo), **fields})


def test_auto_is_local_without_a_github_origin(git_repo: Path) -> None:
    assert origin_url(git_repo) is None
    assert scm_name(_project(git_repo)) == "local"
    run_git(git_repo, "remote", "add", "origin", "https://gitlab.com/o/r.git")
    assert scm_name(_project(git_repo)) == "local"
    assert host_settings(_project(git_repo)) is None


def test_auto_is_github_with_a_github_origin(git_repo: Path) -> None:
    run_git(git_repo, "remote", "add", "origin", "git@github.com:octo-org/widgets.git")
    project = _project(git_repo)
    assert scm_name(project) == "github"
    host = host_settings(project)
    assert host is not None
    assert (host.repo, host.api_url, host.poll_interval) == (
        "octo-org/widgets",
        "https://api.github.com",
        15.0,
    )


def test_explicit_settings_win_over_the_remote(git_repo: Path) -> None:
    run_git(git_repo, "remote", "add", "origin", "git@github.com:octo-org/widgets.git")
    assert scm_name(_project(git_repo, scm="local")) == "local"
    project = _project(
        git_repo,
        github=GitHubConfig(repo="me/fork", api_url="http://127.0.0.1:9/", poll_interval=5),
    )
    assert scm_name(project) == "github"
    host = host_settings(project)
    assert host is not None
    assert (host.repo, host.api_url, host.poll_interval) == ("me/fork", "http://127.0.0.1:9", 5)


def test_enterprise_remote_matches_its_api_host(git_repo: Path) -> None:
    run_git(git_repo, "remote", "add", "origin", "git@ghe.example.com:team/tool.git")
    project = _project(git_repo, github={"apiUrl": "https://ghe.example.com/api/v3"})
    host = host_settings(project)
    assert host is not None and host.repo == "team/tool"
