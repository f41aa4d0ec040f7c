"""``ao-tui reactions``, its subcommands, and the reaction marks in ``status`` and ``events``.

The real ``ao-tui`` command in a subprocess, on a real config, store and git repo. The
sessions that need an agent run tests/support/recorder_agent.py in real tmux (the test
socket), which records every byte it receives: a sent suggestion is checked byte for byte,
a dropped one by the recording staying empty. Episodes and suggestions are seeded through
the ledger (what the reactor writes), since no reactor runs in these processes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine
from core.models import ReactionMark, Session
from core.reactions.ledger import Ledger
from tests.support.engine import ao, make_engine, recorder_command, wait_for, write_config

REACTIONS_YAML = """\
reactions:
  ci-failed:
    retries: 3
  changes-requested:
    escalateAfter: 45m
"""
PROJECT_YAML = """\
    reactions:
      ci-failed:
        escalateAfter: 1
      merge-conflicts:
        mode: suggest
      agent-stuck:
        threshold: 5m
"""
SUGGESTED = "CI failed at 1a2b3c4d5e: test_login_timeout\nFix it and push."


def run(config: Path, *args: str) -> Any:
    """``ao-tui --config CONFIG ARGS`` from the config's folder."""
    return ao(config.parent, "--config", str(config), *args)


def as_json(config: Path, *args: str) -> Any:
    """The JSON of ``ao-tui ARGS --json``; fails the test on a non-zero exit."""
    done = run(config, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def config(tmp_path: Path, git_repo: Path) -> Path:
    """A config with a top-level ``reactions:`` block and a project override."""
    return write_config(
        tmp_path,
        git_repo,
        command=recorder_command(tmp_path / "rec.bin"),
        extra=REACTIONS_YAML,
        extra_project_yaml=PROJECT_YAML,
    )


@pytest.fixture
def engine(config: Path) -> Iterator[Engine]:
    """The engine on ``config`` (for seeding; the CLI under test runs in a subprocess)."""
    built = make_engine(config)
    yield built
    built.store.close()


def spawned(engine: Engine, tmp_path: Path) -> Session:
    """A running recorder session, ready to record what it is sent."""
    session = engine.spawn("app", "fix the login test")
    wait_for(lambda: "recorder ready" in engine.runtime.capture(session.pane_id), timeout=15)
    return session


def suggest(engine: Engine, session: Session, text: str = SUGGESTED) -> None:
    """What suggest mode leaves behind: an episode, a suggested send, the session's mark."""
    ledger = Ledger(engine.store)
    episode = ledger.open_episode(session.id, "ci-failed")
    made = ledger.begin_attempt(episode, fact="1a2b3c4d5e", text=text, state="suggested")
    assert made is not None
    mark = ReactionMark("ci-failed", "suggested", attempts=1, budget=1, since=episode.opened_at)
    engine.store.update_session(session.id, reaction=mark)


def test_listing_gives_effective_values_and_where_each_came_from(config: Path) -> None:
    listed = as_json(config, "reactions")
    # Every test runs with AO_TUI_REACTIONS=off unless marked (tests/conftest.py).
    assert listed["state"] == "off (AO_TUI_REACTIONS=off)" and listed["paused"] == []
    [project] = listed["projects"]
    assert project["project"] == "app" and project["enabled"] is True
    rules = {rule["key"]: rule for rule in project["reactions"]}
    assert next(iter(rules)) == "ci-failed" and len(rules) == 11
    ci = rules["ci-failed"]
    # retries from the top level (a count), escalateAfter from the project's override.
    assert (ci["retries"], ci["escalate_after"], ci["budget"]) == (3, 1, 1)
    assert ci["sources"]["retries"] == "reactions.ci-failed"
    assert ci["sources"]["escalate_after"] == "projects.app.reactions.ci-failed"
    assert ci["sources"]["action"] == "default" and ci["action"] == "send-to-agent"
    review = rules["changes-requested"]  # a duration, in seconds
    assert review["escalate_after"] == 45 * 60 and review["budget"] is None
    assert review["sources"]["escalate_after"] == "reactions.changes-requested"
    assert rules["merge-conflicts"]["mode"] == "suggest"
    assert rules["merge-conflicts"]["sources"]["mode"] == "projects.app.reactions.merge-conflicts"
    assert rules["agent-stuck"]["threshold"] == 300.0
    assert rules["bugbot-comments"] == {
        "key": "bugbot-comments",
        "enabled": True,
        "auto": True,
        "action": "send-to-agent",
        "message": None,
        "priority": "action",
        "retries": None,
        "escalate_after": 1800.0,
        "threshold": None,
        "mode": "auto",
        "budget": None,
        "sources": {
            "auto": "default",
            "action": "default",
            "priority": "default",
            "escalate_after": "default",
        },
    }

    plain = run(config, "reactions")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0] == "reactions: off (AO_TUI_REACTIONS=off)"
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    row = {line.split()[0]: line.split() for line in lines if line.startswith("  ")}
    assert row["ci-failed"] == ["ci-failed", "send-to-agent", "yes", "action", "3*", "1*", "auto"]
    assert row["changes-requested"][5] == "45m*" and row["bugbot-comments"][5] == "30m"
    assert row["merge-conflicts"][6] == "suggest*"
    assert "  agent-stuck counts after 5m with no news (threshold*)" in lines
    assert "    reactions.ci-failed: retries 3" in lines
    assert "    projects.app.reactions.ci-failed: escalateAfter 1" in lines
    assert "    reactions.changes-requested: escalateAfter 45m" in lines
    # The project named as an argument or as --project: the same listing.
    assert run(config, "reactions", "app").stdout == plain.stdout
    assert run(config, "reactions", "--project", "app").stdout == plain.stdout


