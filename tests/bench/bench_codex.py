"""Codex latencies with the real Codex CLI, under the daemon's own reconcile loop.

The agent runs offline against the Responses API stand-in of the e2e tests, so what is
measured is Codex's start-up and rendering plus ao-tui's detection, not a model's thinking:

- spawn -> first activity: ``spawn`` called -> the first state not set by the engine;
- approval asked -> waiting reported: the stand-in's answer carrying the tool call -> the
  store says waiting (only the pane shows it: the rollout must first stay quiet
  :data:`plugins.agent.codex.plugin.PANE_QUIET` seconds);
- turn end -> idle reported: the rollout's ``task_complete`` timestamp -> the store says
  idle (the rollout's dir is watched, so this is a wake-up, not a tick);
- send -> confirmed: ``Engine.send`` until the rollout shows the message.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from core.daemon import reconcile_loop
from core.engine import Engine
from core.models import ActivityState, Session
from core.registry import Registry
from plugins.agent.codex import CodexAgent
from tests.bench.sandbox import sandbox

Row = tuple[str, str, str, str]


def _rollout_time(path: Path, event: str) -> float:
    """The timestamp of the last ``event`` in a rollout, as epoch seconds."""
    stamp = ""
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "event_msg" and entry["payload"].get("type") == event:
            stamp = entry["timestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))]


def bench_codex_latencies(samples: int = 5) -> list[Row]:
    """The four latencies above, p50 and p95 over ``samples`` sessions."""
    from tests.e2e.codex_harness import codex_env, find_codex_binary, write_codex_home
    from tests.e2e.responses_standin import ResponsesStandin
    from tests.support.engine import make_engine

    binary = find_codex_binary()
    if binary is None:
        return [("spawn -> first activity (real Codex)", "skipped", "", "no Codex binary")]
    found: dict[str, list[float]] = {"first": [], "waiting": [], "idle": [], "send": []}
    with sandbox() as box, ResponsesStandin() as standin:
        codex_home = write_codex_home(box.root / "codex-home", standin.base_url)
        project = {
            "path": str(box.repo),
            "defaultBranch": "main",
            "sessionPrefix": "app",
            "agent": "codex",
            "agentConfig": {"command": str(binary)},
            "env": codex_env(box.root / "codex-user", codex_home),
        }
        cfg = box.root / "codex.yaml"
        cfg.write_text(json.dumps({"projects": {"app": project}}))
        registry = Registry()
        if "codex" not in registry.names("agent"):
            registry.register("agent", "codex", CodexAgent)
        engine = make_engine(cfg, registry)
        asyncio.run(_measure(engine, standin.requests_after, samples, found))
    rows: list[Row] = []
    for key, label in (
        ("first", "spawn -> first activity"),
        ("waiting", "approval asked -> waiting reported"),
        ("idle", "turn end -> idle reported"),
        ("send", "send -> confirmed delivered"),
    ):
        values = found[key]
        result = f"{statistics.median(values) * 1000:.0f} / {_pct(values, 95) * 1000:.0f} ms"
        rows.append((f"{label} (real Codex): p50 / p95", result, "", ""))
    return rows


async def _measure(
    engine: Engine,
    requests_after: Callable[[str], float | None],
    samples: int,
    found: dict[str, list[float]],
) -> None:
    """Drive ``samples`` sessions through approval, turn end and a send, under the loop."""

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
    for i in range(samples):
        start = time.time()
        session = await asyncio.to_thread(engine.spawn, "app", f"RUN_SHELL touch bench-{i}.txt")
        await until(session.id, lambda s: s.activity.source.value not in ("engine", "none"))
        found["first"].append(time.time() - start)
        await until(session.id, lambda s: s.activity.state is ActivityState.WAITING_INPUT)
        asked = requests_after(f"bench-{i}.txt")
        found["waiting"].append(time.time() - (asked or start))
        await asyncio.to_thread(engine.respond, session.id, True)
        idle = await until(session.id, lambda s: s.activity.state is ActivityState.IDLE)
        ended = _rollout_time(Path(str(idle.extra["transcript_path"])), "task_complete")
        found["idle"].append(time.time() - ended)
        start = time.time()
        result, detail = await asyncio.to_thread(engine.send, session.id, f"note {i}")
        found["send"].append(time.time() - start)
        if result.value != "delivered":
            raise RuntimeError(f"send not delivered: {detail}")
        await asyncio.to_thread(engine.kill, session.id)
    stop.set()
    await loop


BENCHMARKS = [bench_codex_latencies]
