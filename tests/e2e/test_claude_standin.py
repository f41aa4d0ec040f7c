"""The real Claude Code CLI, in a real tmux, against the scripted Messages API stand-in.

The first tests check the stand-in alone over HTTP (they always run). The ``claude`` tests
start the real binary with ``--session-id`` in a temp git repo and assert on what ao-tui
will watch: the transcript, the pane, the status file and the hook log. Nothing is mocked;
only the model is scripted. Each start costs about a second, each test a few.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.anthropic_standin import DEFAULT_TEXT, TOOL_DONE_TEXT, AnthropicStandin
from tests.e2e.claude_harness import (
    IsolatedTmux,
    claude_env,
    conversation,
    encode_project_dir,
    hook_command,
    hook_events,
    install_hook_logger,
    latest_turn,
    read_hook_log,
    read_jsonl,
    read_status,
    transcript_path,
    wait_until,
    write_claude_config,
)

T = TypeVar("T")

# -- the stand-in on its own --------------------------------------------------------------


def _tool_body(text: str, *, stream: bool = True) -> dict[str, Any]:
    return {
        "model": "claude-test",
        "max_tokens": 100,
        "stream": stream,
        "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>RUN_BASH no</system-reminder>"},
                    {"type": "text", "text": text},
                ],
            }
        ],
    }


def _sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_standin_streams_a_bash_tool_use(anthropic_standin: AnthropicStandin) -> None:
    """RUN_BASH in the last user text (not in a system reminder) gives a Bash tool_use."""
    url = f"{anthropic_standin.base_url}/v1/messages?beta=true"
    with httpx.stream("POST", url, json=_tool_body("RUN_BASH ls -la")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse(response)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert events[1][1]["content_block"]["name"] == "Bash"
    partial = "".join(
        data["delta"]["partial_json"] for name, data in events if name == "content_block_delta"
    )
    assert json.loads(partial)["command"] == "ls -la"
    delta = next(data for name, data in events if name == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use"
    recorded = anthropic_standin.requests
    assert [(r.path, r.query, r.status) for r in recorded] == [("/v1/messages", "beta=true", 200)]


def test_standin_answers_json_count_tokens_and_unknown(
    anthropic_standin: AnthropicStandin,
) -> None:
    """stream:false gets a JSON message; count_tokens a count; other paths a logged 404."""
    base = anthropic_standin.base_url
    message = httpx.post(f"{base}/v1/messages", json=_tool_body("hi", stream=False)).json()
    assert message["content"] == [{"type": "text", "text": DEFAULT_TEXT}]
    assert message["stop_reason"] == "end_turn"
    tokens = httpx.post(f"{base}/v1/messages/count_tokens", json=_tool_body("hi")).json()
    assert tokens["input_tokens"] > 0
    assert httpx.get(f"{base}/v1/models").status_code == 404
    assert [r.path for r in anthropic_standin.requests][-1] == "/v1/models"


def test_standin_fails_n_times_then_recovers(anthropic_standin: AnthropicStandin) -> None:
    """FAIL500 2 fails twice for that prompt, then answers; side calls never fail."""
    url = f"{anthropic_standin.base_url}/v1/messages"
    body = _tool_body("FAIL500 2", stream=False)
    assert [httpx.post(url, json=body).status_code for _ in range(3)] == [500, 500, 200]
    side = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "FAIL500"}]}
    assert httpx.post(url, json=side).status_code == 200
    limited = httpx.post(url, json=_tool_body("FAIL429", stream=False))
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"


def test_standin_write_file_then_done_after_tool_result(
    anthropic_standin: AnthropicStandin,
) -> None:
    """WRITE_FILE gives a Write tool_use; a following tool_result is answered ``done``."""
    url = f"{anthropic_standin.base_url}/v1/messages"
    first = httpx.post(url, json=_tool_body("WRITE_FILE /tmp/x.txt two words", stream=False))
    block = first.json()["content"][0]
    assert block["name"] == "Write"
    assert block["input"] == {"file_path": "/tmp/x.txt", "content": "two words"}
    body = _tool_body("WRITE_FILE /tmp/x.txt two words", stream=False)
    body["messages"] += [
        {"role": "assistant", "content": [block]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "ok"}],
        },
    ]
    second = httpx.post(url, json=body).json()
    assert second["content"] == [{"type": "text", "text": TOOL_DONE_TEXT}]


def test_standin_fills_a_title_schema(anthropic_standin: AnthropicStandin) -> None:
    """A side call demanding a JSON schema (session titles) gets parseable JSON back."""
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "title please"}],
        "output_config": {
            "format": {
                "type": "json_schema",
                "schema": {"type": "object", "properties": {"title": {"type": "string"}}},
            }
        },
    }
    reply = httpx.post(f"{anthropic_standin.base_url}/v1/messages", json=body).json()
    assert set(json.loads(reply["content"][0]["text"])) == {"title"}


# -- harness helpers ------------------------------------------------------------------------


def test_hook_command_logs_one_line_records(tmp_path: Path) -> None:
    """The hook command appends ``{"ao_ts":…,"payload":<stdin>}``; stdin's own trailing
    newline is dropped, so each record is one line; read_hook_log yields one dict per call."""
    log = tmp_path / "hooks.jsonl"
    command = hook_command(log)
    for event in ("Stop", "SessionEnd"):
        # Claude Code runs hook commands with sh -c and the payload (plus "\n") on stdin.
        payload = json.dumps({"hook_event_name": event}) + "\n"
        subprocess.run(["sh", "-c", command], input=payload, text=True, check=True)
    assert log.read_text().count("\n") == 2
    records = read_hook_log(log)
    assert [r["payload"]["hook_event_name"] for r in records] == ["Stop", "SessionEnd"]
    assert all(float(r["ao_ts"]) > 0 for r in records)
    with log.open("a") as torn:
        torn.write('{"ao_ts":"1","payload":{"hook_')
    assert len(read_hook_log(log)) == 2


def test_claude_config_keeps_cli_keys_and_releases_lock(tmp_path: Path) -> None:
    """Trust is added without dropping what the CLI wrote; the CLI's lock is not left behind."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".claude.json").write_text(json.dumps({"numStartups": 3, "projects": {"/a": {}}}))
    write_claude_config(home, tmp_path / "wt")
    config = json.loads((home / ".claude.json").read_text())
    assert config["numStartups"] == 3
    assert config["projects"][str(tmp_path / "wt")]["hasTrustDialogAccepted"] is True
    assert config["customApiKeyResponses"]["approved"] == ["sk-ant-test"]
    assert config["hasCompletedOnboarding"] is True
    assert not (home / ".claude.json.lock").exists()
    assert [p.name for p in home.iterdir()] == [".claude.json"]


