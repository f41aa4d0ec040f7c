"""Codex latencies with the real Codex CLI, under the daemon's own reconcile loop.

Driven by :mod:`tests.bench.agent_driver` against the Responses API stand-in of the e2e
tests. Codex's clocks:

- approval asked: the stand-in receiving the prompt it answers with a shell tool call; only
  the pane shows the ask (the rollout must first stay quiet
  :data:`plugins.agent.codex.plugin.PANE_QUIET` seconds);
- turn end: the rollout's ``task_complete`` timestamp (the rollout's dir is watched, so idle
  is a wake-up, not a tick);
- send confirmed: the rollout shows the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.models import Session
from plugins.agent.codex import CodexAgent
from tests.bench.agent_driver import AgentBench, Row, World, agent_engine, agent_rows, sample_file
from tests.bench.sandbox import Sandbox


def _rollout_time(path: Path, event: str) -> float:
    """The timestamp of the last ``event`` in a rollout, as epoch seconds."""
    stamp = ""
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "event_msg" and entry["payload"].get("type") == event:
            stamp = entry["timestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _turn_ended(session: Session) -> float:
    """When Codex wrote the session's last ``task_complete``."""
    return _rollout_time(Path(str(session.extra["transcript_path"])), "task_complete")


@contextmanager
def codex_world(box: Sandbox, binary: Path) -> Iterator[World]:
    """An engine whose project runs the real Codex offline on the Responses stand-in."""
    from tests.e2e.codex_harness import codex_env, write_codex_home
    from tests.e2e.responses_standin import ResponsesStandin

    with ResponsesStandin() as standin:
        codex_home = write_codex_home(box.root / "codex-home", standin.base_url)
        env = codex_env(box.root / "codex-user", codex_home)
        yield World(
            engine=agent_engine(box, "codex", binary, env, CodexAgent),
            task=lambda i: f"RUN_SHELL touch {sample_file(i)}",
            asked_at=lambda i: standin.requests_after(sample_file(i)),
            ended_at=_turn_ended,
        )


def _find_codex() -> Path | None:
    from tests.e2e.codex_harness import find_codex_binary

    return find_codex_binary()


CODEX = AgentBench("codex", _find_codex, codex_world)
"""Codex's part in ``python -m tests.bench agents``."""


def bench_codex_latencies(samples: int = 5) -> list[Row]:
    """The four latencies of :mod:`tests.bench.agent_driver` for Codex alone."""
    return agent_rows(CODEX, samples)


BENCHMARKS = [bench_codex_latencies]