@pytest.mark.reactions
def test_state_says_on_and_why_it_is_off(config: Path, tmp_path: Path, git_repo: Path) -> None:
    assert as_json(config, "reactions")["state"] == "on"
    (tmp_path / "off").mkdir()
    off = write_config(tmp_path / "off", git_repo, extra="reactions:\n  enabled: false\n")
    listed = as_json(off, "reactions")
    assert listed["state"] == "off (reactions.enabled is false in the config)"
    assert listed["projects"][0]["enabled"] is False
    plain = run(off, "reactions").stdout
    assert "app: every reaction is off (reactions.enabled is false)" in plain


def test_listing_says_how_long_the_orchestrator_has(tmp_path: Path, git_repo: Path) -> None:
    default = write_config(tmp_path, git_repo)
    [project] = as_json(default, "reactions")["projects"]
    assert (project["orchestrator_timeout"], project["orchestrator_timeout_source"]) == (
        600.0,
        "default",
    )
    plain = run(default, "reactions").stdout
    assert "escalations go to a running orchestrator first; it has 10m to act\n" in plain
    (tmp_path / "off").mkdir()
    off = write_config(
        tmp_path / "off",
        git_repo,
        extra_project_yaml="    reactions:\n      orchestratorTimeout: off\n",
    )
    assert as_json(off, "reactions")["projects"][0]["orchestrator_timeout"] is None
    assert (
        "  escalations skip the orchestrator: orchestratorTimeout off\n"
        "    (projects.app.reactions.orchestratorTimeout)\n" in run(off, "reactions").stdout
    )


def test_bad_project_and_usage_errors(config: Path) -> None:
    unknown = run(config, "reactions", "nope")
    assert unknown.returncode == 5 and unknown.stdout == ""
    assert unknown.stderr.strip() == "ao-tui: unknown project 'nope' (known: app)"
    misplaced = run(config, "reactions", "--json", "pause")
    assert misplaced.returncode == 2 and "after `pause`" in misplaced.stderr


def test_pause_and_resume_one_session_and_all(config: Path, engine: Engine) -> None:
    session = engine.spawn("app", "one")
    first = as_json(config, "reactions", "pause", session.id)
    assert first == {"scope": session.id, "paused": True, "changed": True, "state": first["state"]}
    again = run(config, "reactions", "pause", session.id)
    assert (
        again.returncode == 0
        and again.stdout == f"reactions were already paused for {session.id}\n"
    )
    assert as_json(config, "reactions", "history", session.id)["paused"] is True

    everyone = run(config, "reactions", "pause")
    assert everyone.returncode == 0 and everyone.stdout == "reactions paused for every session\n"
    listed = as_json(config, "reactions")
    assert listed["paused"] == ["*", session.id]
    one_back = run(config, "reactions", "resume", session.id)
    assert one_back.stdout == f"reactions resumed for {session.id}\n"
    assert "stay paused for every session" in one_back.stderr
    assert as_json(config, "reactions", "resume") == {
        "scope": "*",
        "paused": False,
        "changed": True,
        "state": listed["state"],
    }
    idle = run(config, "reactions", "resume")
    assert idle.returncode == 0
    assert idle.stdout == "reactions were not paused for every session; nothing to resume\n"

    # Each change is one event; the idempotent repeats wrote none.
    events = [json.loads(line) for line in run(config, "events", "--json").stdout.splitlines()]
    switches = [
        (e["session"], e["data"]["outcome"], e["data"]["scope"])
        for e in events
        if e["kind"] == "reaction"
    ]
    assert switches == [
        (session.id, "paused", session.id),
        ("", "paused", "*"),
        (session.id, "resumed", session.id),
        ("", "resumed", "*"),
    ]
    plain = run(config, "events").stdout
    assert "reaction   reactions paused for every session" in plain
    assert "reaction   reactions resumed\n" in plain


