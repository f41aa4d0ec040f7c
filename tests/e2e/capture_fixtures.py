"""Capture golden fixtures from the real Claude Code CLI, driven offline by the stand-in.

Run by hand from the repository root (takes about six minutes, three of them waiting for
the CLI to give up on HTTP 500s; ``--quick`` skips the two long waits)::

    .venv/bin/python -m tests.e2e.capture_fixtures [--out tests/fixtures/claude-2.1.197]

Every scenario runs the real binary in tmux on a private socket, in its own git repo under
``--root`` (default ``/tmp/ao-claude-capture``, wiped first, so paths inside the artifacts
are the same on every run), with one shared HOME and the hook logger installed in the
repo's ``.claude/settings.local.json``. At each key moment a snapshot saves the pane (plain
and with escapes), the status file, the transcript and the hook log as they are then; a
watcher thread records every change of status file, pane markers and transcript tail with
its time, into ``timeline.json``. Nothing is sanitised.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from tests.e2e.anthropic_standin import (
    DEFAULT_TEXT,
    TOOL_DONE_TEXT,
    AnthropicStandin,
    RecordedRequest,
    last_user_message,
    message_text,
    strip_reminders,
)
from tests.e2e.claude_harness import (
    IsolatedTmux,
    claude_env,
    conversation,
    find_claude_binary,
    install_hook_logger,
    latest_turn,
    read_hook_log,
    read_jsonl,
    scrubbed_environ,
    status_file,
    transcript_path,
    wait_until,
)

T = TypeVar("T")

EXPECTED_VERSION = "2.1.197"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures" / f"claude-{EXPECTED_VERSION}"
DEFAULT_ROOT = Path("/tmp/ao-claude-capture")
# Fixed ids make re-captures diff cleanly; uuid5 keeps them valid v4-shaped strings.
_ID_NAMESPACE = uuid.UUID("6f1c1c3e-7a52-4c1e-9d0e-0a0c1a0de000")

PANE_MARKERS = {
    "busy_footer": "esc to interrupt",
    "idle_footer": "? for shortcuts",
    "permission_prompt": "Do you want to proceed?",
    "esc_to_cancel": "Esc to cancel",
    "interrupted": "Interrupted · What should Claude do instead?",
    "queued": "Press up to edit queued messages",
    "retrying": "Retrying in",
    "api_error": "API Error",
    "pane_dead": "Pane is dead",
}


def session_uuid(name: str) -> str:
    """The pinned session id of one scenario."""
    return str(uuid.uuid5(_ID_NAMESPACE, name))


def transcript_tail(entries: Sequence[Mapping[str, Any]]) -> str:
    """A short label for the last transcript entry (type and block kinds or subtype)."""
    if not entries:
        return ""
    last = entries[-1]
    kind = str(last.get("type"))
    if kind in ("user", "assistant"):
        content = last.get("message", {}).get("content")
        if isinstance(content, str):
            return f"{kind}:text"
        if isinstance(content, list):
            blocks = ",".join(str(b.get("type")) for b in content if isinstance(b, dict))
            return f"{kind}:{blocks}"
    if last.get("subtype"):
        return f"{kind}:{last['subtype']}"
    return kind


class Capture:
    """What every scenario shares: binary, stand-in, tmux server, HOME, output folder."""

    def __init__(
        self, binary: Path, root: Path, out: Path, standin: AnthropicStandin, tmux: IsolatedTmux
    ) -> None:
        """Bind the shared pieces; ``root`` must exist and be empty."""
        self.binary = binary
        self.root = root
        self.out = out
        self.home = root / "home"
        self.standin = standin
        self.tmux = tmux
        self.summary: dict[str, Any] = {}


class Scenario:
    """One captured story: a repo, a session id, snapshots and a timeline."""

    def __init__(
        self,
        capture: Capture,
        name: str,
        *,
        share_with: Scenario | None = None,
    ) -> None:
        """Make the scenario's repo (or reuse ``share_with``'s repo, hooks and session)."""
        self.capture = capture
        self.name = name
        self.dir = capture.out / name
        self.dir.mkdir(parents=True, exist_ok=True)
        if share_with is None:
            self.repo = capture.root / name / "repo"
            self.hooks = capture.root / name / "hooks.jsonl"
            self.session_id = session_uuid(name)
            _make_git_repo(self.repo)
            install_hook_logger(self.repo, self.hooks)
        else:
            self.repo = share_with.repo
            self.hooks = share_with.hooks
            self.session_id = share_with.session_id
        self.hooks_offset = self.hooks.stat().st_size if self.hooks.exists() else 0
        self.request_offset = len(capture.standin.requests)
        self.t0 = time.time()
        self.tmux_name = ""
        self.pid = 0
        self.events: list[dict[str, Any]] = []
        self.observations: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {"session_id": self.session_id, "cwd": str(self.repo)}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._spawns = 0

    # -- running -----------------------------------------------------------------------

    @property
    def transcript(self) -> Path:
        """The session's transcript file."""
        return transcript_path(self.capture.home, self.repo, self.session_id)

    def spawn(self, args: Sequence[str], *, env: dict[str, str] | None = None) -> int:
        """Start ``claude <args>`` in a new tmux session; the watcher follows it."""
        self._spawns += 1
        self.tmux_name = f"{self.name}-{self._spawns}"
        base = claude_env(self.capture.home, self.capture.standin.base_url, self.repo, extra=env)
        if self._spawns == 1:
            self.t0 = time.time()
        self.mark("spawn", argv=["claude", *args], env_extra=env or {})
        self.pid = self.capture.tmux.start(
            self.tmux_name, self.repo, [str(self.capture.binary), *args], base
        )
        self.mark("spawned", pid=self.pid)
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, daemon=True)
            self._watcher.start()
        return self.pid

    def now(self) -> float:
        """Seconds since the scenario's first spawn."""
        return round(time.time() - self.t0, 3)

    def mark(self, event: str, **data: Any) -> None:
        """Add a driver action or a measured moment to the timeline."""
        self.events.append({"t": self.now(), "event": event, **data})
        print(f"  [{self.name} +{self.now():7.2f}s] {event}", flush=True)

    def pane(self, *, ansi: bool = False) -> str:
        """The pane's screen now, or '' when the tmux session is gone."""
        try:
            return self.capture.tmux.capture(self.tmux_name, ansi=ansi)
        except RuntimeError:
            return ""

    def entries(self) -> list[dict[str, Any]]:
        """The transcript's entries now."""
        return read_jsonl(self.transcript)

    def hook_records(self) -> list[dict[str, Any]]:
        """Hook records written since this scenario began."""
        return read_hook_log(self.hooks, self.hooks_offset)

    def hook_names(self) -> list[str]:
        """The event names of this scenario's hook records."""
        return [str(r.get("payload", {}).get("hook_event_name")) for r in self.hook_records()]

    def status(self) -> dict[str, Any] | None:
        """The status file naming this session, parsed, or None."""
        path = status_file(self.capture.home, self.session_id)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def requests(self) -> list[RecordedRequest]:
        """Requests the stand-in received since this scenario began."""
        return self.capture.standin.requests[self.request_offset :]

    def main_requests(self) -> list[RecordedRequest]:
        """This scenario's main-loop /v1/messages calls."""
        return [r for r in self.requests() if r.path == "/v1/messages" and r.has_tools]

    def wait(self, probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
        """Poll until ``probe`` is truthy, then note the moment on the timeline."""
        value = wait_until(
            probe, timeout=timeout, interval=0.05, what=f"{self.name}: {what}", describe=self.pane
        )
        self.mark(f"seen: {what}")
        return value

    def settle(self, seconds: float) -> None:
        """Let the screen finish redrawing before a snapshot (only where nothing to poll)."""
        time.sleep(seconds)

    def snapshot(self, label: str) -> None:
        """Save pane (plain, escapes), status file, transcript and hook log as they are now."""
        index = len([e for e in self.events if e["event"].startswith("snapshot")]) + 1
        stem = f"{index:02d}-{label}"
        self.mark(f"snapshot {stem}")
        (self.dir / f"{stem}.pane.txt").write_text(self.pane())
        (self.dir / f"{stem}.pane.ansi").write_text(self.pane(ansi=True))
        if self.capture.tmux.pane_dead(self.tmux_name):
            # A dying CLI's last words (e.g. a startup error) end up in the scrollback.
            history = self.capture.tmux.capture(self.tmux_name, history=True)
            (self.dir / f"{stem}.pane-history.txt").write_text(history)
        status = status_file(self.capture.home, self.session_id)
        if status is not None:
            shutil.copyfile(status, self.dir / f"{stem}.status.json")
        if self.transcript.exists():
            shutil.copyfile(self.transcript, self.dir / f"{stem}.transcript.jsonl")
        (self.dir / f"{stem}.hooks.jsonl").write_bytes(self._hook_bytes())
        sessions = self.capture.home / ".claude" / "sessions"
        listing = sorted(p.name for p in sessions.glob("*.json")) if sessions.is_dir() else []
        self.events[-1]["status_files"] = listing

    def finish(self) -> None:
        """Stop watching; write the final transcript, hooks, requests and timeline."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self.transcript.exists():
            shutil.copyfile(self.transcript, self.dir / "transcript.jsonl")
        (self.dir / "hooks.jsonl").write_bytes(self._hook_bytes())
        with (self.dir / "requests.jsonl").open("w") as out:
            for request in self.requests():
                out.write(json.dumps(self._request_summary(request)) + "\n")
        hooks = [
            {
                "t": round(float(r["ao_ts"]) - self.t0, 3),
                "event": r.get("payload", {}).get("hook_event_name"),
                **{
                    k: r["payload"][k]
                    for k in ("notification_type", "reason", "source", "error", "tool_name")
                    if k in r.get("payload", {})
                },
            }
            for r in self.hook_records()
        ]
        timeline = {
            "facts": self.facts,
            "driver": self.events,
            "hooks": hooks,
            "observed": self.observations,
        }
        (self.dir / "timeline.json").write_text(json.dumps(timeline, indent=2) + "\n")
        self.capture.summary[self.name] = self.facts

    # -- internals -----------------------------------------------------------------------

    def _hook_bytes(self) -> bytes:
        if not self.hooks.exists():
            return b""
        with self.hooks.open("rb") as log:
            log.seek(self.hooks_offset)
            return log.read()

    def _request_summary(self, request: RecordedRequest) -> dict[str, Any]:
        body = request.body if isinstance(request.body, dict) else {}
        message = last_user_message(body)
        text = strip_reminders(message_text(message.get("content"))) if message else ""
        return {
            "t": round(request.at - self.t0, 3),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "status": request.status,
            "main_loop": request.has_tools,
            "stream": body.get("stream"),
            "model": body.get("model"),
            "max_tokens": body.get("max_tokens"),
            "n_messages": len(body.get("messages") or []),
            "last_user_text": text[:200],
            "body_keys": sorted(body),
        }

    def _watch(self) -> None:
        previous: dict[str, Any] = {}
        while not self._stop.is_set():
            pane = self.pane()
            status = self.status()
            entries = self.entries()
            state = {
                "status": status.get("status") if status else None,
                "waitingFor": status.get("waitingFor") if status else None,
                "status_pid": status.get("pid") if status else None,
                "pane": sorted(k for k, v in PANE_MARKERS.items() if v in pane),
                "transcript_lines": len(entries),
                "transcript_last_line": transcript_tail(entries),
                "latest_turn": transcript_tail(_latest(entries)),
            }
            changed = {k: v for k, v in state.items() if previous.get(k) != v}
            # Line counts alone change constantly during startup; keep them with real changes.
            if set(changed) - {"transcript_lines"} or not previous:
                self.observations.append({"t": self.now(), **state})
            previous = state
            self._stop.wait(0.1)


def _make_git_repo(repo: Path) -> None:
    repo.mkdir(parents=True)
    env = {
        **scrubbed_environ(),
        "GIT_AUTHOR_NAME": "ao capture",
        "GIT_AUTHOR_EMAIL": "ao@capture.invalid",
        "GIT_COMMITTER_NAME": "ao capture",
        "GIT_COMMITTER_EMAIL": "ao@capture.invalid",
    }
    (repo / "README.md").write_text("# capture\n")
    for args in (["init", "-q", "-b", "main"], ["add", "README.md"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _last_text(entries: Sequence[dict[str, Any]]) -> str | None:
    turn = latest_turn(entries)
    if turn is None or turn.get("type") != "assistant":
        return None
    content = turn["message"]["content"]
    if not isinstance(content, list):
        return None
    return "".join(b.get("text", "") for b in content if b.get("type") == "text") or None


def _latest(entries: Sequence[dict[str, Any]]) -> list[Mapping[str, Any]]:
    turn = latest_turn(entries)
    return [turn] if turn is not None else []


def _turns_by_time(entries: Sequence[dict[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(conversation(entries), key=lambda e: str(e.get("timestamp", "")))


def _idle(sc: Scenario) -> bool:
    status = sc.status()
    return bool(status and status.get("status") == "idle")


def _paste(sc: Scenario, text: str) -> None:
    sc.mark("paste", text=text)
    sc.capture.tmux.paste(sc.tmux_name, text, sc.capture.root / "paste-buffer.txt")


def _keys(sc: Scenario, *keys: str) -> None:
    sc.mark("keys", keys=list(keys))
    sc.capture.tmux.send_keys(sc.tmux_name, *keys)


def _startup_facts(sc: Scenario) -> None:
    hooks = sc.hook_records()
    start = next((r for r in hooks if r["payload"].get("hook_event_name") == "SessionStart"), None)
    if start is not None:
        sc.facts["session_start_hook_after_s"] = round(float(start["ao_ts"]) - sc.t0, 3)
    first = next((o for o in sc.observations if o["status"]), None)
    if first is not None:
        sc.facts["status_file_after_s"] = first["t"]
    # The CLI flushes the transcript in batches: the first lines show up together.
    written = next((o for o in sc.observations if o["transcript_lines"]), None)
    if written is not None:
        sc.facts["transcript_first_lines_after_s"] = written["t"]
    main = sc.main_requests()
    if main:
        sc.facts["first_api_call_after_s"] = round(main[0].at - sc.t0, 3)


# -- scenarios ----------------------------------------------------------------------------


def simple_idle(capture: Capture, *, idle_wait: bool) -> None:
    """(1) A plain prompt ends its turn; then idle notification and a graceful tmux kill."""
    sc = Scenario(capture, "01-simple-idle")
    sc.spawn(["--session-id", sc.session_id, "Say hello"])
    sc.wait(lambda: _last_text(sc.entries()) == DEFAULT_TEXT, "assistant reply in transcript")
    sc.wait(lambda: _idle(sc) and "Stop" in sc.hook_names(), "idle status and Stop hook")
    sc.wait(lambda: PANE_MARKERS["idle_footer"] in sc.pane(), "idle footer")
    sc.facts["idle_after_s"] = sc.now()
    sc.settle(0.5)
    sc.snapshot("idle")
    _startup_facts(sc)
    if idle_wait:
        stop_at = time.time()
        sc.wait(
            lambda: any(
                r["payload"].get("notification_type") == "idle_prompt" for r in sc.hook_records()
            ),
            "Notification idle_prompt",
            timeout=120,
        )
        sc.facts["idle_prompt_notification_after_idle_s"] = round(time.time() - stop_at, 1)
        sc.snapshot("idle-notified")
    sc.mark("tmux kill-session (SIGHUP to claude)")
    capture.tmux.kill(sc.tmux_name)
    sc.wait(lambda: "SessionEnd" in sc.hook_names(), "SessionEnd hook")
    sc.wait(lambda: sc.status() is None, "status file removed")
    sc.snapshot("killed-by-tmux")
    sc.finish()


def permission(capture: Capture) -> None:
    """(2) Bash needing permission: waiting, answered yes, tool running, idle."""
    sc = Scenario(capture, "02-permission")
    made = sc.repo / "made-by-claude.txt"
    sc.spawn(["--session-id", sc.session_id, f"RUN_BASH sleep 3 && touch {made}"])
    sc.wait(lambda: PANE_MARKERS["permission_prompt"] in sc.pane(), "permission prompt")
    sc.wait(
        lambda: transcript_tail(_latest(sc.entries())) == "assistant:tool_use",
        "tool_use as last transcript entry",
    )
    sc.wait(lambda: (s := sc.status()) and s.get("status") == "waiting", "status waiting")
    sc.settle(0.3)
    sc.snapshot("waiting")
    prompt_at = time.time()
    sc.wait(
        lambda: any(
            r["payload"].get("notification_type") == "permission_prompt" for r in sc.hook_records()
        ),
        "Notification permission_prompt",
    )
    sc.facts["permission_notification_after_prompt_s"] = round(time.time() - prompt_at, 1)
    sc.snapshot("waiting-notified")
    _keys(sc, "1")
    sc.wait(lambda: (s := sc.status()) and s.get("status") == "busy", "status busy (tool runs)")
    sc.settle(0.5)
    sc.snapshot("tool-running")
    sc.wait(lambda: made.exists(), "tool effect on disk", timeout=15)
    sc.wait(lambda: _last_text(sc.entries()) == TOOL_DONE_TEXT, "final reply in transcript")
    sc.wait(lambda: _idle(sc) and "Stop" in sc.hook_names(), "idle status and Stop hook")
    sc.settle(0.5)
    sc.snapshot("idle")
    _startup_facts(sc)
    capture.tmux.kill(sc.tmux_name)
    sc.finish()


def write_permission(capture: Capture) -> None:
    """(2b) The Write tool asks differently: "Do you want to create <file>?"."""
    sc = Scenario(capture, "02b-write-permission")
    target = sc.repo / "created.txt"
    sc.spawn(["--session-id", sc.session_id, f"WRITE_FILE {target} hello from the stand-in"])
    sc.wait(lambda: "Do you want to create" in sc.pane(), "write permission prompt")
    sc.wait(lambda: (s := sc.status()) and s.get("status") == "waiting", "status waiting")
    sc.settle(0.3)
    sc.snapshot("waiting")
    _keys(sc, "1")
    sc.wait(lambda: target.exists(), "file written")
    sc.wait(lambda: _idle(sc) and "Stop" in sc.hook_names(), "idle status and Stop hook")
    sc.settle(0.5)
    sc.snapshot("idle")
    sc.facts["hooks"] = sc.hook_names()
    capture.tmux.kill(sc.tmux_name)
    sc.finish()


def interrupt(capture: Capture) -> None:
    """(3) Escape while a reply streams; (3b) Escape before the first token arrives."""
    sc = Scenario(capture, "03-interrupt")
    sc.spawn(["--session-id", sc.session_id, "SLOW 30"])
    base = capture.standin.deltas_sent
    sc.wait(lambda: capture.standin.deltas_sent >= base + 6, "reply streaming")
    sc.snapshot("streaming")
    _keys(sc, "Escape")
    sc.wait(
        lambda: "[Request interrupted by user]" in json.dumps(_latest(sc.entries())),
        "interrupt marker in transcript",
    )
    sc.wait(lambda: PANE_MARKERS["interrupted"] in sc.pane(), "interrupted pane")
    sc.wait(lambda: _idle(sc), "status idle")
    sc.settle(1.0)
    sc.snapshot("interrupted")
    sc.facts["hooks_after_interrupt"] = sc.hook_names()
    capture.tmux.kill(sc.tmux_name)
    sc.finish()

    early = Scenario(capture, "03b-interrupt-before-first-token")
    early.spawn(["--session-id", early.session_id, "STALL 20"])
    early.wait(lambda: early.main_requests(), "main request in flight")
    early.wait(lambda: PANE_MARKERS["busy_footer"] in early.pane(), "busy footer")
    early.settle(1.0)
    early.snapshot("waiting-first-token")
    _keys(early, "Escape")
    early.wait(lambda: _idle(early), "status idle")
    early.settle(1.5)
    early.snapshot("escaped")
    early.facts["hooks_after_interrupt"] = early.hook_names()
    capture.tmux.kill(early.tmux_name)
    early.finish()


def api_errors(capture: Capture, *, full: bool) -> None:
    """(4) HTTP 500 every time until the CLI gives up; shorter variants by env."""
    if full:
        sc = Scenario(capture, "04-api-500-default-retries")
        sc.spawn(["--session-id", sc.session_id, "FAIL500 default retries"])
        sc.wait(lambda: len(sc.main_requests()) >= 4, "four failed attempts", timeout=60)
        sc.settle(0.5)
        sc.snapshot("retrying")
        sc.wait(
            lambda: any(e.get("isApiErrorMessage") for e in sc.entries()),
            "api error entry",
            timeout=420,
        )
        sc.wait(lambda: _idle(sc), "status idle")
        sc.settle(0.5)
        sc.snapshot("gave-up")
        _error_facts(sc)
        capture.tmux.kill(sc.tmux_name)
        sc.finish()
    variants = [
        ("04b-api-500-max-retries-2", "FAIL500 two retries", {"CLAUDE_CODE_MAX_RETRIES": "2"}),
        ("04c-api-429-max-retries-2", "FAIL429 two retries", {"CLAUDE_CODE_MAX_RETRIES": "2"}),
        (
            "04d-api-timeout-ms",
            "STALL 30",
            {"API_TIMEOUT_MS": "2000", "CLAUDE_CODE_MAX_RETRIES": "1"},
        ),
    ]
    for name, prompt, env in variants:
        _error_variant(capture, name, prompt, env)


def _error_variant(capture: Capture, name: str, prompt: str, env: dict[str, str]) -> None:
    sc = Scenario(capture, name)
    sc.spawn(["--session-id", sc.session_id, prompt], env=env)
    sc.wait(lambda: any(e.get("isApiErrorMessage") for e in sc.entries()), "api error entry")
    sc.wait(lambda: _idle(sc), "status idle")
    sc.settle(0.5)
    sc.snapshot("gave-up")
    _error_facts(sc)
    capture.tmux.kill(sc.tmux_name)
    sc.finish()


def _error_facts(sc: Scenario) -> None:
    attempts = sc.main_requests()
    sc.facts["attempts"] = len(attempts)
    sc.facts["attempt_times_s"] = [round(r.at - sc.t0, 2) for r in attempts]
    sc.facts["attempt_statuses"] = [r.status for r in attempts]
    error = next(e for e in sc.entries() if e.get("isApiErrorMessage"))
    sc.facts["gave_up_after_first_attempt_s"] = round(
        _iso_seconds(str(error["timestamp"])) - attempts[0].at, 1
    )
    sc.facts["error_entry"] = {
        k: error.get(k) for k in ("error", "apiErrorStatus", "isApiErrorMessage")
    }
    sc.facts["error_text"] = error["message"]["content"][0].get("text")
    sc.facts["hooks"] = sc.hook_names()
    sc.facts["api_error_system_entries"] = sum(
        1 for e in sc.entries() if e.get("type") == "system" and e.get("subtype") == "api_error"
    )


def _iso_seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def second_message(capture: Capture) -> None:
    """(5) Messages pasted into an idle session, a multi-line paste, and a queued message."""
    sc = Scenario(capture, "05-second-message")
    sc.spawn(["--session-id", sc.session_id, "first message"])
    sc.wait(lambda: _idle(sc) and sc.hook_names().count("Stop") == 1, "first turn done")
    _paste(sc, "second message")
    sc.wait(lambda: "second message" in sc.pane(), "pasted text in input box")
    sc.settle(0.3)
    sc.snapshot("pasted-before-enter")
    _keys(sc, "Enter")
    sc.wait(lambda: _idle(sc) and sc.hook_names().count("Stop") == 2, "second turn done")
    sc.settle(0.5)
    sc.snapshot("second-answered")

    _paste(sc, "line one\nline two\nline three")
    sc.settle(0.8)
    sc.snapshot("multiline-pasted-before-enter")
    _keys(sc, "Enter")
    sc.wait(lambda: _idle(sc) and sc.hook_names().count("Stop") == 3, "multi-line turn done")
    sc.settle(0.5)
    sc.snapshot("multiline-answered")

    base = capture.standin.deltas_sent
    _paste(sc, "SLOW 8")
    _keys(sc, "Enter")
    sc.wait(lambda: capture.standin.deltas_sent >= base + 3, "slow reply streaming")
    _paste(sc, "queued message")
    _keys(sc, "Enter")
    sc.wait(lambda: PANE_MARKERS["queued"] in sc.pane(), "queued hint in pane")
    sc.settle(0.3)
    sc.snapshot("queued")
    sc.wait(
        lambda: (
            _last_text(sc.entries()) == DEFAULT_TEXT
            and "queued message" in json.dumps(_turns_by_time(sc.entries())[-2:])
            and _idle(sc)
        ),
        "queued message answered",
        timeout=30,
    )
    sc.settle(0.5)
    sc.snapshot("queue-drained")
    sc.facts["hooks"] = sc.hook_names()
    capture.tmux.kill(sc.tmux_name)
    sc.finish()


def killed_and_resumed(capture: Capture) -> None:
    """(6) SIGKILL while a permission prompt waits; (7) --resume of the same session."""
    sc = Scenario(capture, "06-killed")
    # touch needs permission; read-only commands such as echo are allowed without asking.
    sc.spawn(["--session-id", sc.session_id, f"RUN_BASH touch {sc.repo / 'killed.txt'}"])
    sc.wait(lambda: PANE_MARKERS["permission_prompt"] in sc.pane(), "permission prompt")
    sc.wait(
        lambda: transcript_tail(_latest(sc.entries())) == "assistant:tool_use",
        "tool_use in transcript",
    )
    sc.wait(lambda: (s := sc.status()) and s.get("status") == "waiting", "status waiting")
    sc.snapshot("waiting")
    sc.mark("SIGKILL", pid=sc.pid)
    os.kill(sc.pid, signal.SIGKILL)
    sc.wait(lambda: capture.tmux.pane_dead(sc.tmux_name), "pane dead")
    sc.settle(1.0)
    sc.snapshot("killed")
    status = sc.status()
    sc.facts["status_file_after_sigkill"] = status
    sc.facts["hooks"] = sc.hook_names()
    sc.facts["transcript_lines_at_kill"] = len(sc.entries())
    sc.finish()

    rs = Scenario(capture, "07-resume", share_with=sc)
    lines_before = len(rs.entries())
    project = rs.transcript.parent
    files_before = sorted(p.name for p in project.glob("*.jsonl"))
    capture.tmux.kill(sc.tmux_name)
    rs.spawn(["--resume", rs.session_id])
    rs.wait(
        lambda: (s := rs.status()) and s.get("pid") == rs.pid and s,
        "status file of the resumed process",
    )
    rs.wait(lambda: "SessionStart" in rs.hook_names(), "SessionStart hook")
    rs.settle(2.0)
    rs.snapshot("resumed")
    rs.facts["stale_status_file_of_killed_pid_still_there"] = (
        capture.home / ".claude" / "sessions" / f"{sc.pid}.json"
    ).exists()
    _paste(rs, "after resume")
    _keys(rs, "Enter")
    rs.wait(
        lambda: _last_text(rs.entries()) is not None and _idle(rs) and "Stop" in rs.hook_names(),
        "turn after resume done",
    )
    rs.settle(0.5)
    rs.snapshot("answered")
    rs.facts["transcript_files_before"] = files_before
    rs.facts["transcript_files_after"] = sorted(p.name for p in project.glob("*.jsonl"))
    rs.facts["transcript_lines_before"] = lines_before
    rs.facts["transcript_lines_after"] = len(rs.entries())
    rs.facts["hooks"] = rs.hook_names()
    capture.tmux.kill(rs.tmux_name)
    rs.wait(lambda: rs.status() is None, "status file removed after tmux kill")

    rs.spawn(["--session-id", rs.session_id, "reuse the id"])
    rs.wait(lambda: capture.tmux.pane_dead(rs.tmux_name), "pane dead (id reuse refused)")
    rs.settle(0.3)
    rs.snapshot("session-id-reused")
    capture.tmux.kill(rs.tmux_name)
    rs.finish()


# -- driver -------------------------------------------------------------------------------


def _write_run_files(capture: Capture, out: Path, version: str, *, partial: bool) -> None:
    """Config, settings and the summary of facts; written even when a scenario failed."""
    config = capture.home / ".claude.json"
    if config.exists():
        # What the CLI made of our config after all scenarios (it adds its own keys).
        shutil.copyfile(config, out / "claude.json.after-run")
    settings = next(capture.root.glob("*/repo/.claude/settings.local.json"), None)
    if settings is not None:
        shutil.copyfile(settings, out / "settings.local.json")
    summary_path = out / "summary.json"
    scenarios: dict[str, Any] = {}
    if partial and summary_path.exists():
        # A partial re-capture keeps the other scenarios' facts.
        scenarios = json.loads(summary_path.read_text()).get("scenarios", {})
    scenarios.update(capture.summary)
    summary = {
        "version": version,
        "root": str(capture.root),
        "scenarios": dict(sorted(scenarios.items())),
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Capture every scenario into ``--out``; return a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument(
        "--quick", action="store_true", help="skip the 3-minute 500 run and the 60 s idle wait"
    )
    parser.add_argument("--only", nargs="*", default=None, help="scenario numbers, e.g. 02 05")
    args = parser.parse_args(argv)

    binary = find_claude_binary()
    if binary is None:
        print("Claude Code binary not found (see tests/e2e/claude_harness.py)", file=sys.stderr)
        return 2
    version = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if EXPECTED_VERSION not in version:
        print(f"warning: binary says {version!r}, fixtures are named {EXPECTED_VERSION}")

    shutil.rmtree(args.root, ignore_errors=True)
    (args.root / "tmux").mkdir(parents=True, mode=0o700)
    args.out.mkdir(parents=True, exist_ok=True)
    socket = f"ao-capture-{os.getpid()}"
    env = scrubbed_environ()
    env["TMUX_TMPDIR"] = str(args.root / "tmux")
    env.pop("TMUX", None)
    tmux = IsolatedTmux(socket=socket, env=env)

    wanted = set(args.only or [])
    if "06" in wanted or "07" in wanted:
        wanted |= {"06", "07"}  # one story: the resume continues the killed session
    groups = wanted or {"01", "02", "03", "04", "05", "06", "07"}
    for old in args.out.iterdir():
        # Drop what this run re-creates, so no stale snapshot survives; README.md stays.
        if old.is_dir() and old.name[:2] in groups:
            shutil.rmtree(old)

    with AnthropicStandin() as standin:
        capture = Capture(binary, args.root, args.out, standin, tmux)
        try:
            if "01" in groups:
                simple_idle(capture, idle_wait=not args.quick)
            if "02" in groups:
                permission(capture)
                write_permission(capture)
            if "03" in groups:
                interrupt(capture)
            if "04" in groups:
                api_errors(capture, full=not args.quick)
            if "05" in groups:
                second_message(capture)
            if "06" in groups:
                killed_and_resumed(capture)
        finally:
            tmux.kill_server()
            _write_run_files(capture, args.out, version, partial=bool(wanted))
    print(f"fixtures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
