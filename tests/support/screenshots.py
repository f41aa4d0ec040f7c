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
]
"""File name, terminal size, and what to do after the board settles."""


async def write_screenshots(out_dir: Path) -> list[Path]:
    """Draw every screenshot of :data:`SHOTS` into ``out_dir``."""
    from ao_tui.app import CockpitApp
    from ao_tui.watching import THIS_COCKPIT

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="ao-tui-shots-") as tmp:
        engine = with_canned_review(sample_engine(Path(tmp)), Path(tmp) / "ci")
        for name, size, step in SHOTS:
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