def test_unknown_ids_exit_as_other_verbs_do(config: Path) -> None:
    for verb in ("history", "pause", "resume", "send", "drop"):
        done = run(config, "reactions", verb, "app-99")
        assert done.returncode == 3, (verb, done.stderr)
        assert done.stderr == "ao-tui: no session 'app-99'; list them with `ao-tui status`\n"
    hostile = run(config, "reactions", "history", "../x")
    assert hostile.returncode == 3 and "is not a session id" in hostile.stderr


def test_history_shows_episodes_sends_with_their_text_and_events(
    config: Path, engine: Engine
) -> None:
    session = engine.spawn("app", "fix the login test")
    ledger = Ledger(engine.store)
    episode = ledger.open_episode(session.id, "ci-failed")
    made = ledger.begin_attempt(episode, fact="1a2b3c4d5e", text="CI failed: test_x\nFix it.")
    assert made is not None
    ledger.set_send(made.id, "sent", "delivered")
    ledger.escalate(episode, tier=3, reason="CI still failing after 1 fix: test_x")
    base = {"key": "ci-failed", "attempt": 1, "budget": 1, "action": "send-to-agent"}
    engine.store.append_event(session.id, "reaction", {**base, "outcome": "sent", "tier": 1})
    engine.store.append_event(
        session.id,
        "reaction",
        {**base, "outcome": "escalated", "tier": 3, "reason": "CI still failing after 1 fix"},
    )
    other = engine.spawn("app", "another")
    engine.store.append_event(other.id, "reaction", {**base, "outcome": "sent", "tier": 1})

    found = as_json(config, "reactions", "history", session.id)
    assert set(found) == {"session", "paused", "episodes", "sends", "events", "state"}
    assert found["session"] == session.id and found["paused"] is False
    [opened] = found["episodes"]
    assert (opened["key"], opened["attempts"], opened["tier"]) == ("ci-failed", 1, 3)
    assert opened["reason"] == "CI still failing after 1 fix: test_x"
    [sent] = found["sends"]
    assert (sent["state"], sent["text"], sent["detail"]) == (
        "sent",
        "CI failed: test_x\nFix it.",
        "delivered",
    )
    assert [e["data"]["outcome"] for e in found["events"]] == ["sent", "escalated"]
    assert {e["session"] for e in found["events"]} == {session.id}

    plain = run(config, "reactions", "history", session.id)
    assert plain.returncode == 0, plain.stderr
    text = plain.stdout
    assert "attempts 1/1" in text and "tier 3: the operator" in text
    assert "reason: CI still failing after 1 fix: test_x" in text
    assert "     | CI failed: test_x\n     | Fix it.\n" in text
    assert "ci-failed: sent the failure (attempt 1/1)" in text
    assert "ci-failed: escalated — CI still failing after 1 fix" in text


