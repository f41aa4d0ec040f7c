"""Issue 9 item 6 for exits: an agent that died while nobody watched is dated by tmux.

tmux keeps when a pane died (``pane_dead_time``); the reconciler dates the exit from it,
so an engine that first looks two seconds after the death (a cockpit opened later) says
the agent has been gone since then, not since its own tick.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from core.models import ActivityState, Lifecycle
from core.slots import PaneInfo
from tests.support.engine import make_engine, wait_for, write_config

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary")


def test_an_exit_is_dated_by_the_runtime_not_by_the_first_tick(
    tmp_path: Path, git_repo: Path
) -> None:
    config = write_config(tmp_path, git_repo, command="sh -c 'read line; exit 3'")
    engine = make_engine(config)
    session = engine.spawn("app", "exit when told")
    time.sleep(1.1)  # tmux keeps whole seconds: the death must come after the spawn's second
    engine.runtime.send_keys(session.pane_id, "x", "Enter")

    def dead_pane() -> PaneInfo | None:
        pane = engine.runtime.list_panes().get(session.tmux)
        return pane if pane is not None and pane.dead else None

    pane = wait_for(dead_pane)
    assert pane.dead_at is not None and abs(pane.dead_at - time.time()) < 3
    time.sleep(2.2)  # nobody reconciles meanwhile
    fresh = make_engine(config)
    fresh.reconcile()
    seen = fresh.get(session.id)
    assert seen.lifecycle is Lifecycle.EXITED and seen.activity.state is ActivityState.EXITED
    assert seen.activity.since == pane.dead_at
    assert time.time() - seen.activity.since >= 2.0
