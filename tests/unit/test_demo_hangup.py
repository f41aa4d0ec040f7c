"""The demo's hang-up handling: the first SIGHUP or SIGTERM ends it in order, and a second
one cannot cut short the cleanup the first started (a closing terminal sends several)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from ao_tui.demo import hangup_exits


def test_a_second_hangup_does_not_interrupt_the_cleanup_the_first_started() -> None:
    before = signal.getsignal(signal.SIGHUP)
    cleaned: list[str] = []
    with pytest.raises(SystemExit) as ended, hangup_exits():
        try:
            os.kill(os.getpid(), signal.SIGHUP)
            signal.pause()  # not reached: the handler raises SystemExit
        finally:
            # The kernel's SIGHUP as the pty hangs up, then tmux's SIGTERM.
            os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGTERM)
            cleaned.append("removed the sandbox")
    assert ended.value.code == 128 + signal.SIGHUP
    assert cleaned == ["removed the sandbox"]
    assert signal.getsignal(signal.SIGHUP) == before


def test_inside_a_running_loop_the_signal_asks_the_app_to_stop_once() -> None:

    stops: list[str] = []

    async def main() -> None:
        with hangup_exits(lambda: stops.append("exit")):
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert stops == ["exit"]