@pytest.mark.tmux
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary")
def test_send_a_suggestion_as_is_then_an_edit(config: Path, engine: Engine, tmp_path: Path) -> None:
    session = spawned(engine, tmp_path)
    recording = tmp_path / "rec.bin"
    nothing = run(config, "reactions", "send", session.id)
    assert nothing.returncode == 1
    assert nothing.stderr == f"ao-tui: {session.id} has no suggested message to send\n"

    suggest(engine, session)
    shown = as_json(config, "status", session.id)["reaction"]
    assert shown == {
        "key": "ci-failed",
        "status": "suggested",
        "attempts": 1,
        "budget": 1,
        "tier": 1,
        "reason": "",
        "since": shown["since"],
    }
    table = run(config, "status").stdout
    assert "✎ ci fix the login test" in table
    assert f"    ✎ ci-failed message ready: ao-tui reactions send|drop {session.id}" in table

    sent = as_json(config, "reactions", "send", session.id)
    assert sent["result"] in ("sent", "delivered", "queued"), sent
    got = wait_for(lambda: recording.read_bytes() if recording.exists() else None)
    wait_for(lambda: recording.read_bytes().endswith(b"\r"))
    assert recording.read_bytes() == SUGGESTED.encode() + b"\r"
    assert Ledger(engine.store).suggestion(session.id) is None
    # No daemon runs here: the verb itself moves the mark on from "a message waits".
    assert as_json(config, "status", session.id)["reaction"]["status"] == "acting"
    again = run(config, "reactions", "send", session.id)
    assert again.returncode == 1, "the suggestion was sent twice"

    suggest(engine, session, "the second suggestion")
    edited = tmp_path / "edit.txt"
    edited.write_bytes("my own words: ünïcode\n".encode())
    done = run(config, "reactions", "send", session.id, "--file", str(edited))
    assert done.returncode == 0, done.stderr
    want = SUGGESTED.encode() + b"\r" + "my own words: ünïcode\n".encode() + b"\r"
    wait_for(lambda: recording.read_bytes() == want or None, timeout=15)
    assert len(got) > 0
    both = run(config, "reactions", "send", session.id, "--edit", "x", "--file", str(edited))
    assert both.returncode == 2 and "not both" in both.stderr

    history = as_json(config, "reactions", "history", session.id)
    assert [s["state"] for s in history["sends"]] == ["sent", "sent"]
    events = history["events"]
    assert [e["data"]["by"] for e in events] == ["operator", "operator"]
    assert events[1]["data"]["text"] == "my own words: ünïcode\n"
    assert events[1]["data"]["reason"].endswith("(edited)")


@pytest.mark.tmux
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary")
def test_drop_a_suggestion_sends_nothing(config: Path, engine: Engine, tmp_path: Path) -> None:
    session = spawned(engine, tmp_path)
    suggest(engine, session)
    dropped = as_json(config, "reactions", "drop", session.id)
    assert dropped == {"session": session.id, "dropped": True}
    again = run(config, "reactions", "drop", session.id)
    assert again.returncode == 1 and "no suggested message to drop" in again.stderr
    [send] = Ledger(engine.store).sends(session.id)
    mark = as_json(config, "status", session.id)["reaction"]
    # The operator took it over: it stays theirs (Needs you, saying so) until CI clears.
    assert (mark["status"], mark["reason"]) == (
        "escalated",
        "you dropped the suggested ci-failed message",
    )
    assert (send.state, send.detail) == ("dropped", "dropped by the operator")
    # Nothing reached the agent (a send would have arrived well within this time).
    engine.send(session.id, "marker")
    wait_for(lambda: (tmp_path / "rec.bin").exists() or None)
    wait_for(lambda: (tmp_path / "rec.bin").read_bytes().endswith(b"\r") or None)
    assert (tmp_path / "rec.bin").read_bytes() == b"marker\r"
    plain = run(config, "events", session.id).stdout
    assert "ci-failed: the suggested message was dropped by the operator" in plain


def test_status_shows_acting_and_escalated_marks(config: Path, engine: Engine) -> None:
    acting = engine.spawn("app", "acting one")
    stuck = engine.spawn("app", "escalated one")
    engine.store.update_session(
        acting.id, reaction=ReactionMark("ci-failed", "acting", attempts=1, budget=2)
    )
    reason = "CI still failing after 2 fixes: test_login_timeout"
    engine.store.update_session(
        stuck.id,
        reaction=ReactionMark(
            "ci-failed", "escalated", attempts=2, budget=2, tier=3, reason=reason
        ),
    )
    rows = {row["id"]: row for row in as_json(config, "status")}
    assert rows[acting.id]["reaction"]["status"] == "acting"
    assert rows[stuck.id]["reaction"]["reason"] == reason
    assert rows[stuck.id]["zone"] == "Needs you"
    table = run(config, "status").stdout.splitlines()
    assert any(line.startswith(acting.id) and "↻ ci 1/2 acting one" in line for line in table)
    assert f"    ⚠ escalated: {reason}" in table
    assert all(len(line) <= 80 for line in table)
    fresh = engine.spawn("app", "no reaction")
    assert {row["id"]: row for row in as_json(config, "status")}[fresh.id]["reaction"] is None
