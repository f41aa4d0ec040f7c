"""One driver for every agent's latencies: a real agent CLI under the daemon's reconcile loop.

Each agent runs offline against its scripted stand-in, so what is measured is the agent's
start-up and rendering plus ao-tui's detection, not a model's thinking. Per sample session:

- spawn -> first activity: ``spawn`` called -> the first state not set by the engine;
- approval asked -> waiting reported: the stand-in receiving the request it answers with
  what makes the agent ask -> the store says waiting;
- turn end -> idle reported: the end of the turn as the agent itself recorded it (its
  rollout, transcript or history) -> the store says idle;
- send -> confirmed: ``Engine.send`` until the agent's own record shows the message.

An agent takes part through an :class:`AgentBench`: how to find its binary, and a world (an
engine on its stand-in, with the clocks above) built inside the benchmark's sandbox.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import ActivityState, Session
from core.registry import Registry
from tests.bench.sandbox import Sandbox, sandbox
from tests.support.engine import make_engine

Row = tuple[str, str, str, str]

MEASURES = (
    ("first", "spawn -> first activity"),
    ("waiting", "approval asked -> waiting reported"),
    ("idle", "turn end -> idle reported"),
    ("send", "send -> confirmed delivered"),
)
"""The measures, in the order the table shows them."""


@dataclass(frozen=True)
class World:
    """A running agent world: the engine, the prompts, and the agent's own clocks."""

    engine: Engine
    task: Callable[[int], str]
    """The launch prompt of sample ``i``: one that makes the agent ask for an approval."""
    asked_at: Callable[[int], float | None]
    """When the stand-in got the request of sample ``i`` that it answers with the ask."""
    ended_at: Callable[[Session], float]
    """When the agent recorded the end of the session's (idle) turn, epoch seconds."""


@dataclass(frozen=True)
class AgentBench:
    """One agent's part in the benchmark."""

    agent: str
    """The agent plugin's name, which heads its rows."""
    find_binary: Callable[[], Path | None]
    """The binary, or None when it is not installed (the agent is then skipped)."""
    world: Callable[[Sandbox, Path], AbstractContextManager[World]]
    """The world for (sandbox, binary); entered inside the sandbox's environment."""


class Recorded(Protocol):
    """A request a stand-in recorded: its parsed body and arrival time."""

    body: Any
    at: float


def sample_file(i: int) -> str:
    """The file sample ``i`` asks the agent to create (what the stand-ins' requests name)."""
    return f"bench-{i}.txt"


def first_mention(requests: Iterable[Recorded], i: int) -> float | None:
    """When the first request naming sample ``i``'s file arrived at the stand-in."""
    for request in requests:
        if sample_file(i) in json.dumps(request.body):
            return request.at
    return None


def agent_engine(
    box: Sandbox, agent: str, binary: Path, env: dict[str, str], plugin: type | None = None
) -> Engine:
    """An engine on one project ``app`` in the sandbox repo, running ``agent`` from ``binary``.

    ``plugin`` is registered when the installed package does not list ``agent`` yet.
    """
    project = {
        "path": str(box.repo),
        "defaultBranch": "main",
        "sessionPrefix": "app",
        "agent": agent,
        "agentConfig": {"command": str(binary)},
        "env": env,
    }
    cfg = box.root / f"{agent}.yaml"
    cfg.write_text(json.dumps({"projects": {"app": project}}))  # JSON is YAML
    registry = Registry()
    if plugin is not None and agent not in registry.names("agent"):
        registry.register("agent", agent, plugin)
    return make_engine(cfg, registry)


def pct(values: list[float], p: int) -> float:
    """The ``p``-th percentile of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def agent_rows(bench: AgentBench, samples: int = 5) -> list[Row]:
    """The measures for one agent, p50 / p95 over ``samples`` sessions, or one skip row."""
    # Looked up before the sandbox: it moves HOME, and the binaries live under ~/.cache.
    binary = bench.find_binary()
    if binary is None:
        return [(f"{bench.agent}: all measures", "skipped", "", f"no {bench.agent} binary")]
    found: dict[str, list[float]] = {key: [] for key, _ in MEASURES}
    with sandbox() as box, bench.world(box, binary) as world:
        asyncio.run(_measure(world, samples, found))
    rows: list[Row] = []
    for key, label in MEASURES:
        values = found[key]
        result = f"{statistics.median(values) * 1000:.0f} / {pct(values, 95) * 1000:.0f} ms"
        rows.append((f"{bench.agent}: {label}: p50 / p95", result, "", ""))
    return rows


async def _measure(world: World, samples: int, found: dict[str, list[float]]) -> None:
    """Drive ``samples`` sessions through approval, turn end and a send, under the loop."""
    engine = world.engine

    async def until(session_id: str, check: Callable[[Session], bool]) -> Session:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            session = await asyncio.to_thread(engine.get, session_id)
            if check(session):
                return session
            await asyncio.sleep(0.01)
        raise RuntimeError(f"{session_id}: timed out at {engine.get(session_id).activity}")

    stop = asyncio.Event()
    loop = asyncio.create_task(reconcile_loop(engine, stop, interval=1.0))
    await asyncio.sleep(1.0)
    try:
        for i in range(samples):
            start = time.time()
            session = await asyncio.to_thread(engine.spawn, "app", world.task(i))
            await until(session.id, lambda s: s.activity.source.value not in ("engine", "none"))
            found["first"].append(time.time() - start)
            await until(session.id, lambda s: s.activity.state is ActivityState.WAITING_INPUT)
            asked = world.asked_at(i)
            found["waiting"].append(time.time() - (asked or start))
            await asyncio.to_thread(engine.respond, session.id, True)
            idle = await until(session.id, lambda s: s.activity.state is ActivityState.IDLE)
            found["idle"].append(time.time() - world.ended_at(idle))
            start = time.time()
            result, detail = await asyncio.to_thread(engine.send, session.id, f"note {i}")
            found["send"].append(time.time() - start)
            if result.value != "delivered":
                raise RuntimeError(f"send not delivered: {detail}")
            await asyncio.to_thread(engine.kill, session.id)
    finally:
        stop.set()
        await loop
