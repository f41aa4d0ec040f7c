"""The demo's scripted operator: approves, merges and forwards failures as a person would.

Without it a fresh demo could never show "Ready to merge" or a merged session in "Done":
those zones need a human decision. Nor "Fixing": that means an agent works on a failing
PR, and the demo's agent whose tests fail waits, in "Needs you", until someone sends it
the failure; the operator does so after a while (c, then s in the cockpit). It acts only
through the engine facade, in its own thread, and only on the sessions the sandbox hands it.
"""

from __future__ import annotations

import threading
import time

from core.engine import Engine
from core.errors import EngineError
from core.models import ActivityState, Lifecycle
from core.slots import SlotError


class DemoOperator(threading.Thread):
    """Merges ``merge_id`` once its agent has exited with green CI; approves ``approve_id``
    once its CI is green and its agent idle; sends ``forward_id`` its failing CI once it has
    waited idle on it for ``forward_after`` seconds. Stops at :meth:`stop` or after
    ``timeout``."""

    def __init__(
        self,
        engine: Engine,
        *,
        merge_id: str | None,
        approve_id: str | None,
        forward_id: str | None = None,
        forward_after: float = 8.0,
        timeout: float = 120.0,
    ) -> None:
        """Prepare (not start) the operator for those sessions."""
        super().__init__(name="ao-tui-demo-operator", daemon=True)
        self.engine = engine
        steps = (("merge", merge_id), ("approve", approve_id), ("forward", forward_id))
        self.todo: dict[str, str] = {sid: step for step, sid in steps if sid}
        self.forward_after = forward_after
        self._failing_since: dict[str, float] = {}
        self.timeout = timeout
        self._stopped = threading.Event()
        self.errors: list[str] = []

    def stop(self) -> None:
        """Ask the thread to end and wait for it."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=10)

    def run(self) -> None:
        """Poll the sessions until every step is done, the timeout passes or stop is asked."""
        deadline = time.monotonic() + self.timeout
        while self.todo and not self._stopped.is_set() and time.monotonic() < deadline:
            for session_id, step in list(self.todo.items()):
                try:
                    if self._try(session_id, step):
                        del self.todo[session_id]
                except (EngineError, SlotError, KeyError) as exc:
                    # The operator may have acted on it in the cockpit meanwhile: give up on it.
                    self.errors.append(f"{session_id}: {exc}")
                    del self.todo[session_id]
            self._stopped.wait(0.2)

    def _try(self, session_id: str, step: str) -> bool:
        session = self.engine.reconcile_one(session_id)
        if session.lifecycle in (Lifecycle.KILLED, Lifecycle.MERGED, Lifecycle.DONE):
            return True
        if step == "forward":
            return self._forward(session_id, session.activity.state)
        if self.engine.ci(session_id).state != "passing":
            return False
        if step == "merge":
            if session.lifecycle is not Lifecycle.EXITED:
                return False
            self.engine.approve(session_id)
            self.engine.merge(session_id)
            return True
        if session.activity.state is not ActivityState.IDLE:
            return False
        self.engine.approve(session_id)
        return True

    def _forward(self, session_id: str, state: ActivityState) -> bool:
        """Send the failing check to the agent once it has waited idle on it long enough."""
        ci = self.engine.ci(session_id)
        if ci.state != "failing" or state is not ActivityState.IDLE:
            self._failing_since.pop(session_id, None)
            return False
        since = self._failing_since.setdefault(session_id, time.monotonic())
        if time.monotonic() - since < self.forward_after:
            return False
        # Imported here: the headless demo never loads the cockpit's screens otherwise.
        from ao_tui.screens.ci import send_text

        failing = next(c for c in ci.checks if c.state == "failing")
        self.engine.send(session_id, send_text(failing.to_json(), ci.head_sha))
        return True
