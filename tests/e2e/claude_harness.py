"""Run the real Claude Code CLI offline: binary lookup, environment, hooks, tmux, polling.

The CLI is pointed at the scripted stand-in (``anthropic_standin``) through
``ANTHROPIC_BASE_URL`` and given a throw-away ``HOME`` whose ``.claude.json`` answers every
first-run question in advance (onboarding/theme, "use this API key?", "trust this folder?"),
so the REPL starts straight on the prompt with no network. Used by the e2e tests and by
``capture_fixtures.py``; nothing here talks to the user's tmux server (always ``-L``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from plugins.agent.claude_code.hooks import HOOK_EVENTS
from plugins.agent.claude_code.hooks import hook_command as ao_hook_command
from plugins.agent.claude_code.trust import config_lock

T = TypeVar("T")

CLAUDE_CACHE_BINARY = Path(
    "~/.cache/ao-tui/claude-cli/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
)
"""Where ``npm install --prefix ~/.cache/ao-tui/claude-cli @anthropic-ai/claude-code`` puts it."""

TEST_API_KEY = "sk-ant-test"


# Variables inherited from an outer Claude Code or a developer's shell that would send the
# agent to the real API or to another config dir.
_LEAKY_PREFIXES = ("ANTHROPIC_", "CLAUDE", "AWS_BEARER_TOKEN_BEDROCK", "VERTEX_")


def find_claude_binary() -> Path | None:
    """The Claude Code binary: $AO_TUI_CLAUDE_BIN, then the ao-tui cache, then PATH."""
    override = os.environ.get("AO_TUI_CLAUDE_BIN")
    if override:
        candidate = Path(override).expanduser()
        return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None
    cached = CLAUDE_CACHE_BINARY.expanduser()
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached
    on_path = shutil.which("claude")
    return Path(on_path) if on_path else None


def claude_required() -> bool:
    """True when CI demands the real binary (``AO_TUI_REQUIRE_CLAUDE=1``)."""
    return os.environ.get("AO_TUI_REQUIRE_CLAUDE") == "1"


def require_claude_binary() -> Path:
    """The binary, or skip the test with the reason; fail instead when CI requires it."""
    binary = find_claude_binary()
    if binary is not None:
        return binary
    reason = (
        "Claude Code CLI not found (set AO_TUI_CLAUDE_BIN, or run `npm install --prefix "
        "~/.cache/ao-tui/claude-cli @anthropic-ai/claude-code@2.1.197`, or put `claude` on PATH)"
    )
    if claude_required():
        pytest.fail(f"AO_TUI_REQUIRE_CLAUDE=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_tmux() -> str:
    """The tmux executable, or skip (fail under AO_TUI_REQUIRE_CLAUDE=1: CI must have it)."""
    tmux = shutil.which("tmux")
    if tmux is not None:
        return tmux
    if claude_required():
        pytest.fail("AO_TUI_REQUIRE_CLAUDE=1 but tmux is not installed", pytrace=False)
    pytest.skip("tmux is not installed")


def scrubbed_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default os.environ) without variables that could reach a real account."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(_LEAKY_PREFIXES)}


def write_claude_config(home: Path, worktree: Path, api_key: str = TEST_API_KEY) -> Path:
    """Write ``<home>/.claude.json`` so the REPL opens with no first-run dialog.

    Each key answers one dialog that otherwise blocks the start (checked on 2.1.197):
    ``hasCompletedOnboarding`` the theme/onboarding screen, ``customApiKeyResponses`` the
    "Detected a custom API key ... use this API key?" question (entries are the key's last
    20 characters) and ``projects.<path>.hasTrustDialogAccepted`` the folder-trust check,
    which also gates the project's hooks. Existing content (what running agents wrote) is
    kept; the update is made under the CLI's lock and lands atomically (temp + rename) so
    no agent ever reads half a file.
    """
    path = home / ".claude.json"
    home.mkdir(parents=True, exist_ok=True)
    with config_lock(path):
        config: dict[str, Any] = {}
        if path.is_file():
            try:
                loaded = json.loads(path.read_text())
                if isinstance(loaded, dict):
                    config = loaded
            except ValueError:
                config = {}
        config["hasCompletedOnboarding"] = True
        config.setdefault("theme", "dark")
        responses = config.setdefault("customApiKeyResponses", {"approved": [], "rejected": []})
        approved = responses.setdefault("approved", [])
        if api_key[-20:] not in approved:
            approved.append(api_key[-20:])
        responses.setdefault("rejected", [])
        projects = config.setdefault("projects", {})
        # The CLI keys projects by the real cwd; trust both spellings behind a symlink.
        for spelling in {str(worktree), str(worktree.resolve())}:
            projects.setdefault(spelling, {})["hasTrustDialogAccepted"] = True
        temp = path.with_name(f"{path.name}.ao-{os.getpid()}.tmp")
        temp.write_text(json.dumps(config, indent=2) + "\n")
        temp.replace(path)
    return path


def claude_env(
    home: Path,
    base_url: str,
    worktree: Path,
    *,
    max_retries: int | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables to set for one offline agent, after writing ``<home>/.claude.json``.

    Only the overrides are returned (pass them to ``tmux new-session -e`` or merge them
    into :func:`scrubbed_environ`). ``max_retries`` sets ``CLAUDE_CODE_MAX_RETRIES``: the
    CLI retries a failing API call 10 times by default (about three minutes of back-off),
    0 gives up at the first error.
    """
    write_claude_config(home, worktree)
    env = {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": TEST_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    if max_retries is not None:
        env["CLAUDE_CODE_MAX_RETRIES"] = str(max_retries)
    env.update(extra or {})
    return env


def hook_command(log_path: Path) -> str:
    """The hook command ao-tui installs (one ``{"ao_ts": ..., "payload": ...}`` line per
    event); the captured fixtures predate its ``tr -d``, so theirs span two lines."""
    return ao_hook_command(log_path)


def install_hook_logger(
    worktree: Path, log_path: Path, events: Iterable[str] = HOOK_EVENTS
) -> Path:
    """Write ``<worktree>/.claude/settings.local.json`` logging every ``events`` hook."""
    command = hook_command(log_path)
    settings = {
        "hooks": {event: [{"hooks": [{"type": "command", "command": command}]}] for event in events}
    }
    path = worktree / ".claude" / "settings.local.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


def parse_hook_log(text: str) -> list[dict[str, Any]]:
    """Every complete record in hook-log text, in order; a half-written tail is ignored."""
    decoder = json.JSONDecoder()
    records: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            break
        try:
            value, index = decoder.raw_decode(text, index)
        except ValueError:
            break
        if isinstance(value, dict):
            records.append(value)
    return records


def read_hook_log(log_path: Path, offset: int = 0) -> list[dict[str, Any]]:
    """The complete records of a hook log, from byte ``offset`` on."""
    if not log_path.is_file():
        return []
    with log_path.open("rb") as log:
        log.seek(offset)
        return parse_hook_log(log.read().decode("utf-8", "replace"))


def hook_events(log_path: Path) -> list[str]:
    """The ``hook_event_name`` of every record in a hook log, in order."""
    names = []
    for record in read_hook_log(log_path):
        payload = record.get("payload")
        if isinstance(payload, dict):
            names.append(str(payload.get("hook_event_name")))
    return names


def encode_project_dir(cwd: Path) -> str:
    """The transcript folder name for ``cwd``: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def transcript_path(home: Path, cwd: Path, session_id: str) -> Path:
    """``<home>/.claude/projects/<enc>/<session_id>.jsonl`` (paths under 200 characters)."""
    return home / ".claude" / "projects" / encode_project_dir(cwd) / f"{session_id}.jsonl"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a file; a torn last line and non-objects are skipped."""
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            entries.append(value)
    return entries


def conversation(entries: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Only the ``user`` and ``assistant`` entries of a transcript."""
    return [e for e in entries if e.get("type") in ("user", "assistant")]


def latest_turn(entries: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The newest ``user``/``assistant`` entry by its ``timestamp``, not by file position.

    The CLI flushes transcript lines from concurrent writers: in about one start in ten the
    first flush puts the assistant's tool_use line *before* the user prompt it answers, so
    "the last line" is not "the latest turn". Timestamps (and the parentUuid chain) are.
    """
    turns = [e for e in conversation(entries) if isinstance(e.get("timestamp"), str)]
    if not turns:
        return None
    return max(turns, key=lambda e: str(e["timestamp"]))


def status_file(home: Path, session_id: str) -> Path | None:
    """The ``<home>/.claude/sessions/<pid>.json`` that names ``session_id``, if any."""
    folder = home / ".claude" / "sessions"
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("sessionId") == session_id:
            return path
    return None


def read_status(home: Path, session_id: str) -> dict[str, Any] | None:
    """The parsed status file of ``session_id``, or None when there is none (yet)."""
    path = status_file(home, session_id)
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.2,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy, or raise after ``timeout`` seconds.

    ``describe`` is called on failure to say what the world looked like (pane, transcript).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f"\n{describe()}" if describe is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


@dataclass
class IsolatedTmux:
    """tmux commands on one private server (``tmux -L <socket>``), never the default one."""

    socket: str
    env: dict[str, str]

    @classmethod
    def from_environ(cls) -> IsolatedTmux:
        """The server named by $AO_TUI_TMUX_SOCKET (set per test by tests/conftest.py)."""
        socket = os.environ.get("AO_TUI_TMUX_SOCKET")
        if not socket:
            raise RuntimeError("AO_TUI_TMUX_SOCKET is not set: refusing the default tmux server")
        return cls(socket=socket, env=scrubbed_environ())

    def run(self, *args: str, check: bool = True) -> str:
        """Run one tmux command and return its stdout."""
        proc = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def start(
        self,
        name: str,
        cwd: Path,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        width: int = 200,
        height: int = 50,
    ) -> int:
        """Start ``argv`` (no shell) in a detached session; return the pane's pid.

        remain-on-exit keeps a dead pane readable, so a crash leaves evidence to assert on;
        it is set in the same tmux invocation so an instant crash cannot beat it.
        """
        for arg in argv:
            # tmux ends a command at any argument ending in ";", even after "--".
            if arg.endswith(";"):
                raise ValueError(f"tmux would split the command at {arg!r}")
        env_args: list[str] = []
        for key, value in env.items():
            env_args += ["-e", f"{key}={value}"]
        self.run(
            "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
            "-c", str(cwd), *env_args, "--", *argv,
            ";", "set-option", "-t", name, "remain-on-exit", "on",
        )  # fmt: skip
        return int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())

    def capture(self, name: str, *, ansi: bool = False, history: bool = False) -> str:
        """The pane's visible screen (``ansi``: with escapes; ``history``: plus scrollback)."""
        args = ["capture-pane", "-p", "-t", name]
        if ansi:
            args.append("-e")
        if history:
            args += ["-S", "-"]
        return self.run(*args)

    def paste(self, name: str, text: str, buffer_file: Path) -> None:
        """Paste ``text`` as one bracketed paste, via a file so no byte is interpreted."""
        buffer_file.write_text(text)
        buffer = f"ao-{name}"
        self.run("load-buffer", "-b", buffer, str(buffer_file))
        self.run("paste-buffer", "-p", "-d", "-b", buffer, "-t", name)

    def send_keys(self, name: str, *keys: str) -> None:
        """Press named keys (``Enter``, ``Escape``, ``1``) in the session's pane."""
        self.run("send-keys", "-t", name, *keys)

    def pane_dead(self, name: str) -> bool:
        """True once the pane's process has exited (remain-on-exit keeps the pane)."""
        out = self.run("display-message", "-p", "-t", name, "#{pane_dead}", check=False)
        return out.strip() == "1"

    def kill(self, name: str) -> None:
        """End the session if it exists (the agent gets SIGHUP)."""
        self.run("kill-session", "-t", name, check=False)

    def kill_server(self) -> None:
        """End the whole private server."""
        self.run("kill-server", check=False)
