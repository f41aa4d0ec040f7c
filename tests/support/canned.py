"""A fixed cockpit state for the tui tests, the benchmarks and the screenshots.

The state is built without tmux or git: a :class:`CannedRuntime` answers with canned pane
screens, sessions are inserted straight into a throwaway store, and the engine clock is
frozen, so every run draws the same pixels (:func:`sample_engine`). Test support only: the
product does not ship it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.ci_report import CiReport
from core.config import Config, ProjectConfig
from core.engine import Engine
from core.locations import Locations
from core.models import (
    Activity,
    ActivityState,
    Lifecycle,
    ReviewThread,
    Session,
    SessionPR,
    SignalSource,
    WaitingFor,
    Zone,
)
from core.registry import Registry
from core.scm import CheckRun
from core.slots import PaneInfo, SlotError
from core.store import _append_event as append_event_at
from core.zones import zone_of

NOW = 1_767_225_600.0
"""The frozen clock: 2026-01-01 00:00:00 UTC."""

_GREY, _ORANGE, _BLUE = "\x1b[38;5;246m", "\x1b[38;5;174m", "\x1b[38;5;153m"
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_SGR = re.compile("\x1b\\[[0-9;]*m")

PERMISSION_SCREEN = "\n".join(
    [
        f"{_ORANGE}╭─── Claude Code {_GREY}v2.1.197{_ORANGE} {'─' * 30}╮{_RESET}",
        f"{_ORANGE}│{_RESET}   {_BOLD}Welcome back!{_RESET}   {_GREY}~/code/app{_RESET}"
        f"{' ' * 26}{_ORANGE}│{_RESET}",
        f"{_ORANGE}╰{'─' * 55}╯{_RESET}",
        "",
        f"{_GREY}>{_RESET} Drop the legacy build directory and its Makefile target",
        "",
        f"{_GREY}●{_RESET} {_BOLD}Bash{_RESET}(rm -rf build/legacy && git rm -q Makefile.legacy)",
        f"{_GREY}  ⎿  Waiting…{_RESET}",
        "",
        f"{_BLUE}────────────────────────────────────────────────────────{_RESET}",
        f" {_BOLD}{_BLUE}Bash command{_RESET}",
        "",
        "   rm -rf build/legacy && git rm -q Makefile.legacy",
        f"   {_GREY}Remove the legacy build output and its Makefile{_RESET}",
        "",
        " Do you want to proceed?",
        f" {_BLUE}\u276f{_RESET} {_GREY}1.{_RESET} {_BLUE}Yes{_RESET}",
        f"   {_GREY}2.{_RESET} Yes, and don't ask again for {_BOLD}rm{_RESET} commands in this "
        "project",
        f"   {_GREY}3.{_RESET} No, and tell Claude what to do differently",
        "",
        f" {_GREY}Esc to cancel · Tab to amend{_RESET}",
    ]
)

WORKING_SCREEN = "\n".join(
    [
        f"{_GREY}>{_RESET} Rate-limit the webhook notifier (429 + Retry-After)",
        "",
        f"{_GREY}●{_RESET} {_BOLD}Edit{_RESET}(plugins/notifier/webhook.py)",
        f"{_GREY}  ⎿  Updated plugins/notifier/webhook.py with 18 additions{_RESET}",
        f"{_GREY}●{_RESET} {_BOLD}Bash{_RESET}(pytest tests/unit/test_webhook.py -q)",
        f"{_GREY}  ⎿  7 passed in 0.41s{_RESET}",
        "",
        f"{_ORANGE}✻ Honking… (esc to interrupt · 48.2k tokens){_RESET}",
    ]
)

EXITED_SCREEN = "\n".join(
    [
        "$ ./scripts/migrate.sh",
        "applying 0007_add_reports.sql",
        '\x1b[31mERROR: relation "reports" already exists\x1b[0m',
        "",
        "Pane is dead (status 1)",
    ]
)


class CannedRuntime:
    """A runtime whose panes are canned screens: no tmux, nothing is started.

    It records what the engine asks of it (``calls``), so tests can check what the
    cockpit sent without a real agent.
    """

    name = "tmux"
    socket_name: str | None = None

    def __init__(self, screens: dict[str, str] | None = None) -> None:
        """``screens`` maps pane ids (``%1``) to the ANSI text a capture returns."""
        self.screens: dict[str, str] = dict(screens or {})
        self.live: dict[str, str] = {}
        """tmux session name to pane id of the panes that exist."""
        self.calls: list[tuple[Any, ...]] = []

    def create(
        self, name: str, cwd: Path, argv: Sequence[str], *, width: int = 200, height: int = 50
    ) -> PaneInfo:
        """Refuse: the canned runtime starts nothing."""
        raise SlotError("the canned runtime cannot start processes")

    def kill(self, name: str) -> None:
        """Forget the session's pane."""
        self.calls.append(("kill", name))
        self.live.pop(name, None)

    def list_panes(self) -> dict[str, PaneInfo]:
        """The canned live panes."""
        return {
            name: PaneInfo(name, pane, 1000 + i, False)
            for i, (name, pane) in enumerate(self.live.items())
        }

    def capture(self, target: str, *, ansi: bool = False) -> str:
        """The canned screen of ``target``; without ``ansi`` its colours are left out, as
        tmux leaves them out (the engine reads plain screens, the preview coloured ones)."""
        self.calls.append(("capture", target))
        if target not in self.screens:
            raise SlotError(f"no pane {target}")
        screen = self.screens[target]
        return screen if ansi else _SGR.sub("", screen)

    def paste(self, target: str, text: str) -> None:
        """Record the paste."""
        self.calls.append(("paste", target, text))

    def send_keys(self, target: str, *keys: str) -> None:
        """Record the keys."""
        self.calls.append(("send_keys", target, *keys))

    def attach_argv(self, name: str, *, inside_tmux: bool) -> list[str]:
        """A harmless command standing in for ``tmux attach``."""
        return ["true", name]


