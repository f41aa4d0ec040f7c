"""Screenshots of the cockpit from a fixed state: ``python -m tests.support.screenshots [DIR]``.

The state is :mod:`tests.support.canned`'s, so every run draws the same pixels; the
cockpit's snapshot tests wait for the board the same way (:func:`settle`).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from core.engine import Engine
from tests.support.canned import sample_engine, with_canned_review
from tests.support.pilot_waits import pause_until


async def settle(pilot: Pilot[Any], timeout: float = 5.0) -> None:
    """Wait until the cockpit has read the sessions and painted the selected pane."""
    app: Any = pilot.app

    def painted() -> bool:
        return bool(app.sessions) and (app.selected_session() is None or app._last_capture)

    await pause_until(pilot, painted, timeout=timeout)
    await pilot.pause(0.1)


Step = Callable[[Pilot[Any]], Awaitable[None]]


async def _press(pilot: Pilot[Any], *keys: str) -> None:
    await pilot.press(*keys)
    await pilot.pause(0.3)


async def on_session(pilot: Pilot[Any], session_id: str, *keys: str) -> None:
    """Put the board cursor on ``session_id``, then press ``keys``."""
    app: Any = pilot.app
    app.board.focus_session(session_id)
    await pilot.pause(0.1)
    await _press(pilot, *keys)


SHOTS: list[tuple[str, tuple[int, int], Step | None]] = [
    ("board-80x24.svg", (80, 24), None),
    ("board-160x45.svg", (160, 45), None),
    ("preview-permission.svg", (120, 36), None),
    ("detail.svg", (100, 30), lambda p: _press(p, "i")),
    (
        "send.svg",
        (80, 24),
        lambda p: _press(p, "s", *"Yes, go ahead.", "enter", *"Then run make test."),
    ),
    ("help.svg", (80, 24), lambda p: _press(p, "question_mark")),
    ("ci.svg", (100, 30), lambda p: on_session(p, "app-5", "c")),
    ("merge.svg", (100, 30), lambda p: on_session(p, "app-5", "m")),
    ("review-threads.svg", (100, 30), lambda p: on_session(p, "app-6", "i", "right", "right")),
    ("reactions-80x24.svg", (80, 24), lambda p: on_session(p, "app-6")),
    ("orchestrator-80x24.svg", (80, 24), None),
    ("report-80x24.svg", (80, 24), lambda p: _press(p, "R")),
]
"""File name, terminal size, and what to do after the board settles."""


def with_reactions(engine: Engine) -> Engine:
    """The sample with reactions at work: app-5's CI failure sent to its agent (attempt 1
    of 2), a message prepared for app-6's review threads (suggest mode), and app-11's
    restore given up on."""
    from core.models import ReactionMark
    from tests.support.reaction_marks import acting, seed_mark, seed_suggestion

    seed_mark(engine, "app-5", acting())
    seed_suggestion(engine, "app-6", key="changes-requested")
    reason = "the agent exited again after 1 restore: agent exited with status 1"
    seed_mark(engine, "app-11", ReactionMark("agent-exited", "escalated", 1, 1, 3, reason))
    return engine


def with_the_orchestrator(engine: Engine) -> Engine:
    """The sample with the project's orchestrator pinned above the zones."""
    from tests.support.orchestrator import with_orchestrator

    with_orchestrator(engine)
    return engine


_PREPARE: dict[str, Callable[[Engine], Engine]] = {
    "reactions-80x24.svg": with_reactions,
    "orchestrator-80x24.svg": with_the_orchestrator,
}
"""Shots drawn from the sample with more state than the others share."""


async def write_screenshots(out_dir: Path) -> list[Path]:
    """Draw every screenshot of :data:`SHOTS` into ``out_dir``."""
    from ao_tui.app import CockpitApp
    from ao_tui.watching import THIS_COCKPIT

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="ao-tui-shots-") as tmp:
        shared = with_canned_review(sample_engine(Path(tmp)), Path(tmp) / "ci")
        for name, size, step in SHOTS:
            engine = shared
            if name in _PREPARE:
                own = Path(tmp) / name
                engine = _PREPARE[name](with_canned_review(sample_engine(own), own / "ci"))
            app = CockpitApp(
                engine,
                reconcile=False,
                notify_bell=False,
                cursor_blink=False,
                watching=THIS_COCKPIT,
            )
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                if step is not None:
                    await step(pilot)
                written.append(Path(app.save_screenshot(name, str(out_dir))))
    return written


def main(argv: list[str] | None = None) -> int:
    """Write the screenshots (default: ``screenshots/`` in the current directory)."""
    args = sys.argv[1:] if argv is None else argv
    out_dir = Path(args[0]) if args else Path("screenshots")
    for path in asyncio.run(write_screenshots(out_dir)):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
