"""The demo's scripted operator: approves and merges as a person would.

Without it a fresh demo could never show "Ready to merge" or a merged session in "Done":
those zones need a human decision. It does not forward the failing CI to the agent that
broke the tests: the reactions do that on their own (``ci-failed``), which is what the demo
shows. It acts only through the engine facade, in its own thread, and only on the sessions
the sandbox hands it.
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
    once its CI is green and its agent idle. Stops at :meth:`stop` or after ``timeout``."""

    def __init__(
        self,
        engine: Engine,
        *,
        merge_id: str | None,
        approve_id: str | None,
        timeout: float = 120.0,
    ) -> None:
        """Prepare (not start) the operator for those sessions."""
        super().__init__(name="ao-tui-demo-operator", daemon=True)
        self.engine = engine
        steps = (("merge", merge_id), ("approve", approve_id))
        self.todo: dict[str, str] = {sid: step for step, sid in steps if sid}
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
