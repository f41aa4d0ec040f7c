"""The effective settings of every reaction key for one project, and where each came from.

A setting comes from the project's ``reactions:`` block if it sets it, else from the top
level's, else from :data:`core.config_reactions.DEFAULT_RULES`. ``ao-tui reactions`` prints
the result with those sources, so an operator can see why a reaction did what it did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from core.config import Config
from core.config_reactions import (
    DEFAULT_ORCHESTRATOR_TIMEOUT,
    DEFAULT_RULES,
    REACTION_KEYS,
    Action,
    Mode,
    Priority,
    ReactionRule,
    parse_duration,
)

OFF_ENV = "AO_TUI_REACTIONS"
"""``AO_TUI_REACTIONS=off`` switches every reaction off in the process it is set for."""
DEFAULT = "default"
"""The source of a setting no config block sets."""


@dataclass(frozen=True)
class Rule:
    """One reaction key's effective settings in one project."""

    key: str
    enabled: bool
    """False when ``reactions.enabled: false`` (top level or the project's)."""
    auto: bool
    action: Action
    message: str | None
    priority: Priority
    retries: int | None
    escalate_count: int | None
    """Attempts after which the operator is told (``escalateAfter: 2``)."""
    escalate_seconds: float | None
    """How long an episode may last before the operator is told (``escalateAfter: 30m``)."""
    threshold_seconds: float | None
    mode: Mode
    sources: dict[str, str] = field(default_factory=dict)
    """Where each setting came from: ``default``, ``reactions`` or ``projects.<id>.reactions``."""

    @property
    def budget(self) -> int | None:
        """Attempts the agent gets before the operator is told; None: bounded by time."""
        counts = [n for n in (self.retries, self.escalate_count) if n is not None]
        return min(counts) if counts else None

    @property
    def acts(self) -> bool:
        """Whether the reaction does something itself (sends, merges, restores)."""
        return self.enabled and self.auto and self.action != "notify"

    def to_json(self) -> dict[str, Any]:
        """One entry of ``ao-tui reactions --json``."""
        return {
            "key": self.key,
            "enabled": self.enabled,
            "auto": self.auto,
            "action": self.action,
            "message": self.message,
            "priority": self.priority,
            "retries": self.retries,
            "escalate_after": self.escalate_count
            if self.escalate_count is not None
            else self.escalate_seconds,
            "threshold": self.threshold_seconds,
            "mode": self.mode,
            "budget": self.budget,
            "sources": dict(self.sources),
        }


_SETTINGS = ("auto", "action", "message", "priority", "retries", "escalate_after", "threshold")


def effective_rules(config: Config, project_id: str) -> dict[str, Rule]:
    """Every reaction key's settings for ``project_id``, in :data:`REACTION_KEYS` order."""
    top = config.reactions
    project = config.projects.get(project_id)
    own = None if project is None else project.reactions
    blocks = [(f"projects.{project_id}.reactions", own), ("reactions", top)]
    switches = [block.enabled for _, block in blocks if block is not None]
    enabled = next((value for value in switches if value is not None), True)
    rules: dict[str, Rule] = {}
    for key in REACTION_KEYS:
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for setting in (*_SETTINGS, "mode"):
            value, source = _setting(key, setting, blocks)
            values[setting], sources[setting] = value, source
        escalate = values["escalate_after"]
        threshold = values["threshold"]
        rules[key] = Rule(
            key=key,
            enabled=enabled,
            auto=bool(values["auto"]),
            action=values["action"],
            message=values["message"],
            priority=values["priority"],
            retries=values["retries"],
            escalate_count=escalate if isinstance(escalate, int) else None,
            escalate_seconds=parse_duration(escalate) if isinstance(escalate, str) else None,
            threshold_seconds=float(threshold)
            if isinstance(threshold, int)
            else (parse_duration(threshold) if isinstance(threshold, str) else None),
            mode=values["mode"] or "auto",
            sources={k: v for k, v in sources.items() if values[k] is not None},
        )
    return rules


def _setting(key: str, setting: str, blocks: list[tuple[str, Any]]) -> tuple[Any, str]:
    """The value of one setting of one key, and the block it came from."""
    for name, block in blocks:
        if block is None:
            continue
        rule: ReactionRule | None = block.rule(key)
        if rule is not None and setting in rule.model_fields_set:
            return getattr(rule, setting), f"{name}.{key}"
    if setting == "mode":
        # A block's own ``mode:`` is the mode of every key that sets none.
        for name, block in blocks:
            if block is not None and block.mode is not None:
                return block.mode, f"{name}.mode"
    return DEFAULT_RULES[key].get(setting), DEFAULT


def orchestrator_timeout(config: Config, project_id: str) -> tuple[float | None, str]:
    """How long the project's orchestrator has to act on an escalation handed to it (tier 2),
    in seconds (None: tier 2 is off, escalations go to the operator at once), and the block
    that set it (``default`` when none did)."""
    project = config.projects.get(project_id)
    own = None if project is None else project.reactions
    blocks = [(f"projects.{project_id}.reactions", own), ("reactions", config.reactions)]
    for name, block in blocks:
        value = None if block is None else block.orchestrator_timeout
        if value is not None:
            source = f"{name}.orchestratorTimeout"
            return (None if value == "off" else parse_duration(value)), source
    return parse_duration(DEFAULT_ORCHESTRATOR_TIMEOUT), DEFAULT


def switched_off(config: Config) -> str | None:
    """Why no reaction runs at all (the header says it), or None when they may."""
    if os.environ.get(OFF_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        return f"{OFF_ENV}=off"
    if config.reactions.enabled is False:
        return "reactions.enabled is false in the config"
    return None
