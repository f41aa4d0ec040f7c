"""The operator's terminal as a place notifications can reach: the escape sequences that ring
it, and the one terminal of this process a notifier may write them to.

Only a cockpit owns a terminal (the daemon has none, and a CLI verb's terminal is gone when it
exits), so the ``terminal`` notifier can reach a person only through a cockpit open in the
same process: the cockpit :func:`attach` es its terminal on mount and detaches it on
unmount. The outbox runs in whichever process holds the engine lease, so a cockpit that
holds it rings through the notifier slot (and follows ``notificationRouting``), while a
cockpit that only follows the daemon keeps ringing on its own (see :func:`terminal_routed`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from core.config_models import Config

BELL = "\x07"
TITLE_MAX = 200
"""Longest text put in one OSC notification (terminals cut or drop longer ones)."""
TERMINAL = "terminal"
"""The built-in notifier name (and plugin) of the operator's terminal."""


def _printable(text: str, limit: int = TITLE_MAX) -> str:
    # Control characters are dropped so a session title can never end the sequence early or
    # smuggle another escape into the operator's terminal.
    return "".join(ch for ch in text if ch.isprintable())[:limit]


def _through_tmux(sequence: str, inside_tmux: bool) -> str:
    if not inside_tmux:
        return sequence
    # tmux swallows OSC notifications unless they arrive in a DCS passthrough
    # (allow-passthrough on).
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def osc9(text: str, *, inside_tmux: bool) -> str:
    """The OSC 9 desktop notification for ``text`` (iTerm2, WezTerm, kitty, Windows Terminal),
    wrapped for tmux passthrough if needed."""
    return _through_tmux(f"\x1b]9;{_printable(text)}\x07", inside_tmux)


def osc777(title: str, body: str, *, inside_tmux: bool) -> str:
    """The OSC 777 notification (rxvt-unicode, foot, Ghostty, WezTerm): a title and a body.

    ``;`` separates the fields, so it is replaced in both (a title may contain one).
    """
    fields = [_printable(part).replace(";", ",") for part in (title, body)]
    return _through_tmux(f"\x1b]777;notify;{fields[0]};{fields[1]}\x07", inside_tmux)


class TerminalSink(Protocol):
    """A terminal a notification can be written to (the cockpit's)."""

    def write_terminal(self, sequence: str) -> None:
        """Write ``sequence`` to the terminal now; callable from any thread.

        Raises :class:`OSError` (or returns quietly) when the terminal cannot take it.
        """
        ...


_lock = threading.Lock()
_sinks: list[TerminalSink] = []


def attach(sink: TerminalSink) -> Callable[[], None]:
    """Make ``sink`` this process's terminal for notifications; returns the detach call.

    The newest attached sink is used (a test may build several cockpits in one process).
    """
    with _lock:
        _sinks.append(sink)

    def detach() -> None:
        with _lock:
            if sink in _sinks:
                _sinks.remove(sink)

    return detach


def attached() -> TerminalSink | None:
    """The terminal notifications may be written to in this process, if a cockpit is open."""
    with _lock:
        return _sinks[-1] if _sinks else None


def terminal_routed(config: Config) -> bool:
    """Whether the configuration sends any notification to a terminal notifier: then the
    notifier slot rings the terminal, and a cockpit that delivers notifications itself
    (it holds the lease) must not ring a second time for the same news."""
    routing = config.notification_routing
    names: set[str] = set(config.defaults.notifiers)
    if routing is not None:
        for route in (routing.urgent, routing.action, routing.warning, routing.info):
            names.update(route or ())
    for name in names:
        entry = config.notifiers.get(name)
        if (entry.plugin if entry is not None else name) == TERMINAL:
            return True
    return False
