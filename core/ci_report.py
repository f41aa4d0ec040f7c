"""The answer to ``ci``: the CI of one session's head commit, its checks failing first.

:meth:`core.engine.Engine.ci` returns a :class:`CiReport`; ``ao-tui ci --json`` prints its
:meth:`CiReport.to_json`. Text shown from a check goes through
:meth:`core.scm.CheckRun.to_json`, which masks and bounds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.models import CiState
from core.redact import env_secrets, redact
from core.scm import CheckRun

CI_STATE_ORDER: dict[CiState, int] = {"failing": 0, "running": 1, "passing": 2, "none": 3}
"""How checks are listed: what needs the operator first."""


@dataclass(frozen=True)
class CiReport:
    """The CI of one head commit: its checks, the state they add up to, what runs next."""

    state: CiState
    """The first check's state (``failing`` if any fails, ...), ``none`` with no check."""
    checks: tuple[CheckRun, ...]
    """Failing first, then running, passing (stable within each)."""
    head_sha: str
    """The commit the checks ran on (a host's PR head, else the branch's)."""
    ci_command: str | None
    """What a new run would run now, masked (None: no CI command configured). The config
    may have changed since a check ran."""

    @classmethod
    def of(cls, checks: Sequence[CheckRun], head_sha: str, ci_command: str | None) -> CiReport:
        """The report of ``checks``, sorted failing first; its state is the first one's."""
        ordered = tuple(sorted(checks, key=lambda check: CI_STATE_ORDER[check.state]))
        state: CiState = ordered[0].state if ordered else "none"
        return cls(state=state, checks=ordered, head_sha=head_sha, ci_command=ci_command)

    def command_changed(self) -> str | None:
        """The configured command when checks ran and none of them ran it, else None.

        Then a rerun runs another command than the one the checks show. Both sides are
        compared masked, as they are shown.
        """
        if not self.ci_command:
            return None
        secrets = env_secrets()
        ran = [redact(check.command, secrets) for check in self.checks if check.command]
        if not ran or self.ci_command in ran:
            return None
        return self.ci_command

    def to_json(self) -> dict[str, Any]:
        """``ci --json``: ``{"state", "checks", "head_sha", "ci_command"}``, checks masked."""
        return {
            "state": self.state,
            "checks": [check.to_json() for check in self.checks],
            "head_sha": self.head_sha,
            "ci_command": self.ci_command,
        }
