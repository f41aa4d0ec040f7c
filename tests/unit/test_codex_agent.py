"""The Codex agent plugin against golden captures of the real Codex 0.171.0.

The captures (tests/fixtures/codex-0.171.0, README there) were written by the real binary
run against the Responses stand-in; these tests read them as ``ao-tui inspect transcript``
and the live plugin do. The launch, trust and delivery tests use real files in temp dirs.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from core.activity.inspect import inspect_signals
from core.models import ActivityState, Delivery, DeliveryMarker
from core.slots import (
    AgentContext,
    AgentProgram,
    AgentSettings,
    ConversationLookup,
    ConversationTurns,
    EnvNeeds,
    PaneInfo,
    PermissionRules,
)
from plugins.agent.codex import CodexAgent
from plugins.agent.codex.paths import forget_folder, rollouts_of, trust_folder
from plugins.agent.codex.reader import read_rollout
from plugins.agent.codex.screen import approval_prompt, codex_pane_signal, shows_composer
from plugins.agent.codex.turns import read_turns
from plugins.agent.inspect import transcript_format
from tests.support.engine import ao

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "codex-0.171.0"
NOW = 1_900_000_000.0

FUSED = {
    "01-approval/01-waiting": ("waiting_input", "pane"),  # the rollout says nothing of it
    "01-approval/02-idle": ("idle", "transcript"),
    "02-interrupt/01-working": ("working", "transcript"),  # the idle footer stays drawn
    "02-interrupt/02-interrupted": ("idle", "transcript"),
    "03-api-error/01-error": ("error", "transcript"),
    # The files alone still end on the last turn's error: only a live session knows when the
    # resumed process started, and drops what came before (tests/e2e/test_engine_codex.py).
    "04-resume/02-resumed": ("error", "transcript"),
    "04-resume/03-idle": ("idle", "transcript"),
}
"""The fused verdict of each snapshot's rollout and pane, taken at the same moment."""


@pytest.mark.parametrize("step", sorted(FUSED))
def test_inspect_reads_each_golden_snapshot_right(step: str) -> None:
    rollout = GOLDEN / f"{step}.rollout.jsonl"
    pane = GOLDEN / f"{step}.pane.txt"
    assert transcript_format(rollout) == "codex"
    report = inspect_signals(rollout, None, None, pane, NOW)
    assert report["transcript"]["malformed"] == 0
    assert report["transcript"]["unknown_types"] == {}
    assert (report["state"], report["source"]) == FUSED[step], report["signals"]


def test_the_waiting_snapshot_names_the_command() -> None:
    report = inspect_signals(
        GOLDEN / "01-approval/01-waiting.rollout.jsonl",
        None,
        None,
        GOLDEN / "01-approval/01-waiting.pane.txt",
        NOW,
    )
    assert report["waiting_for"] == {
        "kind": "permission",
        "tool": "shell",
        "command": "touch probe.txt",
    }