def _session(sid: str, title: str, state: ActivityState, since_min: float, **kw: Any) -> Session:
    created = NOW - since_min * 60 - 600
    values: dict[str, Any] = {
        "id": sid,
        "project": "app",
        "agent": "claude-code",
        "title": title,
        "prompt": title,
        "branch": f"ao/{sid}-{'-'.join(title.lower().split()[:4])}",
        "worktree": f"/home/dev/.local/state/ao-tui/worktrees/app/{sid}",
        "tmux": f"ao-{sid}",
        "lifecycle": Lifecycle.RUNNING,
        "pane_id": f"%{sid.split('-')[1]}",
        "activity": Activity(state, SignalSource.HOOK, NOW - since_min * 60, kw.pop("detail", "")),
        "created_at": created,
        "updated_at": created,
        "base_branch": "main",
    }
    values.update(kw)
    return Session(**values)


def sample_sessions(transcript: Path | None = None) -> list[Session]:
    """Ten sessions spread over every zone, the oldest waiting on a permission prompt."""
    waiting = WaitingFor("permission", "Bash", "rm -rf build/legacy && git rm -q Makefile.legacy")
    extra = {"transcript_path": str(transcript)} if transcript else {}
    return [
        _session(
            "app-7",
            "Drop the legacy build dir",
            ActivityState.WAITING_INPUT,
            41,
            detail="Bash: rm -rf build/legacy",
            activity=Activity(
                ActivityState.WAITING_INPUT,
                SignalSource.HOOK,
                NOW - 41 * 60,
                "Bash: rm -rf build/legacy",
                waiting,
            ),
            extra={**extra, "tokens": 18_400, "cost_usd": 0.21},
        ),
        _session(
            "app-9",
            "Fix flaky login test",
            ActivityState.IDLE,
            3,
            detail="Fixed: the test now waits for the redirect",
        ),
        _session(
            "app-11",
            "Migrate reports table",
            ActivityState.EXITED,
            12,
            agent="shell",
            lifecycle=Lifecycle.EXITED,
            lifecycle_reason="agent exited with status 1",
        ),
        _session(
            "app-4",
            "Add CSV export to reports",
            ActivityState.IDLE,
            25,
            pr=SessionPR("mergeable", number=41),
        ),
        _session(
            "app-5",
            "Upgrade httpx to 0.28",
            ActivityState.WORKING,
            6,
            detail="Bash: pytest",
            pr=SessionPR(
                "ci_failed",
                number=43,
                ci="failing",
                review="pending",
                blockers=("CI failing", "not approved"),
                notes=("behind base by 2 commits",),
            ),
        ),
        _session(
            "app-6",
            "Document the plugin API",
            ActivityState.IDLE,
            95,
            pr=SessionPR(
                "review_pending",
                number=39,
                url="https://github.com/octo-org/app/pull/39",
                ci="passing",
                review="stale",
                blockers=("approval is for an older head",),
                threads=(
                    ReviewThread(
                        path="docs/plugins.md",
                        line=42,
                        author="mira",
                        body="Say which slot names are reserved before the example.",
                        replies=1,
                    ),
                    ReviewThread(
                        path="core/registry.py",
                        line=17,
                        author="jon",
                        body="The docstring still says plugins load eagerly.",
                    ),
                ),
            ),
        ),
        _session(
            "app-8",
            "Rate-limit the webhook notifier",
            ActivityState.WORKING,
            2,
            detail="Bash: pytest",
            extra={"tokens": 48_200, "cost_usd": 0.61},
        ),
        _session(
            "app-10", "Refactor session store queries", ActivityState.WORKING, 0.5, agent="shell"
        ),
        _session(
            "app-2",
            "Bootstrap CI workflow",
            ActivityState.IDLE,
            300,
            lifecycle=Lifecycle.MERGED,
            pr=SessionPR("merged", number=12),
        ),
        _session(
            "app-3",
            "Spike: tmux control mode",
            ActivityState.EXITED,
            200,
            lifecycle=Lifecycle.KILLED,
            lifecycle_reason="killed by operator",
        ),
    ]


