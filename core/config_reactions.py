"""The ``reactions:`` section of the config: what ao-tui does on its own when a session's
PR, CI or agent needs something, in the keys and shape of Composio's Agent Orchestrator.

A ``reactions:`` block sits at the top level and, optionally, in a project; a project's
block overrides the top level's setting by setting, key by key. What a key does when no
block mentions it is :data:`DEFAULT_RULES`. :mod:`core.reactions.rules` resolves the
effective value of every setting and says where each came from.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from core.config_base import _Model

Action = Literal["send-to-agent", "notify", "auto-merge", "restore", "spawn-reviewer"]
Priority = Literal["urgent", "action", "warning", "info"]
Mode = Literal["auto", "suggest"]

REACTION_KEYS: tuple[str, ...] = (
    "ci-failed",
    "changes-requested",
    "bugbot-comments",
    "merge-conflicts",
    "approved-and-green",
    "agent-stuck",
    "agent-needs-input",
    "agent-exited",
    "pr-closed",
    "all-complete",
    "agent-review",
)
"""Every reaction, in the order ``ao-tui reactions`` lists them."""

ACTIONS_OF: dict[str, tuple[Action, ...]] = {
    "ci-failed": ("send-to-agent", "notify"),
    "changes-requested": ("send-to-agent", "notify"),
    "bugbot-comments": ("send-to-agent", "notify"),
    "merge-conflicts": ("send-to-agent", "notify"),
    "approved-and-green": ("auto-merge", "notify"),
    "agent-stuck": ("send-to-agent", "notify"),
    "agent-needs-input": ("notify",),
    "agent-exited": ("restore", "notify"),
    "pr-closed": ("notify",),
    "all-complete": ("notify",),
    "agent-review": ("spawn-reviewer",),
}
"""The actions that make sense for each key: an agent waiting on a prompt cannot be typed
to, a dead agent cannot read, and only a green, approved PR can be merged."""

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "ci-failed": {
        "auto": True,
        "action": "send-to-agent",
        "priority": "action",
        "retries": 2,
        "escalate_after": 2,
    },
    "changes-requested": {
        "auto": True,
        "action": "send-to-agent",
        "priority": "action",
        "escalate_after": "30m",
    },
    "bugbot-comments": {
        "auto": True,
        "action": "send-to-agent",
        "priority": "action",
        "escalate_after": "30m",
    },
    "merge-conflicts": {
        "auto": True,
        "action": "send-to-agent",
        "priority": "action",
        "escalate_after": "15m",
    },
    "approved-and-green": {"auto": False, "action": "notify", "priority": "action"},
    "agent-stuck": {"auto": True, "action": "notify", "priority": "urgent", "threshold": "10m"},
    "agent-needs-input": {"auto": True, "action": "notify", "priority": "urgent"},
    # AO only notifies; an agent that died overnight is restored once first (its
    # conversation resumed) and the operator is told only if that does not bring it back.
    "agent-exited": {"auto": True, "action": "restore", "priority": "urgent", "retries": 1},
    "pr-closed": {"auto": True, "action": "notify", "priority": "info"},
    "all-complete": {"auto": True, "action": "notify", "priority": "info"},
    # On by default with the local SCM only: on a host, a review is posted where people
    # see it, so a project turns it on (``auto: true``) (core.reactions.agent_review).
    "agent-review": {"auto": True, "action": "spawn-reviewer", "priority": "info"},
}
"""What each key does when no config mentions it (AO's defaults, except agent-exited)."""

DEFAULT_ORCHESTRATOR_TIMEOUT = "10m"
"""How long the orchestrator session has to act on an escalation handed to it (tier 2)
before the operator is told, when no ``orchestratorTimeout`` says otherwise."""

# At most 12 digits a part: a longer number is not a duration anyone means, and it would
# overflow the float (or Python's int-from-text limit) before the range check could say so.
_DURATION = re.compile(r"(?:(\d{1,12})d)?(?:(\d{1,12})h)?(?:(\d{1,12})m)?(?:(\d{1,12})s)?")
_UNITS = (86400, 3600, 60, 1)
_COUNT = re.compile(r"[+-]?\d+")
MAX_DURATION = 365 * 86400
"""The longest ``escalateAfter`` or ``threshold``: a year (longer reads as a typo)."""
MAX_ATTEMPTS = 100
"""The most attempts ``retries`` or ``escalateAfter`` may allow in one episode."""


def _whole(text: str) -> int:
    """The whole number ``text`` writes; past 12 digits, 10**12 (far beyond any allowed
    value), so a thousand-digit number is refused as too large rather than crashing."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    return sign * (int(digits) if len(digits) <= 12 else 10**12)


def parse_duration(text: str) -> float | None:
    """Seconds in a duration such as ``30m``, ``1h30m``, ``90s`` or ``2d``; None if not one."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        return None
    return float(
        sum(int(part or 0) * unit for part, unit in zip(match.groups(), _UNITS, strict=True))
    )


def _duration_error(key: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(
        "duration",
        "{key} {value} is not a duration; write e.g. '30m', '1h30m', '90s' or '2d'",
        {"key": key, "value": repr(value)},
    )


def _duration_in_range(key: str, value: str, seconds: float) -> None:
    """Refuse a duration of nothing (it would fire at once) or of more than a year."""
    if seconds <= 0:
        raise PydanticCustomError(
            "duration_zero",
            "{key} {value} is no time at all; write a duration such as '30m'",
            {"key": key, "value": repr(value)},
        )
    if seconds > MAX_DURATION:
        raise PydanticCustomError(
            "duration_long",
            "{key} {value} is longer than a year; write at most '365d'",
            {"key": key, "value": repr(value)},
        )


class ReactionRule(_Model):
    """One reaction's settings; any left out take the top level's, then the default's."""

    auto: bool | None = None
    """Act on its own; false only tells the operator (the card, the event log)."""
    action: Action | None = None
    """send-to-agent, notify, auto-merge (approved-and-green), restore (agent-exited) or
    spawn-reviewer (agent-review)."""
    message: str | None = None
    """The first line of what is sent to the agent; the facts (the failing excerpt, the
    review threads, the conflicting files) always follow it."""
    priority: Priority | None = None
    """urgent, action, warning or info: how loudly the operator is told."""
    retries: int | None = Field(default=None, ge=0, le=MAX_ATTEMPTS)
    """How many times the agent is sent the facts (or restored) in one episode."""
    escalate_after: int | str | None = None
    """Tell the operator after this many attempts (a count) or once the episode has lasted
    this long (a duration such as ``30m``)."""
    threshold: str | int | None = None
    """agent-stuck: how long without output, or waiting on a prompt, counts as stuck (a
    duration such as ``10m``, or seconds)."""
    mode: Mode | None = None
    """auto sends; suggest prepares the message and waits for the operator's key."""
    include_summary: bool | None = None
    """Accepted for AO configs (all-complete); the summary is always included."""

    @field_validator("escalate_after", mode="before")
    @classmethod
    def _escalate_after(cls, value: object) -> object:
        # YAML hands every scalar over as text: "2" is a count, "30m" a duration.
        text = str(value).strip() if isinstance(value, int | str) else None
        if text is None or isinstance(value, bool):
            return value  # left to the type check, which names what was given
        if _COUNT.fullmatch(text):
            count = _whole(text)
            if not 1 <= count <= MAX_ATTEMPTS:
                raise PydanticCustomError(
                    "escalate_count",
                    "escalateAfter {value} is not 1 to {most} attempts; write a count such "
                    "as 2 or a duration such as '30m'",
                    {"value": text, "most": MAX_ATTEMPTS},
                )
            return count
        seconds = parse_duration(text)
        if seconds is None:
            raise _duration_error("escalateAfter", text)
        _duration_in_range("escalateAfter", text, seconds)
        return text

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: object) -> object:
        text = str(value).strip() if isinstance(value, int | str) else None
        if text is None or isinstance(value, bool):
            return value
        if _COUNT.fullmatch(text):
            _duration_in_range("threshold", text, float(_whole(text)))
            return _whole(text)  # seconds, as the setting's description says
        seconds = parse_duration(text)
        if seconds is None:
            raise _duration_error("threshold", text)
        _duration_in_range("threshold", text, seconds)
        return text

    @field_validator("message")
    @classmethod
    def _message(cls, value: str | None) -> str | None:
        if value is None:
            return None
        bad = next((c for c in value if (ord(c) < 32 and c not in "\n\t") or c == "\x7f"), None)
        if bad is not None:
            raise PydanticCustomError(
                "message_control",
                "message holds the control character U+{code}; it would be typed into the "
                "agent: remove it",
                {"code": f"{ord(bad):04X}"},
            )
        return value


def _rule_field(key: str) -> Any:
    return Field(default=None, alias=key)


class ReactionsConfig(_Model):
    """The ``reactions:`` block: one entry per reaction key, plus switches for them all."""

    enabled: bool | None = None
    """false switches every reaction off (the cockpit's header says so)."""
    mode: Mode | None = None
    """The mode of every key that sets none: auto (the default) or suggest."""
    orchestrator_timeout: str | None = None
    """Tier 2: how long the project's orchestrator session has to act on an escalation
    (send the agent guidance, kill and respawn it, or escalate it) before the operator is
    told; a duration such as ``10m``, or ``off`` (false) to tell the operator at once."""
    ci_failed: ReactionRule | None = _rule_field("ci-failed")
    """CI failed at the branch head: the agent gets the failing excerpt."""
    changes_requested: ReactionRule | None = _rule_field("changes-requested")
    """A human reviewer's unresolved threads: the agent gets the new ones."""
    bugbot_comments: ReactionRule | None = _rule_field("bugbot-comments")
    """A bot reviewer's unresolved threads: the agent gets the new ones."""
    merge_conflicts: ReactionRule | None = _rule_field("merge-conflicts")
    """The branch conflicts with its base: the agent gets the files and the base commit."""
    approved_and_green: ReactionRule | None = _rule_field("approved-and-green")
    """Approved with CI green: notify, or merge (``action: auto-merge``, ``auto: true``)."""
    agent_stuck: ReactionRule | None = _rule_field("agent-stuck")
    """Working with nothing new, or waiting on a prompt, for ``threshold``."""
    agent_needs_input: ReactionRule | None = _rule_field("agent-needs-input")
    """The agent asks a question or a permission."""
    agent_exited: ReactionRule | None = _rule_field("agent-exited")
    """The agent died unexpectedly: restored within ``retries``, then the operator."""
    pr_closed: ReactionRule | None = _rule_field("pr-closed")
    """The PR was closed without merging."""
    all_complete: ReactionRule | None = _rule_field("all-complete")
    """Every session of the project has ended."""
    agent_review: ReactionRule | None = _rule_field("agent-review")
    """A worker's PR is green at a head no agent reviewed: a reviewer session is spawned
    (on by default with the local SCM; set ``auto: true`` for a host's)."""

    @field_validator("orchestrator_timeout", mode="before")
    @classmethod
    def _orchestrator_timeout(cls, value: object) -> object:
        # The loader hands scalars over as text; `off`, `false` and `no` switch tier 2 off.
        if isinstance(value, bool):
            return DEFAULT_ORCHESTRATOR_TIMEOUT if value else "off"
        word = value.strip().lower() if isinstance(value, str) else ""
        if word in ("off", "false", "no"):
            return "off"
        if word in ("on", "true", "yes"):
            return DEFAULT_ORCHESTRATOR_TIMEOUT
        if isinstance(value, int):
            value = f"{value}s"  # a bare number is seconds, as ``threshold`` reads it
        if not isinstance(value, str):
            return value  # left to the type check, which names what was given
        text = value.strip()
        seconds = parse_duration(text)
        if seconds is None:
            raise PydanticCustomError(
                "duration",
                "orchestratorTimeout {value} is not a duration; write e.g. '10m' or '1h', "
                "or off to tell the operator at once",
                {"value": repr(value)},
            )
        _duration_in_range("orchestratorTimeout", text, seconds)
        return text

    @field_validator(*(key.replace("-", "_") for key in REACTION_KEYS))
    @classmethod
    def _action_fits(cls, rule: ReactionRule | None, info: ValidationInfo) -> ReactionRule | None:
        key = (info.field_name or "").replace("_", "-")
        allowed = ACTIONS_OF.get(key, ())
        if rule is not None and rule.action is not None and rule.action not in allowed:
            raise PydanticCustomError(
                "reaction_action",
                "{key} cannot {action}; its actions are {allowed}",
                {"key": key, "action": rule.action, "allowed": ", ".join(allowed)},
            )
        return rule

    def rule(self, key: str) -> ReactionRule | None:
        """The block's settings of one reaction key (None: the block does not mention it)."""
        value = getattr(self, key.replace("-", "_"), None)
        return value if isinstance(value, ReactionRule) else None