def test_project_dir_encoding() -> None:
    """Every non-alphanumeric character of the cwd becomes a dash."""
    assert encode_project_dir(Path("/home/u/my_repo/.wt")) == "-home-u-my-repo--wt"


# -- the real CLI ---------------------------------------------------------------------------


@dataclass
class ClaudeRun:
    """One real Claude Code started in tmux, and where its traces land."""

    tmux: IsolatedTmux
    name: str
    session_id: str
    home: Path
    cwd: Path
    hooks: Path
    pid: int

    @property
    def transcript(self) -> Path:
        """The session's transcript file."""
        return transcript_path(self.home, self.cwd, self.session_id)

    def entries(self) -> list[dict[str, Any]]:
        """The transcript's entries so far."""
        return read_jsonl(self.transcript)

    def pane(self) -> str:
        """The pane's visible text."""
        return self.tmux.capture(self.name)

    def describe(self) -> str:
        """Pane and transcript tail, for timeout messages."""
        tail = "\n".join(json.dumps(e)[:300] for e in self.entries()[-4:])
        return f"--- pane ---\n{self.pane()}\n--- transcript tail ---\n{tail}"

    def wait(self, probe: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
        """Poll ``probe`` until truthy, failing with the pane and transcript."""
        return wait_until(probe, timeout=timeout, what=what, describe=self.describe)


StartClaude = Callable[..., ClaudeRun]


@pytest.fixture
def start_claude(
    claude_bin: Path,
    claude_home: Path,
    git_repo: Path,
    anthropic_standin: AnthropicStandin,
    isolated_tmux: IsolatedTmux,
    tmp_path: Path,
) -> Iterator[StartClaude]:
    """A factory starting the real CLI on ``git_repo`` with a prompt and a pinned id."""
    hooks = tmp_path / "hooks.jsonl"
    install_hook_logger(git_repo, hooks)
    runs: list[ClaudeRun] = []

    def start(prompt: str, *, extra_env: Mapping[str, str] | None = None) -> ClaudeRun:
        session_id = str(uuid.uuid4())
        env = claude_env(claude_home, anthropic_standin.base_url, git_repo, extra=extra_env)
        name = f"claude-{len(runs)}"
        pid = isolated_tmux.start(
            name, git_repo, [str(claude_bin), "--session-id", session_id, prompt], env
        )
        run = ClaudeRun(isolated_tmux, name, session_id, claude_home, git_repo, hooks, pid)
        runs.append(run)
        return run

    yield start
    for run in runs:
        isolated_tmux.kill(run.name)


def _last_assistant_text(entries: list[dict[str, Any]]) -> str | None:
    turn = latest_turn(entries)
    if turn is None or turn.get("type") != "assistant":
        return None
    content = turn["message"]["content"]
    texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return "".join(texts) or None


@pytest.mark.claude
@pytest.mark.tmux
def test_prompt_lands_in_transcript_and_turn_ends(start_claude: StartClaude) -> None:
    """The initial prompt is submitted at spawn; the reply ends the turn; status is idle."""
    run = start_claude("hello from the e2e test")
    run.wait(lambda: run.transcript.is_file(), "transcript file")
    run.wait(lambda: _last_assistant_text(run.entries()) == DEFAULT_TEXT, "assistant reply")
    users = [e for e in conversation(run.entries()) if e["type"] == "user"]
    assert users[0]["message"]["content"] == "hello from the e2e test"
    assert users[0]["sessionId"] == run.session_id
    status = run.wait(
        lambda: (s := read_status(run.home, run.session_id)) and s["status"] == "idle" and s,
        "idle status file",
    )
    assert status["pid"] == run.pid
    run.wait(lambda: "? for shortcuts" in run.pane(), "idle footer")
    assert "Stop" in hook_events(run.hooks)


@pytest.mark.claude
@pytest.mark.tmux
def test_bash_permission_prompt_then_yes(start_claude: StartClaude, git_repo: Path) -> None:
    """A Bash tool_use waits on the permission prompt; answering 1 runs it and ends the turn."""
    made = git_repo / "made-by-claude.txt"
    run = start_claude(f"RUN_BASH touch {made}")
    run.wait(lambda: "Do you want to proceed?" in run.pane(), "permission prompt")
    # The transcript is flushed in batches and can trail the pane by a moment; its line
    # order is not always chronological either, hence latest_turn (by timestamp).
    last = run.wait(
        lambda: (turn := latest_turn(run.entries())) and turn["type"] == "assistant" and turn,
        "tool_use in transcript",
    )
    assert last["message"]["content"][0]["type"] == "tool_use"
    assert last["message"]["content"][0]["input"]["command"] == f"touch {made}"
    status = run.wait(
        lambda: (s := read_status(run.home, run.session_id)) and s["status"] == "waiting" and s,
        "waiting status file",
    )
    assert status["waitingFor"] == "permission prompt"
    run.wait(lambda: "PermissionRequest" in hook_events(run.hooks), "PermissionRequest hook")
    assert not made.exists()

    run.tmux.send_keys(run.name, "1")
    run.wait(lambda: _last_assistant_text(run.entries()) == TOOL_DONE_TEXT, "turn end")
    assert made.exists()
    run.wait(lambda: "Stop" in hook_events(run.hooks), "Stop hook")
    assert "PostToolUse" in hook_events(run.hooks)


@pytest.mark.claude
@pytest.mark.tmux
def test_slow_reply_interrupted_by_escape(
    start_claude: StartClaude, anthropic_standin: AnthropicStandin
) -> None:
    """Escape during a streamed reply writes the interrupt marker and returns to the prompt.

    The key is pressed only once tokens are flowing: an Escape before the first token puts
    the prompt back into the input box and writes no marker (a different, real behaviour).
    """
    run = start_claude("SLOW 30")
    run.wait(lambda: "esc to interrupt" in run.pane(), "busy footer")
    run.wait(lambda: anthropic_standin.deltas_sent >= 3, "reply streaming")
    status = read_status(run.home, run.session_id)
    assert status is not None and status["status"] == "busy"
    run.tmux.send_keys(run.name, "Escape")
    run.wait(
        lambda: any(
            "[Request interrupted by user]" in json.dumps(e.get("message", {}))
            for e in conversation(run.entries())
        ),
        "interrupt marker",
    )
    run.wait(lambda: "Interrupted" in run.pane(), "interrupted pane")


@pytest.mark.claude
@pytest.mark.tmux
def test_api_500_ends_as_api_error(
    start_claude: StartClaude, anthropic_standin: AnthropicStandin
) -> None:
    """Persistent 500s end the turn with a synthetic api-error message and StopFailure."""
    run = start_claude("FAIL500 always", extra_env={"CLAUDE_CODE_MAX_RETRIES": "1"})
    error = run.wait(
        lambda: next(
            (e for e in run.entries() if e.get("isApiErrorMessage")),
            None,
        ),
        "api error entry",
    )
    assert error["apiErrorStatus"] == 500
    assert error["message"]["model"] == "<synthetic>"
    failed = [r for r in anthropic_standin.message_requests() if r.status == 500]
    assert len(failed) == 2  # the first try plus CLAUDE_CODE_MAX_RETRIES=1
    run.wait(lambda: "StopFailure" in hook_events(run.hooks), "StopFailure hook")
    assert "API Error: 500" in run.pane()
