"""Agent review with the local SCM: real git, real CI runs, real tmux, the CLI as a process.

- The verbs: a reviewer (``AO_TUI_ACTOR``) records comments and a verdict at a head; the
  local PR then has the threads and the review state; what is refused, in one line.
- An agent's approval does not satisfy ``merge.requireApproval`` unless the project says so.
- The ``agent-review`` reaction, run as the lease holder runs it: a worker's green head gets
  one reviewer; its two comments and its request for changes reach the author agent in one
  paste; the reviewer ends; a new head gets a new review; a restart spawns none again.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.agent_reviews import ReviewBook
from core.models import Lifecycle, Role
from core.provenance import ACTOR_ENV
from tests.support.engine import make_engine
from tests.support.reactions_world import World, commit, make_world, pastes, reacting, until
from tests.support.role_shell import role_shell_registry

ROOT = Path(__file__).resolve().parents[2]


def ao(world: World, *args: str, actor: str = "") -> subprocess.CompletedProcess[str]:
    """The real CLI on the world's config, run as the agent ``actor`` (or the operator)."""
    env = {**os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop(ACTOR_ENV, None)
    if actor:
        env[ACTOR_ENV] = actor
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", "--config", str(world.config), *args],
        cwd=world.tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def green(world: World, session_id: str, head: str) -> bool:
    world.engine.reconcile_one(session_id)
    pr = world.engine.get(session_id).pr
    return pr is not None and pr.head_sha == head and pr.ci == "passing"


def test_review_verbs_record_threads_and_the_verdict_at_the_head(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "record", review=True)
    author = world.spawn()
    head = commit(author, "login.py", "TIMEOUT = 2\n", "a faster login")
    world.engine.ci(author.id)
    from tests.support.engine import wait_for

    wait_for(lambda: green(world, author.id, head), timeout=60)

    made = ao(
        world,
        "review",
        "comment",
        author.id,
        "--file",
        "login.py",
        "--line",
        "1",
        "--json",
        "2 s is too short on a cold start",
        actor="app-9",
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["comment"]["path"] == "login.py"
    assert (
        ao(
            world,
            "review",
            "comment",
            author.id,
            "--file",
            "./login.py",
            "--line",
            "1",
            "no test covers the timeout",
            actor="app-9",
        ).returncode
        == 0
    )
    # Not threads yet: a review is seen once it is submitted.
    assert world.engine.reconcile_one(author.id).pr.threads == ()  # type: ignore[union-attr]
    done = ao(
        world, "review", "request-changes", author.id, "two problems", "--json", actor="app-9"
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert (body["verdict"], body["head_sha"], len(body["comments"])) == (
        "changes_requested",
        head,
        2,
    )
    pr = world.engine.get(author.id).pr
    assert pr is not None and pr.review == "changes_requested" and pr.state == "changes_requested"
    assert "changes requested" in pr.blockers
    assert [(t.path, t.line, t.author, t.bot) for t in pr.threads] == [
        ("", None, "app-9", True),  # "two problems", on the PR as a whole
        ("login.py", 1, "app-9", True),
        ("login.py", 1, "app-9", True),
    ]
    review_events = [e for e in world.events(author.id) if e.kind == "review"]
    assert review_events[0].data["by"] == "app-9" and review_events[0].data["comments"] == 2

    # Refused, one line each, nothing recorded.
    late = ao(
        world,
        "review",
        "comment",
        author.id,
        "--file",
        "login.py",
        "--line",
        "2",
        "one more",
        actor="app-9",
    )
    assert late.returncode != 0
    assert late.stderr.strip() == (
        f"ao-tui: review of {author.id} at {head[:10]} is already submitted"
    )
    for args, why in [
        (("--file", "/etc/passwd", "--line", "1", "x"), "is an absolute path"),
        (("--file", "../x.py", "--line", "1", "x"), "leaves the repository"),
        (("--file", "a.py", "--line", "0", "x"), "is not a line number"),
        (("--file", "a.py", "--line", "ten", "x"), "is not a line number"),
        (("--file", "a.py", "--line", "1", "clear \x1b[2J"), "the comment has"),
        (("--file", "a.py", "--line", "1", "x" * 9000), "bytes (max 8192)"),
    ]:
        refused = ao(world, "review", "comment", author.id, *args, actor="app-8")
        assert refused.returncode != 0 and why in refused.stderr, (args, refused.stderr)
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    unknown = ao(world, "review", "approve", "app-77")
    assert unknown.returncode == 3 and "no session 'app-77'" in unknown.stderr
    idle = world.spawn("another task, nothing committed")
    none = ao(world, "review", "approve", idle.id)
    assert none.returncode != 0 and "no commits ahead of main (no PR)" in none.stderr
    assert ReviewBook(world.engine.store).reviews(idle.id) == []


@pytest.mark.parametrize("counts", [False, True])
def test_an_agent_approval_satisfies_require_approval_only_when_opted_in(
    tmp_path: Path, git_repo: Path, counts: bool
) -> None:
    merge = "    merge:\n      agentApprovalCounts: true\n" if counts else ""
    world = make_world(tmp_path, git_repo, "record", project_extra=merge, review=True)
    author = world.spawn()
    head = commit(author, "login.py", "TIMEOUT = 2\n", "a faster login")
    world.engine.ci(author.id)
    from tests.support.engine import wait_for

    wait_for(lambda: green(world, author.id, head), timeout=60)
    done = ao(world, "review", "approve", author.id, "looks right", actor="app-9")
    assert done.returncode == 0, done.stderr
    pr = world.engine.reconcile_one(author.id).pr
    assert pr is not None
    if counts:
        assert (pr.review, pr.state, pr.blockers) == ("approved", "mergeable", ())
    else:
        assert (pr.review, pr.state) == ("pending", "open")
        assert "not approved" in pr.blockers
        # The operator's own approval is still what merge asks for.
        approved = world.engine.approve(author.id).pr
        assert approved is not None and approved.state == "mergeable"


@pytest.mark.reactions
async def test_a_green_head_gets_one_reviewer_whose_findings_reach_the_author(
    tmp_path: Path, git_repo: Path
) -> None:
    world = make_world(tmp_path, git_repo, "record", review=True, registry=role_shell_registry())
    author = world.spawn()
    book = ReviewBook(world.engine.store)

    def reviewers() -> list[str]:
        return [s.id for s in world.engine.list() if s.role is Role.REVIEWER]

    async with reacting(world.engine) as errors:
        head = commit(author, "login.py", "TIMEOUT = 2\n", "a faster login")
        started = await until(
            lambda: [r for r in world.reactions(author.id) if r["outcome"] == "reviewing"],
            what="a reviewer spawned",
            timeout=90,
        )
        review = book.at(author.id, head)
        assert review is not None and review.state == "reviewing"
        reviewer = review.reviewer
        assert reviewers() == [reviewer]
        assert started[0]["key"] == "agent-review"
        assert started[0]["reason"] == (
            f"agent review started: {reviewer} reviews {author.id} at {head[:10]}"
        )
        spawned = world.engine.get(reviewer)
        assert spawned.base_branch == author.branch
        assert f"ao-tui review request-changes {author.id}" in spawned.prompt
        mark = world.engine.get(author.id).reaction
        assert mark is not None and (mark.key, mark.status) == ("agent-review", "acting")

        # The scripted reviewer: two findings (one trying to type into the terminal is
        # refused; the other, made of odd but printable text, goes through inert) and a
        # request for changes, as the reviewer agent's own ao-tui calls.
        refused = await asyncio.to_thread(
            ao,
            world,
            "review",
            "comment",
            author.id,
            "--file",
            "login.py",
            "--line",
            "1",
            "\x1b]0;pwned\x07",
            actor=reviewer,
        )
        assert refused.returncode != 0 and "the comment has" in refused.stderr
        for line, text in [
            ("1", "2 s is too short on a cold start"),
            ("1", "add a test for the timeout; ‮not reversed‬ $(rm -rf ~)"),
        ]:
            got = await asyncio.to_thread(
                ao,
                world,
                "review",
                "comment",
                author.id,
                "--file",
                "login.py",
                "--line",
                line,
                text,
                actor=reviewer,
            )
            assert got.returncode == 0, got.stderr
        done = await asyncio.to_thread(
            ao, world, "review", "request-changes", author.id, "two problems", actor=reviewer
        )
        assert done.returncode == 0, done.stderr
        received = await until(
            lambda: pastes(world.received(author)), what="the findings typed to the author"
        )
        ended = await until(
            lambda: world.engine.get(reviewer).lifecycle is Lifecycle.KILLED,
            what="the reviewer ended",
        )
        assert ended
        assert not Path(world.engine.get(reviewer).worktree).exists()

        # The author pushes a fix: its new green head gets a new review.
        fixed = commit(author, "test_login.py", "def test_timeout(): pass\n", "test it")
        await until(
            lambda: (r := book.at(author.id, fixed)) is not None and r.state == "reviewing",
            what="a review of the new head",
            timeout=90,
        )
        await asyncio.sleep(1.0)
    assert errors == []
    (paste,) = received  # exactly one bracketed paste, with both findings
    text = paste.decode()
    assert "2 s is too short on a cold start" in text
    assert "add a test for the timeout;" in text and "$(rm -rf ~)" in text
    assert "\u202e" not in text and "\x1b" not in text  # inert: no bidi override, no escape
    assert text.count(f"login.py:1 ({reviewer}[bot])") == 2
    assert f"(the PR) ({reviewer}[bot]):\ntwo problems" in text
    second = [s for s in reviewers() if s != reviewer]
    assert len(second) == 1

    # A restart (a new lease holder) at the same head spawns no second reviewer.
    restarted = make_engine(world.config, role_shell_registry())
    async with reacting(restarted) as errors:
        await asyncio.sleep(3.0)
    assert errors == []
    assert len(reviewers()) == 2
    assert [(r.head_sha, r.state) for r in book.reviews(author.id)] == [
        (head, "submitted"),
        (fixed, "reviewing"),
    ]
    starts = [r for r in world.reactions(author.id) if r["outcome"] == "reviewing"]
    assert len(starts) == 2


@pytest.mark.reactions
async def test_a_review_a_crash_left_starting_is_told_and_never_spawned_again(
    tmp_path: Path, git_repo: Path
) -> None:
    # What a lease holder killed at the fault point "review.recorded" leaves: the review
    # recorded, no reviewer spawned. (A real daemon process cannot be used here: the
    # installed shell agent cannot run a reviewer, tests/support/role_shell.py.)
    world = make_world(tmp_path, git_repo, "record", review=True, registry=role_shell_registry())
    author = world.spawn()
    head = commit(author, "login.py", "TIMEOUT = 2\n", "a faster login")
    book = ReviewBook(world.engine.store)
    assert book.begin(author.id, head, reviewer="", state="starting") is not None
    async with reacting(world.engine) as errors:
        escalated = await until(
            lambda: [r for r in world.reactions(author.id) if r["outcome"] == "escalated"],
            what="the interrupted review told to the operator",
            timeout=90,
        )
        await asyncio.sleep(2.0)  # a few more looks: still nothing spawned for that head
    assert errors == []
    assert [s.id for s in world.engine.list() if s.role is Role.REVIEWER] == []
    assert escalated[0]["key"] == "agent-review"
    assert escalated[0]["reason"] == (
        f"agent review of {head[:10]} got no verdict: ao-tui stopped while starting the reviewer"
    )
    failed = book.at(author.id, head)
    assert failed is not None and failed.state == "failed"
    mark = world.engine.get(author.id).reaction
    assert mark is not None and (mark.key, mark.status) == ("agent-review", "escalated")


@pytest.mark.reactions
async def test_auto_merge_without_required_approval_waits_for_the_agent_review(
    tmp_path: Path, git_repo: Path
) -> None:
    """``merge.requireApproval: false`` and auto-merge on: a green head is mergeable at once,
    but the project has its heads reviewed by an agent, so the merge waits for its verdict
    (it used to merge before the reviewer had read a line). Changes requested hold it; an
    approval of the next head lets it merge."""
    world = make_world(
        tmp_path,
        git_repo,
        "record",
        reactions="  approved-and-green:\n    auto: true\n    action: auto-merge\n",
        project_extra="    merge:\n      requireApproval: false\n",
        review=True,
        registry=role_shell_registry(),
    )
    author = world.spawn()
    book = ReviewBook(world.engine.store)

    def outcomes(outcome: str) -> list[dict[str, object]]:
        return [r for r in world.reactions(author.id) if r["outcome"] == outcome]

    async with reacting(world.engine) as errors:
        head = commit(author, "login.py", "TIMEOUT = 2\n", "a faster login")
        await until(
            lambda: (r := book.at(author.id, head)) is not None and r.state == "reviewing",
            what="a reviewer of the green head",
            timeout=90,
        )
        held = await until(lambda: outcomes("held"), what="auto-merge held")
        assert held[0]["reason"] == f"waits for the agent review of {head[:10]}"
        pr = world.engine.get(author.id).pr
        assert pr is not None and pr.state == "mergeable"  # nothing but the review held it
        reviewer = book.at(author.id, head).reviewer  # type: ignore[union-attr]
        done = await asyncio.to_thread(
            ao, world, "review", "request-changes", author.id, "no test", actor=reviewer
        )
        assert done.returncode == 0, done.stderr
        await until(lambda: len(outcomes("held")) == 2, what="held for the changes requested")
        assert outcomes("held")[1]["reason"] == (
            f"the agent review of {head[:10]} requested changes"
        )
        await asyncio.sleep(1.0)
        assert world.engine.get(author.id).lifecycle is Lifecycle.RUNNING

        fixed = commit(author, "test_login.py", "def test_timeout(): pass\n", "test it")
        await until(
            lambda: (r := book.at(author.id, fixed)) is not None and r.state == "reviewing",
            what="a review of the new head",
            timeout=90,
        )
        second = book.at(author.id, fixed).reviewer  # type: ignore[union-attr]
        done = await asyncio.to_thread(
            ao, world, "review", "approve", author.id, "good now", actor=second
        )
        assert done.returncode == 0, done.stderr
        merged = await until(lambda: outcomes("merged"), what="the auto-merge", timeout=60)
    assert errors == []
    assert merged[0]["reason"] == f"merged: green, no approval required at {fixed[:10]}"
    assert world.engine.get(author.id).lifecycle is Lifecycle.MERGED
