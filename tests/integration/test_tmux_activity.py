"""The tmux runtime tells, from its last listing, whether a pane has written anything.

A real tmux server on the test's private socket; the pane runs a small program that writes
a line whenever a file appears, so the test decides when output happens.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import pytest

from plugins.runtime import TmuxRuntime

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux binary"),
]

# Prints "tick" once for each go-N file that appears in its directory, then nothing.
WRITER = """\
import os, sys, time
d = sys.argv[1]
n = 0
while True:
    if os.path.exists(os.path.join(d, f"go-{n}")):
        print(f"tick {n}", flush=True)
        n += 1
    time.sleep(0.02)
"""


def _next_second() -> float:
    """Sleep into the next whole second (tmux keeps activity in whole seconds)."""
    now = time.time()
    time.sleep(int(now) + 1.05 - now)
    return time.time()


def _wait_for_line(runtime: TmuxRuntime, pane: str, text: str) -> None:
    deadline = time.monotonic() + 10
    while text not in runtime.capture(pane):
        assert time.monotonic() < deadline, f"{text!r} never showed"
        time.sleep(0.05)


def test_quiet_since_follows_the_panes_output(tmp_path: Path) -> None:
    runtime = TmuxRuntime()
    program = tmp_path / "writer.py"
    program.write_text(WRITER)
    pane = runtime.create("ao-act", tmp_path, [sys.executable, str(program), str(tmp_path)])
    (tmp_path / "go-0").touch()
    _wait_for_line(runtime, pane.pane_id, "tick 0")
    runtime.list_panes()
    assert not runtime.quiet_since(pane.pane_id, time.time()), "no listing since then"
    since = _next_second()  # the output above is in an earlier second
    runtime.list_panes()
    assert runtime.quiet_since(pane.pane_id, since)
    (tmp_path / "go-1").touch()
    _wait_for_line(runtime, pane.pane_id, "tick 1")
    assert runtime.quiet_since(pane.pane_id, since), "the listing has not seen it yet"
    runtime.list_panes()
    assert not runtime.quiet_since(pane.pane_id, since), "output since: not quiet"
    assert not runtime.quiet_since("%999", since), "an unknown pane is never quiet"
