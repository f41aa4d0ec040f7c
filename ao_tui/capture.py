"""When the cockpit captures the shown pane again: the throttle behind the preview.

The preview and the detail show the selected session's screen, read by a capture (a tmux
fork) at most every :data:`CAPTURE_INTERVAL` seconds. A screen that stopped changing is
read less and less often, down to every ~2 s; a pane the runtime knows to be quiet since
the last capture began is not read at all, nor, for up to :data:`SETTLED_RECHECK` seconds,
the pane of a session that has settled (see :mod:`core.tick_policy`). This module decides;
the app's thread worker captures and its handlers paint.
"""

from __future__ import annotations

from core.engine import Engine
from core.models import Lifecycle, Session
from core.slots import QuietPanes
from core.tick_policy import settled

CAPTURE_INTERVAL = 0.25
"""Seconds between pane captures of the selected session (at most ~4 a second)."""
MAX_CAPTURE_SKIP = 7
"""At most this many capture ticks skipped in a row: an idle pane is still read every 2 s."""

SETTLED_RECHECK = 30.0
"""Longest a settled session's shown screen goes without a capture (the loop's safety tick)."""

_CLOSED = frozenset({Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE})


class CaptureThrottle:
    """Which capture tick captures, and whether what a capture brought is worth painting."""

    def __init__(self, engine: Engine) -> None:
        """Throttle captures of ``engine``'s panes."""
        self.engine = engine
        self.running = False
        """A capture is on its way (one at a time)."""
        self.skip = 0
        """Capture ticks still to skip: a screen that stopped changing is read less often."""
        self.backoff = 0
        self.shown: tuple[str, str] | None = None
        """The session and screen last painted (None: the next capture paints, whatever)."""
        self.started: tuple[str, float] | None = None
        self.captured: tuple[str, float] | None = None
        """The session whose screen was last captured, and when that capture began."""

    def restart(self) -> None:
        """Another screen is shown (a selection, the detail): capture it at once."""
        self.shown = None
        self.skip = self.backoff = 0

    def due(self, session: Session | None, now: float) -> bool:
        """Whether this tick captures ``session``'s pane; if so, the capture counts as begun."""
        if self.running:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if session is None or not session.pane_id or session.lifecycle in _CLOSED:
            return False
        if self.pane_quiet(session, now):
            return False
        self.running = True
        self.started = (session.id, now)
        return True

    def pane_quiet(self, session: Session, now: float) -> bool:
        """Whether the screen shown for ``session`` is still its pane's screen.

        The runtime may know (tmux lists each window's last output on every reconcile
        tick) that nothing was written since the last capture began; then capturing again,
        a tmux fork each time, would only return the same screen.
        """
        shown, captured = self.shown, self.captured
        if shown is None or shown[0] != session.id or captured is None:
            return False
        if captured[0] != session.id:
            return False
        if settled(session, self.engine.clock()) and now - captured[1] < SETTLED_RECHECK:
            # A settled agent's screen changes with news it reports (a prompt, a new turn),
            # which unsettles it; while everything is settled the loop lists no panes, so
            # the runtime's answer below would be stale. Looked at again now and then, for
            # what no agent reports (a background job printing under an idle prompt).
            return True
        runtime = self.engine.runtime
        return isinstance(runtime, QuietPanes) and runtime.quiet_since(session.pane_id, captured[1])

    def landed(self, session_id: str, text: str) -> bool:
        """A capture came back: whether its screen is new (to paint); if not, back off."""
        self.running = False
        if self.started is not None and self.started[0] == session_id:
            self.captured = self.started
        key = (session_id, text)
        if key == self.shown:
            # Unchanged: back off up to 2 s between reads (each costs a tmux fork); any
            # change, or another selection, goes back to four reads a second.
            self.backoff = min(self.backoff * 2 or 1, MAX_CAPTURE_SKIP)
            self.skip = self.backoff
            return False
        self.skip = self.backoff = 0
        self.shown = key
        return True

    def failed(self) -> None:
        """The capture failed or the pane is gone: nothing shown is a pane's screen."""
        self.running = False
        self.shown = None
