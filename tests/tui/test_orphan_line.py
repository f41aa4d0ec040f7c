"""Item 7 in the cockpit: orphaned and half-done sessions are named under the zone counts.

A real engine (real git, tmux on the test socket): one session recorded as usual, one
whose spawn was cut short after its worktree was made (a manifest with a dead owner).
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from ao_tui.app import CockpitApp
from ao_tui.widgets.orphan_line import OrphanLine
from core.inventory import take_inventory
from core.recovery import fix_findings
from tests.support.engine import make_engine, write_config
from tests.support.orphans import forget_row, mark_cut_short
from tests.support.pilot_waits import wait_until


async def test_orphans_show_under_the_counts_and_go_once_fixed(
    tmp_path: Path, git_repo: Path
) -> None:
    engine = make_engine(write_config(tmp_path, git_repo, command="sleep 600"))
    engine.spawn("app", "a recorded task")
    cut = engine.spawn("app", "a task whose spawn was cut short")
    # What a SIGKILL after the worktree step leaves: no agent, no row (the insert never
    # ran), and the manifest still marking the spawn, by a process that is gone.
    engine.runtime.kill(cut.tmux)
    forget_row(engine, cut.id)
    mark_cut_short(engine, cut, "spawn")
    app = CockpitApp(engine, notify_bell=False, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.query_one("#orphans", OrphanLine)
        await wait_until(pilot, lambda: line.display and "app-2" in str(line.content))
        text = str(line.content)
        assert "1 orphaned or half-done session" in text
        assert "run ao-tui doctor --fix" in text
        assert len(text) <= 78  # fits 80 columns with its padding
        fix_findings(engine, take_inventory(engine))
        app._check_orphans()
        await wait_until(pilot, lambda: not line.display)
        assert isinstance(app.query_one("#counts"), Static)