def _write_transcript(path: Path) -> None:
    """A short Claude transcript for the detail view's Transcript tab."""
    lines = [
        {
            "type": "user",
            "timestamp": "2026-01-01T00:00:00Z",
            "message": {"role": "user", "content": "Drop the legacy build dir"},
        },
        {
            "type": "assistant",
            "timestamp": "2026-01-01T00:00:05Z",
            "message": {
                "role": "assistant",
                "model": "claude",
                "content": [
                    {"type": "text", "text": "I'll remove build/legacy and its Makefile target."}
                ],
            },
        },
        {
            "type": "assistant",
            "timestamp": "2026-01-01T00:00:06Z",
            "message": {
                "role": "assistant",
                "model": "claude",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "Grep",
                        "input": {"pattern": "legacy", "path": "Makefile"},
                    }
                ],
            },
        },
        {
            "type": "user",
            "timestamp": "2026-01-01T00:00:07Z",
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "Makefile:12:legacy: build/legacy",
                    }
                ],
            },
        },
        {
            "type": "assistant",
            "timestamp": "2026-01-01T00:00:08Z",
            "message": {
                "role": "assistant",
                "model": "claude",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "Bash",
                        "input": {"command": "rm -rf build/legacy && git rm -q Makefile.legacy"},
                    }
                ],
            },
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def many_sessions(count: int) -> list[Session]:
    """``count`` sessions cycling through the sample's states (none Done), ids app-1000 on.

    For measuring and testing the board with far more cards than the sample has.
    """
    templates = [s for s in sample_sessions() if zone_of(s) is not Zone.DONE]
    sessions = []
    for index in range(count):
        base = templates[index % len(templates)]
        sid = f"app-{1000 + index}"
        sessions.append(
            replace(
                base,
                id=sid,
                title=f"{base.title} #{index}",
                tmux=f"ao-{sid}",
                pane_id=f"%{1000 + index}",
                branch=f"ao/{sid}-task",
            )
        )
    return sessions


def sample_engine(home: Path, runtime: CannedRuntime | None = None) -> Engine:
    """An engine on a throwaway store under ``home`` holding :func:`sample_sessions`."""
    repo = home / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    config = Config(
        projects={"app": ProjectConfig(path=repo, session_prefix="app", agent="claude-code")}
    )
    runtime = runtime or CannedRuntime()
    registry = Registry()
    registry.register("runtime", "tmux", lambda: runtime)
    engine = Engine(
        config, locations=Locations(home=home / "state"), registry=registry, clock=lambda: NOW
    )
    transcript = home / "app-7.jsonl"
    _write_transcript(transcript)
    screens = {"%7": PERMISSION_SCREEN, "%8": WORKING_SCREEN, "%11": EXITED_SCREEN}
    for session in sample_sessions(transcript):
        engine.store.insert_session(session, event=("spawned", {"branch": session.branch}))
        if session.lifecycle in (Lifecycle.RUNNING, Lifecycle.EXITED):
            runtime.live[session.tmux] = session.pane_id
            runtime.screens.setdefault(session.pane_id, screens.get(session.pane_id, "$ "))
    _record_history(engine)
    return engine


