"""The notification sections of the config, in AO's shape: ``notifiers:`` (each a plugin and
its options), ``notificationRouting:`` (which notifiers each priority goes to),
``defaults.notifiers`` (where a priority with no route goes), and ours, ``notifications:``
(repeats collapsed, quiet hours, a digest).

```yaml
notifiers:
  phone: {plugin: ntfy, url: "https://ntfy.sh/${NTFY_TOPIC}"}
  team: {plugin: slack, webhookUrl: "${SLACK_WEBHOOK_URL}"}
notificationRouting:
  urgent: [phone, team, desktop]
  action: [team]
notifications:
  quietHours: {start: "22:00", end: "07:00"}
  dedupeWindow: 10m
  digest: {every: 30m, priorities: [info, action]}
```

A notifier's options are its plugin's to check (:meth:`core.slots.Notifier.check`); they
are kept as written, ``${VAR}`` expanded. A built-in name (``desktop``, ``terminal``) may be
routed to without a ``notifiers:`` entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from core.config_base import _Model
from core.config_reactions import parse_duration

NotifierName = str
_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class NotifierConfig(_Model):
    """One entry of ``notifiers:``: the plugin that delivers, and its own options."""

    model_config = ConfigDict(extra="allow")
    plugin: str
    """The notifier plugin: desktop, terminal, webhook, slack, discord, openclaw or ntfy."""

    def options(self) -> dict[str, Any]:
        """The plugin's options: every key of the entry but ``plugin``, as written."""
        return dict(self.model_extra or {})


class NotificationRouting(_Model):
    """Which notifiers each priority goes to; a priority left out uses
    ``defaults.notifiers``."""

    urgent: list[NotifierName] | None = None
    action: list[NotifierName] | None = None
    warning: list[NotifierName] | None = None
    info: list[NotifierName] | None = None


class QuietHours(_Model):
    """Hours in which only urgent notifications go out; the rest wait until they end."""

    start: str
    """``22:00`` (local time)."""
    end: str
    """``07:00``; may be earlier than ``start`` (the hours span midnight)."""

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.fullmatch(value.strip()):
            raise PydanticCustomError(
                "clock", "{value} is not a time of day; write e.g. '22:00'", {"value": repr(value)}
            )
        return value.strip()


DigestPriority = Literal["action", "warning", "info"]


def _digested() -> list[DigestPriority]:
    return ["info", "action"]


class Digest(_Model):
    """Batch the listed priorities into one message every ``every``."""

    every: str
    """A duration such as ``30m``."""
    priorities: list[DigestPriority] = Field(default_factory=_digested)

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        if parse_duration(value) is None:
            raise PydanticCustomError(
                "duration", "{value} is not a duration; write e.g. '30m'", {"value": repr(value)}
            )
        return value


class NotificationsConfig(_Model):
    """How notifications are paced: repeats, quiet hours and a digest."""

    dedupe_window: str = "10m"
    """Repeats of the same fact for the same session within this window collapse into one."""
    quiet_hours: QuietHours | None = None
    digest: Digest | None = None

    @field_validator("dedupe_window")
    @classmethod
    def _window(cls, value: str) -> str:
        if parse_duration(value) is None and value.strip() not in ("0", "0s"):
            raise PydanticCustomError(
                "duration", "{value} is not a duration; write e.g. '10m'", {"value": repr(value)}
            )
        return value


def expand_options(
    name: str, options: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """A notifier's options with ``${VAR}`` and ``${VAR:-default}`` expanded (``$${`` is a
    literal ``${``), and what could not be: ``notifiers.phone.url: SLACK_URL is not set``.

    Expanded only when the notifier is used: an AO config whose webhook variable is unset
    still loads, and only that notifier reports the problem. The values are secrets: the
    problems name the variable, never a value.
    """
    problems: list[str] = []

    def one(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: one(f"{key}.{k}", v) for k, v in value.items()}
        if isinstance(value, list):
            return [one(f"{key}.{i}", v) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value

        def swap(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            variable, default = match.group("name"), match.group("default")
            if variable in environ:
                return environ[variable]
            if default is not None:
                return default
            problems.append(
                f"notifiers.{name}.{key}: environment variable {variable!r} is not set; "
                f"export it or write ${{{variable}:-default}}"
            )
            return ""

        return _REFERENCE.sub(swap, value)

    return {key: one(key, value) for key, value in options.items()}, problems


BUILT_IN_NOTIFIERS = ("desktop", "terminal")
"""Notifier names that may be routed to without a ``notifiers:`` entry (their plugin has
the same name and needs no options)."""


def routes(config: Any, priority: str) -> list[NotifierName]:
    """The notifiers a notification of ``priority`` goes to: its ``notificationRouting``
    entry when there is one (``[]`` silences it), else ``defaults.notifiers``; each once."""
    routing = config.notification_routing
    chosen = getattr(routing, priority, None) if routing is not None else None
    names = config.defaults.notifiers if chosen is None else chosen
    return list(dict.fromkeys(names))


def unknown_routes(config: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """Each routing entry naming a notifier that neither ``notifiers:`` defines nor is
    built in: its path in the file (YAML keys) and the message saying how to fix it."""
    known = set(config.notifiers) | set(BUILT_IN_NOTIFIERS)
    found: list[tuple[tuple[str | int, ...], str]] = []
    entries: list[tuple[tuple[str, ...], list[str]]] = [
        (("defaults", "notifiers"), list(config.defaults.notifiers))
    ]
    routing = config.notification_routing
    if routing is not None:
        for priority in ("urgent", "action", "warning", "info"):
            names = getattr(routing, priority)
            if names is not None:
                entries.append((("notificationRouting", priority), list(names)))
    defined = ", ".join(sorted(known))
    for path, names in entries:
        for index, name in enumerate(names):
            if name not in known:
                found.append(
                    (
                        (*path, index),
                        f"no notifier named {name!r} (known: {defined}); define it under "
                        f"`notifiers:` with its `plugin:`, or remove it from the list",
                    )
                )
    return found
