"""``python -m tests.bench agents``: detection latencies per agent, in one table.

Claude Code, Codex, Aider and Gemini, each its real CLI offline against its scripted stand-in,
driven alike by :mod:`tests.bench.agent_driver` (an agent whose binary is missing gets one
"skipped" row). The agents' own clocks:

- Claude Code: asked = the stand-in receiving the prompt it answers with a ``Bash``
  tool_use; turn end = Claude firing its Stop hook (ao-tui's hook log stamps it);
- Codex: see :mod:`tests.bench.bench_codex`;
- Aider: asked = the stand-in receiving the prompt it answers with a new file (Aider then
  asks "Create new file?" on its screen only); turn end = the chat history's last write
  (Aider appends to it when a turn is done, with no timestamps of its own);
- Gemini: asked = the stand-in receiving the prompt it answers with a shell tool call;
  turn end = the transcript's timestamp on the answer that ends the turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.engine import Engine
from core.git import run_git
from core.models import Session
from plugins.agent.aider import AiderAgent
from plugins.agent.aider.plugin import HISTORY_FILE
from plugins.agent.claude_code.hooks import parse_hook_log
from plugins.agent.claude_code.plugin import HOOK_LOG
from plugins.agent.gemini import GeminiAgent
from tests.bench.agent_driver import (
    AgentBench,
    Row,
    World,
    agent_engine,
    agent_rows,
    first_mention,
    sample_file,
)
from tests.bench.bench_codex import CODEX
from tests.bench.sandbox import Sandbox


def _claude_turn_ended(engine: Engine, session: Session) -> float:
    """When Claude fired the Stop hook that ended the session's last turn.

    Stop is Claude's own turn-end announcement; its transcript markers come only once the
    hooks have finished, so they may follow the report. Claude's own gap between its last
    assistant line and Stop (ms to ~0.5 s) is not counted: it is not detection.
    """
    log = engine.locations.session_dir(session.id) / HOOK_LOG
    stops = [r.at for r in parse_hook_log(log.read_text().splitlines()) if r.event == "Stop"]
    ended = stops[-1] if stops else None
    if ended is None:
        raise RuntimeError(f"{session.id}: idle reported with no Stop hook logged")
    return ended


def _gemini_turn_ended(session: Session) -> float:
    """When Gemini wrote the answer that ended the session's last turn.

    That is the transcript's last ``gemini`` message calling no tool (Gemini writes a
    message once its answer is complete). Its ``AfterAgent`` hook, the turn's end as the
    hooks tell it, fires after that write and may follow the report.
    """
    stamp = ""
    for line in Path(str(session.extra["transcript_path"])).read_text().splitlines():
        entry = json.loads(line)
        if entry.get("type") == "gemini" and entry.get("content") and not entry.get("toolCalls"):
            stamp = entry["timestamp"]
    if not stamp:
        raise RuntimeError(f"{session.id}: idle reported with no answer in the transcript")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@contextmanager
def claude_world(box: Sandbox, binary: Path) -> Iterator[World]:
    """An engine whose project runs the real Claude Code offline on the Messages stand-in."""
    from tests.e2e.anthropic_standin import AnthropicStandin
    from tests.e2e.claude_harness import claude_env

    with AnthropicStandin() as standin:
        # Onboarding and the key are answered here; the plugin trusts each new worktree.
        env = claude_env(box.root / "claude-home", standin.base_url, box.repo)
        engine = agent_engine(box, "claude-code", binary, env)
        yield World(
            engine=engine,
            task=lambda i: f"RUN_BASH touch {sample_file(i)}",
            asked_at=lambda i: first_mention(standin.message_requests(), i),
            ended_at=lambda session: _claude_turn_ended(engine, session),
        )


@contextmanager
def aider_world(box: Sandbox, binary: Path) -> Iterator[World]:
    """An engine whose project runs the real Aider offline on the Chat Completions stand-in."""
    from tests.e2e.aider_harness import aider_env
    from tests.e2e.openai_chat_standin import OpenAIChatStandin

    # Aider commits its edits itself: the repository needs an identity.
    run_git(["config", "user.name", "ao-tui bench"], cwd=box.repo)
    run_git(["config", "user.email", "bench@example.invalid"], cwd=box.repo)
    with OpenAIChatStandin() as standin:
        env = aider_env(box.root / "aider-home", standin.base_url)
        yield World(
            engine=agent_engine(box, "aider", binary, env, AiderAgent),
            task=lambda i: f"WRITE_FILE {sample_file(i)} hello from the bench",
            asked_at=lambda i: first_mention(standin.chat_requests(), i),
            ended_at=lambda s: (Path(s.worktree) / HISTORY_FILE).stat().st_mtime,
        )


@contextmanager
def gemini_world(box: Sandbox, binary: Path) -> Iterator[World]:
    """An engine whose project runs the real Gemini CLI offline on the Gemini API stand-in."""
    from tests.e2e.gemini_harness import gemini_env, write_gemini_home
    from tests.e2e.gemini_standin import GeminiStandin

    with GeminiStandin() as standin:
        home = write_gemini_home(box.root / "gemini-home", standin.base_url)
        env = gemini_env(standin.base_url, home)
        yield World(
            engine=agent_engine(box, "gemini", binary, env, GeminiAgent),
            task=lambda i: f"RUN_SHELL touch {sample_file(i)}",
            asked_at=lambda i: standin.requests_after(sample_file(i)),
            ended_at=_gemini_turn_ended,
        )


def _find_claude() -> Path | None:
    from tests.e2e.claude_harness import find_claude_binary

    return find_claude_binary()


def _find_aider() -> Path | None:
    from tests.e2e.aider_harness import find_aider_binary

    return find_aider_binary()


def _find_gemini() -> Path | None:
    from tests.e2e.gemini_harness import find_gemini_binary

    return find_gemini_binary()


AGENTS = [
    AgentBench("claude-code", _find_claude, claude_world),
    CODEX,
    AgentBench("aider", _find_aider, aider_world),
    AgentBench("gemini", _find_gemini, gemini_world),
]
"""Every agent with a real-binary benchmark, in the table's order."""


def bench_agents(samples: int = 5) -> list[Row]:
    """One block of rows per agent: the same four latencies, p50 / p95 each."""
    return [row for bench in AGENTS for row in agent_rows(bench, samples)]


BENCHMARKS = [bench_agents]
