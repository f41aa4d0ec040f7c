"""GitHub SCM benchmark: requests and rate-limit points per poll, 50 open PRs in 3 repositories.

The real plugin polls the local GitHub stand-in (``tests.support.github_server``) over HTTP;
the stand-in counts every request, the REST requests that count against the ``core``
budget (a 304 does not) and the GraphQL points of each query, priced by GitHub's documented
formula. Two polls are measured after a first (cold) one: nothing changed, and every PR
pushed to. Beside them, the naive approach is actually performed against the same
stand-in: the open-PR list of each repository, then per PR one REST call per field (the
PR, its reviews, its review comments, its head's check runs, its head's combined status),
without conditional requests. Time is a manual clock, so no poll interval is waited out.

Each function returns rows of (measurement, value, target, verdict) for the table printed
by ``python -m tests.bench``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import httpx

from core.scm import HostSettings, ScmTarget
from core.store import Store
from plugins.scm.github import GitHubScm
from tests.support.github_server import TOKEN, FakeCheck, FakeStatus, FakeThread, GitHubStandIn

Row = tuple[str, str, str, str]

REPOS = ("octo/api", "octo/web", "octo/infra")
PRS = 50
POLL = 15.0


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _counts(server: GitHubStandIn) -> tuple[int, int, int, int]:
    """(requests, GraphQL queries, GraphQL points, REST core units) since the last clear."""
    log = server.log()
    return len(log), len(server.log("graphql")), server.graphql_points, server.core_used


def _naive_poll(server: GitHubStandIn) -> None:
    """One REST call per PR per field, as a client without GraphQL or ETags would poll."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        for repo in REPOS:
            url: str | None = f"/repos/{repo}/pulls?state=open&per_page=100"
            prs = []
            while url:
                resp = http.get(url)
                prs += resp.json()
                url = resp.links.get("next", {}).get("url")
            for pr in prs:
                number, sha = pr["number"], pr["head"]["sha"]
                for path in (
                    f"/repos/{repo}/pulls/{number}",
                    f"/repos/{repo}/pulls/{number}/reviews",
                    f"/repos/{repo}/pulls/{number}/comments",
                    f"/repos/{repo}/commits/{sha}/check-runs",
                    f"/repos/{repo}/commits/{sha}/status",
                ):
                    http.get(path).raise_for_status()


def bench_github_poll() -> list[Row]:
    """Requests and points per poll: unchanged and all-changed, beside the naive approach."""
    clock = _Clock()
    old_env = {k: os.environ.get(k) for k in ("GITHUB_TOKEN", "GH_TOKEN")}
    os.environ["GITHUB_TOKEN"] = TOKEN
    os.environ.pop("GH_TOKEN", None)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="ao-bench-github-") as tmp,
            GitHubStandIn(clock=clock) as server,
        ):
            root = Path(tmp)
            store = Store(root / "state.db")
            groups: dict[str, list[ScmTarget]] = {repo: [] for repo in REPOS}
            prs = []
            for i in range(PRS):
                repo = REPOS[i % len(REPOS)]
                branch = f"ao/s-{i}-task"
                prs.append(
                    server.add_pr(
                        repo,
                        branch,
                        f"{i:040x}",
                        checks=[FakeCheck("unit"), FakeCheck("lint"), FakeCheck("e2e")],
                        statuses=[FakeStatus("ci/legacy")],
                        threads=[FakeThread("src/a.py", 3, "why?"), FakeThread("b.py", 1, "ok")],
                    )
                )
                host = HostSettings(repo=repo, api_url=server.url, poll_interval=POLL)
                groups[repo].append(
                    ScmTarget(
                        f"s-{i}",
                        "task",
                        root / "repo",
                        root / "repo",
                        branch,
                        "main",
                        root / "state" / f"s-{i}",
                        host=host,
                    )
                )
            scm = GitHubScm(clock=clock)
            try:

                def poll() -> tuple[int, int, int, int]:
                    server.clear_log()
                    clock.now += POLL + 1
                    for targets in groups.values():  # the reconciler: once per project
                        scm.prefetch(targets, store, wait=True)
                    found = [
                        scm.status(t, store, "", "") for targets in groups.values() for t in targets
                    ]
                    assert all(pr is not None and pr.problem == "" for pr in found), found
                    return _counts(server)

                cold = poll()
                unchanged = poll()
                for pr in prs:
                    server.update(pr, head_sha=pr.head_sha[::-1])
                changed = poll()
            finally:
                scm.close()
                store.close()
            server.clear_log()
            _naive_poll(server)
            naive = _counts(server)
    finally:
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return _rows(cold, unchanged, changed, naive)


def _rows(
    cold: tuple[int, int, int, int],
    unchanged: tuple[int, int, int, int],
    changed: tuple[int, int, int, int],
    naive: tuple[int, int, int, int],
) -> list[Row]:
    repos = len(REPOS)
    label = f"github poll, {PRS} PRs in {repos} repos"
    naive_text = f"naive: {naive[0]} requests, {naive[3]} REST points"

    def points(c: tuple[int, int, int, int]) -> str:
        return f"{c[2]} GraphQL + {c[3]} REST"

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    return [
        (f"{label}, first poll: requests", f"{cold[0]} ({cold[1]} GraphQL)", "reported", ""),
        (f"{label}, first poll: points", points(cold), "reported", ""),
        (
            f"{label}, unchanged: requests",
            f"{unchanged[0]} ({unchanged[1]} GraphQL)",
            f"<= {repos} (1 conditional per repo)",
            verdict(unchanged[0] <= repos and unchanged[1] == 0),
        ),
        (
            f"{label}, unchanged: points",
            points(unchanged),
            "0",
            verdict(unchanged[2] == 0 and unchanged[3] == 0),
        ),
        (
            f"{label}, all changed: GraphQL queries",
            str(changed[1]),
            f"<= {2 * repos} (2 per repo)",
            verdict(changed[1] <= 2 * repos),
        ),
        (f"{label}, all changed: requests", str(changed[0]), "reported", ""),
        (f"{label}, all changed: points", points(changed), "reported", ""),
        (f"{label}, naive (per poll, changed or not)", naive_text, "for comparison", ""),
    ]


BENCHMARKS = [bench_github_poll]