def test_ao_tui_inspect_transcript_reads_a_capture() -> None:
    # The real CLI, as an operator runs it on a capture.
    step = GOLDEN / "02-interrupt" / "02-interrupted"
    done = ao(
        Path.cwd(),
        "inspect",
        "transcript",
        f"{step}.rollout.jsonl",
        "--pane",
        f"{step}.pane.txt",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format"] == "codex"
    assert (report["state"], report["detail"]) == ("idle", "turn aborted (interrupted)")


def test_the_rollout_records_prompts_answers_and_turns() -> None:
    state = read_rollout((GOLDEN / "04-resume/03-idle.rollout.jsonl").read_text().splitlines())
    prompts = [p.text for p in state.prompts]
    assert prompts == ["RUN_SHELL touch probe.txt", "SLOW 20", "FAIL500", "after resume"]
    assert state.version == "0.171.0"
    assert state.last_agent_message == "Hello from the stand-in."
    assert state.input_tokens > 0 and state.output_tokens > 0
    turns = read_turns(GOLDEN / "04-resume/03-idle.rollout.jsonl")
    assert [(t.kind, t.title) for t in turns][:4] == [
        ("user", "RUN_SHELL touch probe.txt"),
        ("tool", "shell: touch probe.txt"),
        ("assistant", "done"),
        ("user", "SLOW 20"),
    ]


@pytest.mark.parametrize(
    ("pane", "state"),
    [
        ("pane-approval-exec.txt", ActivityState.WAITING_INPUT),
        ("pane-trust-folder.txt", ActivityState.WAITING_INPUT),
        ("pane-busy-working.txt", None),  # streaming: only the footer, which proves nothing
        ("pane-api-retrying.txt", ActivityState.WORKING),  # "Working (1s • esc to interrupt)"
        ("pane-api-reconnecting.txt", ActivityState.RETRYING),
        ("pane-api-error-final.txt", None),  # the rollout's task_complete says error
        ("pane-interrupted.txt", ActivityState.IDLE),
        ("pane-idle-after-tool.txt", None),
        ("pane-resumed-idle.txt", None),
        ("05-trust/01-asks.pane.txt", ActivityState.WAITING_INPUT),
    ],
)
def test_pane_patterns_on_real_screens(pane: str, state: ActivityState | None) -> None:
    signal = codex_pane_signal((GOLDEN / pane).read_text(), NOW)
    assert (signal.state if signal else None) is state


def test_retries_read_with_their_attempt_and_cause() -> None:
    signal = codex_pane_signal((GOLDEN / "pane-api-reconnecting.txt").read_text(), NOW)
    assert signal is not None
    assert signal.detail == (
        "retrying after API error 1/5 (We\u2019re currently experiencing high demand, which "
        "may cause temporary errors)"
    )


def test_an_answered_prompt_is_not_read_as_waiting() -> None:
    screen = (GOLDEN / "pane-idle-after-tool.txt").read_text()
    assert "You approved codex to run" in screen
    assert approval_prompt(screen) is None
    assert shows_composer(screen)
    assert not shows_composer((GOLDEN / "pane-trust-folder.txt").read_text())


def _ctx(tmp_path: Path, **settings: str) -> AgentContext:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    return AgentContext(
        session_id="app-1",
        agent_session_id="",
        worktree=worktree,
        state_dir=tmp_path / "state",
        prompt="- fix the login test",
        settings=AgentSettings(**settings),  # type: ignore[arg-type]
        env={"CODEX_HOME": str(tmp_path / "codex-home")},
    )


@pytest.mark.parametrize(
    ("permissions", "flags"),
    [
        ("default", []),
        ("acceptEdits", ["--ask-for-approval", "on-request", "--sandbox", "workspace-write"]),
        ("plan", ["--ask-for-approval", "on-request", "--sandbox", "read-only"]),
        ("bypassPermissions", ["--dangerously-bypass-approvals-and-sandbox"]),
    ],
)
def test_launch_maps_permissions_and_passes_the_task(
    tmp_path: Path, permissions: str, flags: list[str]
) -> None:
    ctx = _ctx(tmp_path, permissions=permissions, model="gpt-x", command="codex -c a=1")
    plan = CodexAgent().launch(ctx)
    assert plan.argv == [
        "codex",
        "--no-daemon",
        "-c",
        "a=1",
        *flags,
        "--model",
        "gpt-x",
        "--",
        "- fix the login test",
    ]
    assert plan.starts_on_task


def test_resume_takes_the_recorded_thread_else_starts_afresh(tmp_path: Path) -> None:
    agent = CodexAgent()
    ctx = _ctx(tmp_path)
    assert agent.resume(ctx).argv[-2:] == ["--", "- fix the login test"]
    # A rollout of this worktree (found by its session_meta cwd) names the thread.
    day = tmp_path / "codex-home" / "sessions" / "2026" / "12" / "02"
    day.mkdir(parents=True)
    thread = "01a23790-7d04-76e3-acae-fd9034f91ddf"
    meta = {"type": "session_meta", "payload": {"id": thread, "cwd": str(ctx.worktree)}}
    (day / f"rollout-2026-12-02T16-22-25-{thread}.jsonl").write_text(json.dumps(meta) + "\n")
    plan = agent.resume(ctx)
    assert plan.argv == ["codex", "--no-daemon", "resume", thread]
    assert not plan.starts_on_task
    assert agent.latest_conversation(ctx.worktree, ctx.env) == thread
    assert rollouts_of(tmp_path / "codex-home", tmp_path / "elsewhere") == []


def test_prepare_trusts_the_worktree_once_and_keeps_the_operators_config(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    config = tmp_path / "codex-home" / "config.toml"
    config.parent.mkdir()
    config.write_text('model = "o3"\n[projects."/somewhere"]\ntrust_level = "untrusted"\n')
    assert CodexAgent().prepare(ctx) == []
    assert not trust_folder(tmp_path / "codex-home", ctx.worktree)  # already there
    loaded = tomllib.loads(config.read_text())
    assert loaded["model"] == "o3"
    assert loaded["projects"] == {
        "/somewhere": {"trust_level": "untrusted"},
        str(ctx.worktree): {"trust_level": "trusted"},
    }


def test_a_removed_worktree_takes_its_trust_table_with_it(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    config = tmp_path / "codex-home" / "config.toml"
    config.parent.mkdir()
    before = 'model = "o3"\n[projects."/somewhere"]\ntrust_level = "untrusted"\n'
    config.write_text(before)
    agent = CodexAgent()
    agent.prepare(ctx)
    other = tmp_path / "other"
    other.mkdir()
    trust_folder(tmp_path / "codex-home", other)
    assert agent.forget_worktree(ctx.worktree, ctx.env) == []  # the folder is still there
    ctx.worktree.rmdir()
    assert agent.forget_worktree(ctx.worktree, ctx.env) == [f"removed {ctx.worktree} from {config}"]
    assert tomllib.loads(config.read_text())["projects"] == {
        "/somewhere": {"trust_level": "untrusted"},
        str(other): {"trust_level": "trusted"},
    }
    other.rmdir()
    assert forget_folder(tmp_path / "codex-home", other)
    assert config.read_text() == before  # byte for byte what the operator had


def test_a_trust_table_rewritten_since_is_left(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    gone = tmp_path / "gone"
    config.write_text(f'[projects."{gone}"]\ntrust_level = "trusted"\nmodel = "x"\n')
    assert not forget_folder(tmp_path, gone)
    assert "model" in config.read_text()


def test_delivery_is_confirmed_by_a_user_message_in_the_rollout(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    day = tmp_path / "codex-home" / "sessions" / "2026" / "12" / "02"
    day.mkdir(parents=True)
    source = GOLDEN / "04-resume/02-resumed.rollout.jsonl"
    text = source.read_text()
    thread = json.loads(text.splitlines()[0])["payload"]["id"]
    rollout = day / f"rollout-2026-12-02T16-22-25-{thread}.jsonl"
    rollout.write_text(text)
    ctx = AgentContext(**{**ctx.__dict__, "extra": {"transcript_path": str(rollout)}})
    agent = CodexAgent(clock=lambda: 1_000.0)  # before the capture's clock
    marker = agent.delivery_marker(ctx)
    assert marker.offset(rollout) == rollout.stat().st_size
    assert agent.delivery(ctx, marker, "after resume", lambda: "") is Delivery.PENDING
    full = (GOLDEN / "04-resume/03-idle.rollout.jsonl").read_text()
    assert full.startswith(text)  # the same file, later: Codex only appends
    rollout.write_text(full)
    assert agent.delivery(ctx, marker, "after  resume", lambda: "") is Delivery.DELIVERED
    # Already in the rollout before the marker: not this send's receipt.
    assert agent.delivery(ctx, DeliveryMarker(), "FAIL500", lambda: "") is Delivery.DELIVERED
    late = DeliveryMarker(at=NOW, offsets=((str(rollout), rollout.stat().st_size),))
    assert agent.delivery(ctx, late, "FAIL500", lambda: "") is Delivery.PENDING


def test_observe_finds_the_rollout_and_reads_a_prompt_only_the_pane_shows(
    tmp_path: Path,
) -> None:
    ctx = _ctx(tmp_path)
    day = tmp_path / "codex-home" / "sessions" / "2026" / "12" / "02"
    day.mkdir(parents=True)
    lines = (GOLDEN / "01-approval/01-waiting.rollout.jsonl").read_text().splitlines()
    meta = json.loads(lines[0])
    thread = meta["payload"]["id"]
    meta["payload"]["cwd"] = str(ctx.worktree)
    rollout = day / f"rollout-2026-12-02T16-22-25-{thread}.jsonl"
    rollout.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n")
    pane = PaneInfo("app-1", "%1", 1, dead=False)
    screen = (GOLDEN / "01-approval/01-waiting.pane.txt").read_text()
    agent = CodexAgent(clock=lambda: NOW)  # long after the rollout went quiet
    observation = agent.observe(ctx, pane, lambda: screen)
    assert observation.extra == {"transcript_path": str(rollout), "codex_thread": thread}
    states = [(s.source.value, s.state) for s in observation.signals]
    assert states == [
        ("transcript", ActivityState.WORKING),
        ("pane", ActivityState.WAITING_INPUT),
    ]
    dead = PaneInfo("app-1", "%1", 1, dead=True, dead_status=0)
    exited = agent.observe(ctx, dead, lambda: "")
    assert [s.state for s in exited.signals] == [ActivityState.EXITED]


def test_the_plugin_offers_the_capabilities_that_fit() -> None:
    agent = CodexAgent()
    for capability in (EnvNeeds, ConversationLookup, ConversationTurns, AgentProgram):
        assert isinstance(agent, capability)
    # Codex has no per-worktree allow list ao-tui could write: projects with `allow` rules
    # are refused by the policy rather than started with the rules dropped.
    assert not isinstance(agent, PermissionRules)
    env = agent.inherited_env({"OPENAI_API_KEY": "k", "CODEX_HOME": "/x", "AWS_SECRET": "s"})
    assert env == {"OPENAI_API_KEY": "k", "CODEX_HOME": "/x"}
