"""A project whose CI fails on demand, a scripted agent, and the reactor running for real:
the parts tests/integration/test_reactions_local.py and the reactions benchmark share.

The CI script reads ``mode.txt`` in the worktree (``fail`` makes it fail like pytest does,
with a non-ASCII line so a byte check means something); the agent is
:mod:`tests.support.fixing_agent` (records every byte, fixes or flails on a CI failure).
The reactor runs as ``ao-tui daemon``, ``events --follow`` and the cockpit run it:
:func:`core.daemon.reconcile_loop` with ``react=True``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import Event, Session
from core.registry import Registry
from tests.conftest import run_git
from tests.support.engine import make_engine, wait_for, write_config

T = TypeVar("T")

FIXING_AGENT = Path(__file__).with_name("fixing_agent.py")
FAILING_LINE = "FAILED tests/test_login.py::test_login_timeout - AssertionError: assert 3 <= 2"
CHECK_SCRIPT = f"""\
import pathlib, sys
mode = pathlib.Path("mode.txt")
mode = mode.read_text().strip() if mode.exists() else "pass"
print("collected 3 items")
if mode == "fail":
    print("tests/test_login.py ..F")
    print({FAILING_LINE!r})
    print("E   délai dépassé: the login took 3 s — the limit is 2 s")
    sys.exit(1)
print("3 passed")
"""


def prepare_repo(repo: Path) -> None:
    """Give ``repo`` the CI script (green until a branch writes ``fail`` to mode.txt)."""
    (repo / "check.py").write_text(CHECK_SCRIPT, encoding="utf-8")
    run_git(repo, "add", "check.py")
    run_git(repo, "commit", "-q", "-m", "add the CI script")


@dataclass
class World:
    """One project on a real repo, its engine, and where the agents record what they got."""

    tmp_path: Path
    repo: Path
    config: Path
    engine: Engine

    def received(self, session: Session) -> bytes:
        """Every byte the session's agent has been sent so far."""
        path = self.record(session)
        return path.read_bytes() if path.exists() else b""

    def record(self, session: Session) -> Path:
        """The file the session's agent records into (one per session, by its worktree)."""
        return self.tmp_path / "records" / f"{Path(session.worktree).name}.bin"

    def spawn(self, task: str = "make the login faster") -> Session:
        """A session whose agent records into its own file, once the agent reads messages.

        The shell agent cannot tell when its command is ready; text typed before the
        agent turned on raw mode and bracketed paste would reach it as cooked lines.
        """
        session = self.engine.spawn("app", task)
        wait_for(lambda: self.record(session).exists(), timeout=20)
        return session

    def reactions(self, session_id: str) -> list[dict[str, Any]]:
        """The data of the session's ``reaction`` events, oldest first."""
        return [e.data for e in self.events(session_id) if e.kind == "reaction"]

    def events(self, session_id: str) -> list[Event]:
        """Every event of the session, oldest first."""
        return [
            e
            for e in self.engine.store.events_after(0, limit=100_000)
            if e.session_id == session_id
        ]


def make_world(
    tmp_path: Path,
    repo: Path,
    mode: str,
    *,
    reactions: str = "",
    extra: str = "",
    project_extra: str = "",
    review: bool = False,
    registry: Registry | None = None,
) -> World:
    """A world whose agents run :mod:`fixing_agent` in ``mode``; ``reactions`` is the
    top-level ``reactions:`` block (YAML, indented by 2); ``extra`` more top-level YAML;
    ``project_extra`` more of the project's (indented by 4). ``review``: green heads get
    a reviewer agent (``agent-review``, on by default with the local SCM); off otherwise,
    so a test of another reaction has no reviewer sessions beside its own."""
    prepare_repo(repo)
    records = tmp_path / "records"
    records.mkdir()
    agent = f"{sys.executable} {FIXING_AGENT} {records} {mode}"
    ci = f"    ci:\n      command: '{sys.executable} check.py'\n      timeout: 60\n"
    if not review:
        reactions += "  agent-review:\n    auto: false\n"
    extra += f"reactions:\n{reactions}" if reactions else ""
    config = write_config(
        tmp_path, repo, command=agent, extra_project_yaml=ci + project_extra, extra=extra
    )
    return World(tmp_path, repo, config, make_engine(config, registry))


def commit(session: Session, name: str, text: str, message: str = "work") -> str:
    """Commit ``name`` with ``text`` on the session's branch (the agent's own work); the sha."""
    worktree = Path(session.worktree)
    (worktree / name).write_text(text)
    run_git(worktree, "add", name)
    run_git(worktree, "commit", "-q", "-m", message)
    return run_git(worktree, "rev-parse", "HEAD").strip()


@contextlib.asynccontextmanager
async def reacting(engine: Engine) -> AsyncIterator[list[Exception]]:
    """The reconcile loop with reactions on, as the lease holder runs it, until the block
    ends; yields the errors it handed on (a test asserts there were none)."""
    stop = asyncio.Event()
    errors: list[Exception] = []
    task = asyncio.create_task(
        reconcile_loop(engine, stop, interval=0.2, react=True, on_error=errors.append)
    )
    try:
        yield errors
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def until(check: Callable[[], T | None], timeout: float = 45.0, what: str = "") -> T:
    """Poll ``check`` (run in a thread) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await asyncio.to_thread(check)
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what or 'condition'} not met within {timeout}s (last: {last!r})")


def pastes(raw: bytes) -> list[bytes]:
    """The bracketed pastes in what an agent received, each exactly as it arrived."""
    found = []
    rest = raw
    while b"\x1b[200~" in rest:
        start = rest.index(b"\x1b[200~") + len(b"\x1b[200~")
        end = rest.index(b"\x1b[201~", start)
        found.append(rest[start:end])
        rest = rest[end:]
    return found


def latency(events: list[Event], fact_kind: str, outcomes: tuple[str, ...]) -> float | None:
    """Seconds from the first ``fact_kind`` event to the first reaction with one of
    ``outcomes`` after it; None if either is missing."""
    fact = next((e for e in events if e.kind == fact_kind), None)
    if fact is None:
        return None
    acted = next(
        (
            e
            for e in events
            if e.kind == "reaction" and e.seq > fact.seq and e.data.get("outcome") in outcomes
        ),
        None,
    )
    return None if acted is None else acted.ts - fact.ts
