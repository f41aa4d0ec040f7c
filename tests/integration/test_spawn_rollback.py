"""A spawn failing at any step leaves nothing behind: no worktree, branch, tmux or record.

Fault injection: the real plugins are wrapped so that one chosen method raises after the
real steps before it have run. Nothing else is mocked; tmux and git are real.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from core.engine import Engine
from core.errors import EngineError
from core.registry import Registry
from core.slots import SlotError
from tests.conftest import run_git
from tests.support.engine import make_engine, recorder_command, write_config


class Faulty:
    """Delegates to a real plugin, raising from ``method`` instead of calling it."""

    def __init__(self, real: Any, method: str | None) -> None:
        self._real = real
        self._method = method

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name == self._method:

            def boom(*args: Any, **kwargs: Any) -> Any:
                raise SlotError(f"injected failure in {name}")

            return boom
        return attr


STEPS = [
    ("workspace", "create"),
    ("agent", "prepare"),
    ("workspace", "exclude"),
    ("agent", "launch"),
    ("runtime", "create"),
    ("store", "insert_session"),
]


def faulty_engine(tmp_path: Path, repo: Path, slot: str, method: str) -> Engine:
    base = Registry()
    registry = Registry(discover=False)
    for name, real_slot in (("tmux", "runtime"), ("worktree", "workspace"), ("shell", "agent")):
        real = base.get(real_slot, name)
        broken = method if real_slot == slot else None
        registry.register(real_slot, name, functools.partial(Faulty, real, broken))
    cfg = write_config(tmp_path, repo, command=recorder_command(tmp_path / "rec.bin"))
    engine = make_engine(cfg, registry)
    if slot == "store":

        def broken_insert(*args: Any, **kwargs: Any) -> None:
            raise SlotError("injected failure in insert_session")

        engine.store.insert_session = broken_insert  # type: ignore[method-assign]
    return engine


@pytest.mark.parametrize(("slot", "method"), STEPS, ids=[f"{s}.{m}" for s, m in STEPS])
def test_spawn_failure_leaves_nothing_behind(
    tmp_path: Path, git_repo: Path, slot: str, method: str
) -> None:
    engine = faulty_engine(tmp_path, git_repo, slot, method)
    with pytest.raises(EngineError, match=f"injected failure in {method}"):
        engine.spawn("app", "doomed task")
    worktrees = engine.locations.home / "worktrees"
    assert not any(worktrees.rglob("*")) or not (worktrees / "app" / "app-1").exists()
    assert set(run_git(git_repo, "branch", "--format=%(refname:short)").split()) == {"main"}
    assert len(run_git(git_repo, "worktree", "list").splitlines()) == 1
    tmux = subprocess.run(
        ["tmux", "-L", os.environ["AO_TUI_TMUX_SOCKET"], "list-sessions"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "ao-app-1" not in tmux.stdout
    assert engine.store.list_sessions() == []
    assert not engine.locations.session_dir("app-1").exists()
    # the failure is on the record, and the id is burnt, never reused
    assert [e.kind for e in engine.store.events_after(0)] == ["spawn-failed"]
    assert engine.store.allocate_id("app") == "app-2"
