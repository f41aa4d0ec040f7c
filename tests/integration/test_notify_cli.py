"""``ao-tui notify test|outbox|retry`` as real subprocesses, against a real HTTP receiver
on 127.0.0.1 (the notifier is the stand-in :class:`tests.support.notifiers.HttpNotifier`,
installed as an entry point the way pip installs a plugin). No secret in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.locations import Locations
from core.notify.outbox import Outbox
from core.store import Store
from tests.integration.test_notify_delivery import escalate, notifier_yaml
from tests.support.engine import write_config
from tests.support.notifiers import Receiver, install_entry_point

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-path-token"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def ao(cwd: Path, plugins: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(plugins)])}
    return subprocess.run(
        [sys.executable, "-m", "ao_tui", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_notify_test_reports_each_result_and_names_no_secret(
    git_repo: Path, tmp_path: Path, receiver: Receiver
) -> None:
    plugins = install_entry_point(tmp_path / "plugins")
    write_config(git_repo, git_repo, extra=notifier_yaml(receiver.url))
    ok = ao(git_repo, plugins, "notify", "test", "--json")
    assert ok.returncode == 0, ok.stderr
    (result,) = json.loads(ok.stdout)["results"]
    assert result["notifier"] == "hook" and result["ok"] is True
    assert receiver.requests[0].body["event"]["type"] == "notify.test"
    assert receiver.requests[0].key == result["key"]
    receiver.script = [(401, {})]
    bad = ao(git_repo, plugins, "notify", "test", "hook")
    assert bad.returncode == 6
    assert "hook (http-test): FAILED: receiver answered 401" in bad.stderr
    unknown = ao(git_repo, plugins, "notify", "test", "nope")
    assert unknown.returncode == 3 and "configured: hook" in unknown.stderr
    for proc in (ok, bad, unknown):
        assert SECRET not in proc.stdout + proc.stderr


def test_notify_outbox_lists_rows_with_reasons_and_retry_requeues(
    git_repo: Path, tmp_path: Path
) -> None:
    plugins = install_entry_point(tmp_path / "plugins")
    write_config(git_repo, git_repo, extra=notifier_yaml(f"http://127.0.0.1:9/{SECRET}"))
    store = Store(Locations.from_env().database)
    escalate(store, "app-7", "CI still failing")
    from core.notify.pacing import Pacing
    from core.notify.words import notification_of

    event = store.events_after(0)[-1]
    found = notification_of(event, None)
    assert found is not None
    box = Outbox(store)
    (row_id,) = box.enqueue([(found, ["hook"])], Pacing())
    row = box.claim(box.heads()[0])
    assert row is not None
    box.fail(row.id, f"could not reach http://127.0.0.1:9/{SECRET}")
    listed = ao(git_repo, plugins, "notify", "outbox", "--json")
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)["rows"]
    assert shown["state"] == "failed" and shown["title"] == "app-7 needs you: CI still failing"
    assert shown["last_error"].startswith("could not reach")
    text = ao(git_repo, plugins, "notify", "outbox")
    assert "failed" in text.stdout and "app-7 needs you" in text.stdout
    assert SECRET not in listed.stdout + text.stdout
    again = ao(git_repo, plugins, "notify", "retry", str(row_id), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["state"] == "pending"
    assert store.events_after(0)[-1].kind == "notification"  # what wakes the worker
    missing = ao(git_repo, plugins, "notify", "retry", "999")
    assert missing.returncode == 3
    store.close()
