"""The ``github`` tracker: a project's GitHub issues as tasks for ``spawn --issue``.

``GET /repos/{owner}/{repo}/issues/{n}`` for one issue, ``.../issues?state=open`` (Link
pagination) for the list. GitHub lists pull requests among issues; they are not tasks, so
a PR number is refused and PRs are left out of the list. Requests run on the plugin's own
event loop thread (the same async client as ``scm: github``), and each call waits at most
``timeout`` seconds; every failure is one token-free line saying what to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from core.inert import inert
from core.scm import ScmUnavailableError
from core.tracker import Issue, TrackerError, TrackerTarget
from plugins.github.client import GitHubClient, GitHubError, next_link
from plugins.github.pool import ClientPool
from plugins.github.sync import split_repo

T = TypeVar("T")
_PAGE = 100
_MAX_PAGES = 10


class GitHubTracker:
    """Issues of the project's GitHub repository."""

    name = "github"

    def __init__(self, *, timeout: float = 20.0) -> None:
        """Nothing is sent (and no token looked for) until the first call."""
        self._timeout = timeout
        self._pool = ClientPool("ao-tui-github-tracker", timeout=timeout)

    def close(self) -> None:
        """Stop the loop thread and close the HTTP clients."""
        self._pool.close()

    def issue(self, target: TrackerTarget, key: str) -> Issue:
        """Issue ``key`` (a number) of the repository."""
        owner, name = self._repo(target)
        if not key.isdigit():
            raise TrackerError(f"GitHub issues are numbers; {key!r} is not one (e.g. 42)")
        path = f"/repos/{quote(owner)}/{quote(name)}/issues/{key}"

        async def fetch(client: GitHubClient) -> Any:
            return (await client.request("GET", path)).json()

        try:
            item = self._call(target, fetch)
        except GitHubError as err:
            if err.status == 404:
                raise TrackerError(
                    f"issue #{key} not found in {owner}/{name} (or the token lacks access)"
                ) from None
            raise TrackerError(err.line("try again after")) from None
        if isinstance(item, dict) and "pull_request" in item:
            raise TrackerError(
                f"#{key} in {owner}/{name} is a pull request, not an issue; give an issue number"
            )
        return _issue(item, f"{owner}/{name}")

    def issues(self, target: TrackerTarget, *, limit: int = 100) -> Sequence[Issue]:
        """Open issues, newest first (GitHub's order), at most ``limit``; no PRs."""
        owner, name = self._repo(target)
        repo = f"{owner}/{name}"
        first = f"/repos/{quote(owner)}/{quote(name)}/issues?state=open&per_page={_PAGE}"

        async def fetch(client: GitHubClient) -> list[Any]:
            items: list[Any] = []
            url: str | None = first
            for _ in range(_MAX_PAGES):
                if url is None or len(items) >= limit:
                    break
                reply = await client.request("GET", url)
                page = reply.json()
                if not isinstance(page, list):
                    raise GitHubError(f"GitHub sent a malformed issue list for {repo}")
                items += [i for i in page if isinstance(i, dict) and "pull_request" not in i]
                url = next_link(reply.headers)
            return items[:limit]

        try:
            items = self._call(target, fetch)
        except GitHubError as err:
            raise TrackerError(err.line("try again after")) from None
        return [_issue(item, repo) for item in items]

    def add_label(self, target: TrackerTarget, key: str, label: str) -> None:
        """Add ``label`` to issue ``key`` (``POST …/issues/{n}/labels``; GitHub creates a
        label the repository lacks)."""
        owner, name = self._repo(target)
        if not key.isdigit():
            raise TrackerError(f"GitHub issues are numbers; {key!r} is not one (e.g. 42)")
        path = f"/repos/{quote(owner)}/{quote(name)}/issues/{key}/labels"

        async def post(client: GitHubClient) -> None:
            await client.request("POST", path, json_body={"labels": [label]})

        try:
            self._call(target, post)
        except GitHubError as err:
            if err.status in (403, 404):
                raise TrackerError(
                    f"cannot label issue #{key} in {owner}/{name} (HTTP {err.status}); the "
                    "token needs write access to issues"
                ) from None
            raise TrackerError(err.line("try again after")) from None

    def _repo(self, target: TrackerTarget) -> tuple[str, str]:
        if target.host is None:
            raise TrackerError(
                f"tracker: github needs the repository: set github.repo (owner/name) for "
                f"project {target.project_id}, or add an origin remote on GitHub"
            )
        try:
            return split_repo(target.host.repo)
        except ValueError as exc:
            raise TrackerError(str(exc)) from None

    def _call(self, target: TrackerTarget, work: Callable[[GitHubClient], Awaitable[T]]) -> T:
        """Run ``work(client)`` on the loop and wait for it."""
        assert target.host is not None
        root = target.host.api_url.rstrip("/")

        async def go() -> T:
            return await work(await self._pool.client(root))

        try:
            return self._pool.run(go(), self._timeout + 5)
        except ScmUnavailableError as exc:  # no token: the message says how to get one
            raise TrackerError(str(exc)) from None
        except TimeoutError:
            raise TrackerError(f"GitHub did not answer within {self._timeout:g}s") from None


def _issue(item: Any, repo: str) -> Issue:
    """An issue from the REST shape; a malformed one is a clear error."""
    if not isinstance(item, dict) or not isinstance(item.get("number"), int):
        raise TrackerError(f"GitHub sent a malformed issue for {repo}")
    # Titles, bodies and labels are anyone's writing: inert before anything shows them.
    labels = tuple(
        inert(str(label.get("name")), one_line=True)
        for label in item.get("labels") or []
        if isinstance(label, dict) and label.get("name")
    )
    url = item.get("html_url")
    return Issue(
        key=str(item["number"]),
        title=inert(str(item.get("title") or "(no title)"), one_line=True),
        body=inert(str(item.get("body") or "")),
        url=inert(url, one_line=True) if isinstance(url, str) else None,
        labels=labels,
        state="closed" if item.get("state") == "closed" else "open",
        where=f"{repo}#{item['number']}",
    )
