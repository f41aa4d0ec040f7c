"""Which host a project's PRs live on: the ``scm: auto`` choice and the GitHub ``owner/name``.

``auto`` means GitHub when the project says so (a ``github`` block) or when its ``origin``
remote points at github.com (or the host of a configured GitHub Enterprise API), else the
embedded ``local`` SCM, so a fresh clone of a GitHub project needs no SCM config at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from core.git import GitError, run_git
from core.scm import HostSettings

if TYPE_CHECKING:
    from core.config import ProjectConfig

_GIT_TIMEOUT = 5.0
_PUBLIC_API = "https://api.github.com"
# scp-like (git@host:owner/name.git) and URL forms (https://host/owner/name(.git)).
_SCP_REMOTE = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?P<path>[^\\]+)$")


def origin_url(repo: Path) -> str | None:
    """The ``origin`` remote's URL of ``repo``, or None when it has none or git cannot tell."""
    try:
        proc = run_git(["remote", "get-url", "origin"], cwd=repo, timeout=_GIT_TIMEOUT, check=False)
    except GitError:
        # Missing or hung git: the project falls back to the local SCM, as with no remote;
        # spawning and merging then report git's trouble themselves.
        return None
    url = proc.stdout.strip()
    return url if proc.returncode == 0 and url else None


def repo_on_host(url: str, host: str) -> str | None:
    """``owner/name`` when the remote ``url`` is a repository on ``host``, else None."""
    scp = _SCP_REMOTE.match(url)
    if scp and "://" not in url:
        found_host, path = scp.group("host"), scp.group("path")
    else:
        parsed = urlparse(url)
        found_host, path = parsed.hostname or "", parsed.path
    if found_host.lower() != host.lower():
        return None
    parts = [part for part in path.strip("/").removesuffix(".git").split("/") if part]
    if len(parts) != 2:
        return None
    return "/".join(parts)


def web_host(api_url: str) -> str:
    """The git host behind a GitHub API root (api.github.com serves github.com)."""
    host = urlparse(api_url).hostname or ""
    return "github.com" if host == "api.github.com" else host


def scm_name(project: ProjectConfig) -> str:
    """The SCM plugin a project uses once ``auto`` is decided."""
    if project.scm != "auto":
        return project.scm
    if project.github is not None:
        return "github"
    url = origin_url(project.path)
    return "github" if url and repo_on_host(url, "github.com") else "local"


def host_settings(project: ProjectConfig) -> HostSettings | None:
    """Where the project's GitHub repository is, or None when it cannot be told."""
    github = project.github
    api_url = github.api_url if github is not None else _PUBLIC_API
    repo = github.repo if github is not None else None
    if repo is None:
        url = origin_url(project.path)
        repo = repo_on_host(url, web_host(api_url)) if url else None
    if repo is None:
        return None
    poll = github.poll_interval if github is not None else 15.0
    return HostSettings(repo=repo, api_url=api_url, poll_interval=poll)
