"""The orchestrator's standing instructions: ``instructions.md`` with the project filled in.

The file is the readable source (it ships as package data); this module only fills in the
project's id, session prefix and cap, and the operator's own rules for the orchestrator
(``orchestratorRules`` of the project, AO's key). The agent gets the result at every start
through its plugin (:class:`core.slots.RoleSupport`).
"""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import TYPE_CHECKING

from core.naming import orchestrator_id
from core.session_cap import session_cap

if TYPE_CHECKING:
    from core.config import Config

INSTRUCTIONS_FILE = "instructions.md"

VERBS: tuple[str, ...] = (
    "status",
    "issues",
    "spawn",
    "send",
    "kill",
    "restore",
    "events",
    "ci",
    "diff",
    "escalate",
)
"""The ``ao-tui`` verbs the instructions teach (a test checks each is mentioned and exists)."""


def template() -> str:
    """The instructions as written in the repository, placeholders unfilled."""
    return resources.files(__package__).joinpath(INSTRUCTIONS_FILE).read_text(encoding="utf-8")


def render(config: Config, project_id: str) -> str:
    """The orchestrator's instructions for ``project_id`` of ``config``."""
    project = config.projects[project_id]
    cap = session_cap(config, project_id)
    rules = (getattr(project, "orchestrator_rules", None) or "").strip()
    extra = f"\n## The operator's rules for this project\n\n{rules}\n" if rules else ""
    return Template(template()).safe_substitute(
        project=project_id,
        prefix=project.session_prefix,
        orchestrator=orchestrator_id(project.session_prefix),
        cap=(
            f"at most {cap} workers at once (maxConcurrentSessions)"
            if cap is not None
            else "none set (still spawn only what the backlog needs)"
        ),
        rules=extra,
    )
