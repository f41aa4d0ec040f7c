"""A running cockpit follows ao.config.yaml: `r` in the CI view runs the file's command of now.

The real engine (real git, the shell agent in real tmux on the test socket, real CI runs)
in a Pilot cockpit at 80x24 that is given its config file (issue 9 item 14).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ao_tui.app import CockpitApp
from ao_tui.screens.ci import CiScreen
from tests.integration.test_config_reload import NEW, OLD, ci_config, replace_in
from tests.integration.test_scm_local import commit, settle
from tests.support.engine import make_engine
from tests.support.pilot_waits import wait_until
from tests.tui.test_actions import record_notifications, select

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux")


async def test_the_cockpit_reloads_its_config_and_keeps_it_when_broken(
    tmp_path: Path, git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ci_config(tmp_path, git_repo, OLD)
    engine = make_engine(config)
    session = engine.spawn("app", "rerun CI after the config changed")
    commit(session, "x.txt", "x\n")
    settle(engine, session.id)
    app = CockpitApp(
        engine, reconcile=False, notify_bell=False, cursor_blink=False, config_path=config
    )
    async with app.run_test(size=(80, 24)) as pilot:
        toasts = record_notifications(app, monkeypatch)
        await wait_until(pilot, lambda: session.id in app.sessions)
        replace_in(config, OLD, NEW)
        await wait_until(pilot, lambda: "ao.config.yaml reloaded: app: ci" in toasts)

        await select(pilot, app, session.id)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, CiScreen))
        ci_view = app.screen
        assert isinstance(ci_view, CiScreen)
        await wait_until(pilot, lambda: ci_view.checks)
        # The check that ran is labelled with what it ran; the view says the file changed.
        assert ci_view.checks[0]["name"] == OLD
        status = str(ci_view.query_one("#ci-status").render())
        assert f"ci.command changed since (r runs it): {NEW!r}" in status
        await pilot.press("r")
        await wait_until(pilot, lambda: len(engine.store.ci_runs(session.id)) == 2)
        assert [run.command for run in engine.store.ci_runs(session.id)] == [OLD, NEW]
        await wait_until(pilot, lambda: ci_view.checks[0]["name"] == NEW)
        await pilot.press("escape")

        config.write_text(config.read_text() + "    agent: claud\n", encoding="utf-8")
        await wait_until(pilot, lambda: app.config_line.has_class("-shown"))
        line = str(app.config_line.render())
        assert line.startswith("⚠ config not reloaded: ao.config.yaml:")
        assert "ao.config.yaml:" in line and "projects.app.agent" in line
        assert any(
            t.startswith("ao.config.yaml not reloaded: previous config kept: ") for t in toasts
        )
        project = engine.config.projects["app"]
        assert project.ci is not None and project.ci.command == NEW  # the old config stays
        assert app.is_running

        replace_in(config, "    agent: claud\n", "")
        await wait_until(pilot, lambda: not app.config_line.has_class("-shown"))
