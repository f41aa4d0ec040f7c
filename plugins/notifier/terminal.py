"""The ``terminal`` notifier: the terminal bell and an OSC 9 or OSC 777 notification, written
to the terminal of the cockpit open in this process (:mod:`core.notify.terminal`).

Options (all optional):

```yaml
notifiers:
  screen: {plugin: terminal, bell: true, osc: 9}   # osc: 9, 777 or none
```

Only a cockpit owns a terminal: where none is open in the process that delivers (the daemon
holds the lease), sending fails at once with "no cockpit is open", and the row keeps that
reason. Terminals show a notification once and forget it, so the only duplicate to avoid is
a resend of the same key while the cockpit stays open: the last keys written are kept.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from core.notify.model import Notification, NotifierError
from core.notify.terminal import BELL, attached, osc9, osc777

OSC_KINDS = ("9", "777", "none")
KEYS_KEPT = 512
"""Idempotency keys remembered (a resend after a failed attempt is the only repeat)."""


class TerminalNotifier:
    """Rings the cockpit's terminal: bell, then an OSC notification."""

    def __init__(self) -> None:
        """No key written yet."""
        self._written: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, options: Mapping[str, Any]) -> list[str]:
        """``bell`` must be true/false, ``osc`` one of 9, 777 or none."""
        problems: list[str] = []
        bell = options.get("bell", True)
        if not isinstance(bell, bool):
            problems.append(f"bell: {bell!r} is not true or false; write bell: true")
        osc = str(options.get("osc", "9")).strip()
        if osc not in OSC_KINDS:
            problems.append(f"osc: {osc!r} is not 9, 777 or none; write osc: 9")
        unknown = sorted(set(options) - {"bell", "osc"})
        if unknown:
            problems.append(f"unknown option(s) {', '.join(unknown)}; the terminal takes bell, osc")
        return problems

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        """Ring the open cockpit's terminal (bell and OSC), once per ``key``."""
        problems = self.check(options)
        if problems:
            raise NotifierError("terminal: " + "; ".join(problems), retry=False)
        sink = attached()
        if sink is None:
            raise NotifierError(
                "terminal: no cockpit is open in the process that delivers notifications "
                "(the daemon has no terminal); route to desktop or a phone for that",
                retry=False,
            )
        with self._lock:
            if key in self._written:
                return
        sequence = self.sequence(notification, options)
        try:
            sink.write_terminal(sequence)
        except OSError as exc:
            raise NotifierError(
                f"terminal: the cockpit's terminal refused: {exc}", retry=True
            ) from exc
        with self._lock:
            self._written[key] = None
            while len(self._written) > KEYS_KEPT:
                self._written.popitem(last=False)

    @staticmethod
    def sequence(notification: Notification, options: Mapping[str, Any]) -> str:
        """What is written: the bell (unless ``bell: false``), then the OSC notification."""
        inside_tmux = bool(os.environ.get("TMUX"))
        osc = str(options.get("osc", "9")).strip()
        text = f"ao-tui: {notification.title}"
        parts = [BELL] if options.get("bell", True) else []
        if osc == "9":
            parts.append(osc9(text, inside_tmux=inside_tmux))
        elif osc == "777":
            body = notification.command or notification.detail.split("\n", 1)[0]
            parts.append(osc777(text, body, inside_tmux=inside_tmux))
        return "".join(parts)


__all__ = ["TerminalNotifier"]