def _record_history(engine: Engine) -> None:
    """app-5's story since its spawn, at fixed times, so its Events tab tells one."""
    head = "5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"

    def activity(state: str, previous: str, detail: str, zone: str) -> dict[str, Any]:
        return {
            "state": state,
            "previous": previous,
            "source": "hook",
            "detail": detail,
            "waiting_for": None,
            "lifecycle": "running",
            "zone": zone,
            "previous_zone": zone,
        }

    def pr(state: str, previous: str, ci: str, zone: str) -> dict[str, Any]:
        return {
            "state": state,
            "previous": previous,
            "ci": ci,
            "review": "pending",
            "blockers": [f"CI {ci}", "not approved"],
            "problem": None,
            "head_sha": head,
            "zone": zone,
            "previous_zone": "Working",
        }

    failed = {"head_sha": head, "checks": [{"name": "pytest", "excerpt_chars": 612, "url": None}]}
    message = {
        "result": "delivered",
        "detail": "the agent took it",
        "bytes": 734,
        "preview": "CI failed on 5f1c2e9a7b: pytest. Fix the failing test first",
    }
    history: list[tuple[float, str, dict[str, Any]]] = [
        (NOW - 900, "activity", activity("working", "unknown", "Edit: pyproject.toml", "Working")),
        (NOW - 780, "pr", pr("ci_running", "none", "running", "Working")),
        (NOW - 660, "pr", pr("ci_failed", "ci_running", "failing", "Fixing")),
        (NOW - 660, "ci-failed", failed),
        (NOW - 420, "message", message),
        (NOW - 360, "activity", activity("working", "idle", "Bash: pytest", "Fixing")),
    ]
    with engine.store.transaction() as db:
        for ts, kind, data in history:
            append_event_at(db, "app-5", kind, data, ts)


SAMPLE_EXCERPT = """\
============================= FAILURES =============================
____________________ test_client_retries_on_429 ____________________

    def test_client_retries_on_429(transport):
        client = make_client(transport)
>       assert client.get("/hooks").status_code == 200
E       AssertionError: assert 429 == 200
E        +  where 429 = <Response [429 Too Many Requests]>.status_code

tests/unit/test_client.py:41: AssertionError
FAILED tests/unit/test_client.py::test_client_retries_on_429 - AssertionError
==================== 1 failed, 212 passed in 9.84s ===================="""
"""The failing check's log excerpt of the sample CI view."""

SAMPLE_DIFF = """\
diff --git a/pyproject.toml b/pyproject.toml
index 3b18e51..9c2d1f0 100644
--- a/pyproject.toml
+++ b/pyproject.toml
@@ -12,7 +12,7 @@ dependencies = [
     "click>=8.1",
-    "httpx>=0.27,<0.28",
+    "httpx>=0.28,<0.29",
     "pydantic>=2.6",
"""
"""The sample session's diff (the diff view has no git repo behind it here)."""

SAMPLE_STAT = """\
 pyproject.toml | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)
"""


def sample_ci(log_dir: Path) -> CiReport:
    """The sample CI answer: one failing check (its log written under ``log_dir``), two green."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "ci-pytest.log"
    log.write_text("collecting ...\n" + SAMPLE_EXCERPT + "\n", encoding="utf-8")
    head = "5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"

    checks = [
        CheckRun("pytest", "failing", head, 74.2, SAMPLE_EXCERPT, log_path=str(log)),
        CheckRun("ruff", "passing", head, 3.1),
        CheckRun("mypy --strict", "passing", head, 21.7),
    ]
    return CiReport.of(checks, head, None)


def with_canned_review(engine: Engine, log_dir: Path) -> Engine:
    """Give ``engine`` canned ``ci`` and ``diff`` answers, since the sample has no git repo."""
    answer = sample_ci(log_dir)

    def ci(session_id: str, *, run: bool = False) -> CiReport:
        return answer

    def diff(session_id: str, *, stat: bool = False) -> str:
        return SAMPLE_STAT if stat else SAMPLE_DIFF

    # Instance attributes shadow the methods for this one engine only.
    setattr(engine, "ci", ci)  # noqa: B010
    setattr(engine, "diff", diff)  # noqa: B010
    return engine
