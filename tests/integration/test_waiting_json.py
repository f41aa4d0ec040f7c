"""What a waiting agent asks, as scripts read it: ``status --json`` and ``events --json``
print ``waiting_for`` as ``{"kind", "tool", "command"}`` (the event log sorts keys), and a
stored row holding something else is shown, never a traceback.

Real CLI processes, a real store, a real tmux pane; the hook log is written by the test as
Claude's hooks would write it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.models import ActivityState
from tests.integration.test_reconcile_loop import _claude_session, _hook
from tests.support.engine import ao, make_engine, write_config
from tests.unit.test_store import make_session

ASKED = '"waiting_for": {"kind": "permission", "tool": "Bash", "command": "ls -la"}'
LOGGED = '"waiting_for": {"command": "ls -la", "kind": "permission", "tool": "Bash"}'
"""The event log stores its data with sorted keys, the question included."""


def test_status_and_events_json_print_the_question_in_its_fixed_shape(
    tmp_path: Path, git_repo: Path
) -> None:
    config = write_config(tmp_path, git_repo, agent="claude-code")
    engine = make_engine(config)
    session, hooks = _claude_session(engine)
    with hooks.open("a") as handle:
        handle.write(_hook("PermissionRequest", tool_name="Bash", tool_input={"command": "ls -la"}))
    assert engine.reconcile_one(session.id).activity.state is ActivityState.WAITING_INPUT
    # The pane runs `sleep`: the answer's keys go nowhere and the prompt stays.
    engine.respond(session.id, True, timeout=0.3)

    status = ao(tmp_path, "--config", str(config), "status", "--json")
    assert status.returncode == 0, status.stderr
    assert ASKED in status.stdout
    events = ao(tmp_path, "--config", str(config), "events", session.id, "--json")
    assert events.returncode == 0, events.stderr
    by_kind = {json.loads(line)["kind"]: line for line in events.stdout.splitlines()}
    assert LOGGED in by_kind["activity"]
    assert '"data": {"answer": "yes", "expected": null, ' + LOGGED + "}" in by_kind["responded"]


def test_a_garbled_stored_question_is_shown_not_a_traceback(tmp_path: Path, git_repo: Path) -> None:
    config = write_config(tmp_path, git_repo)
    engine = make_engine(config)
    for sid in ("app-1", "app-2"):
        engine.store.insert_session(make_session(sid), event=("spawned", {}))
    database = engine.locations.database
    engine.store.close()
    base = {"state": "waiting_input", "source": "hook", "since": 1.0, "detail": "asks"}
    with sqlite3.connect(database) as db:
        for sid, garbled in (("app-1", "permission"), ("app-2", {"kind": 5, "tool": ["x"]})):
            db.execute(
                "UPDATE sessions SET activity = ? WHERE id = ?",
                (json.dumps({**base, "waiting_for": garbled}), sid),
            )
            db.execute(
                "INSERT INTO events (ts, session_id, kind, data) VALUES (1.0, ?, 'activity', ?)",
                (sid, json.dumps({"state": "waiting_input", "waiting_for": garbled})),
            )
    db.close()
    # `ls` shows the rows as stored; the verbs after it reconcile (the panes are gone).
    listed = ao(tmp_path, "ls")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert listed.stdout.count("    asks: asks") == 2, listed.stdout
    for verb in (["events"], ["events", "--json"], ["status"], ["status", "--json"]):
        shown = ao(tmp_path, "--config", str(config), *verb)
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, (verb, shown.stderr)
        assert "app-2" in shown.stdout, (verb, shown.stdout)
