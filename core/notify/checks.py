"""``doctor``'s notifier lines: every channel that should reach a person is checked before
the night it is needed.

For each ``notifiers:`` entry (and each built-in name routed without one): its plugin is
installed, its ``${VAR}`` references are set, and the plugin's own
:meth:`~core.slots.Notifier.check` finds its options sound (a URL's shape, where a token
would come from). Each name in ``notificationRouting`` and ``defaults.notifiers`` must be
a notifier. Nothing is sent, and no line shows a token or a URL: options are secrets, so
anything a plugin says is masked with their values before it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.config_notify import expand_options
from core.redact import redact

if TYPE_CHECKING:
    from core.config import Config
    from core.doctor import Check
    from core.registry import Registry

BUILT_IN = ("desktop", "terminal")
"""Notifier names that may be routed to with no ``notifiers:`` entry (the plugin's name)."""


def routed_names(config: Config) -> list[tuple[str, str]]:
    """Every (where, name) a notification may be routed to: ``notificationRouting.urgent``,
    …, then ``defaults.notifiers``, in the order written."""
    found: list[tuple[str, str]] = []
    routing = config.notification_routing
    if routing is not None:
        for priority in ("urgent", "action", "warning", "info"):
            for name in getattr(routing, priority) or []:
                found.append((f"notificationRouting.{priority}", name))
    found += [("defaults.notifiers", name) for name in config.defaults.notifiers]
    return found


def notifier_checks(config: Config, registry: Registry, environ: Mapping[str, str]) -> list[Check]:
    """One doctor line per configured (or routed built-in) notifier, and one per routed
    name that is no notifier; [] when no notifier is configured or routed."""
    from core.doctor import Check

    checks: list[Check] = []
    entries: dict[str, tuple[str, dict[str, Any]]] = {
        name: (entry.plugin, entry.options()) for name, entry in config.notifiers.items()
    }
    for where, name in routed_names(config):
        if name in entries:
            continue
        if name in BUILT_IN:
            entries[name] = (name, {})
            continue
        known = ", ".join(sorted({*config.notifiers, *BUILT_IN}))
        checks.append(
            Check(
                f"notifier {name}",
                "fail",
                f"{where} names {name!r}, which is no notifier (known: {known})",
                f"add notifiers.{name}: {{plugin: ...}} or fix the name in {where}",
            )
        )
    for name, (plugin, options) in entries.items():
        checks.append(_one(name, plugin, options, registry, environ))
    return checks


def _one(
    name: str,
    plugin_name: str,
    options: dict[str, Any],
    registry: Registry,
    environ: Mapping[str, str],
) -> Check:
    """The doctor line of one notifier."""
    from core.doctor import Check

    title = f"notifier {name}"
    installed = registry.names("notifier")
    if plugin_name not in installed:
        known = ", ".join(installed) or "none installed"
        return Check(
            title,
            "fail",
            f"plugin {plugin_name!r} is not installed (known: {known})",
            f"fix notifiers.{name}.plugin, or install the plugin that provides it",
        )
    expanded, problems = expand_options(name, options, environ)
    secrets = _values(expanded)
    try:
        plugin = registry.get("notifier", plugin_name)
        problems += plugin.check(expanded)
    except Exception as exc:
        # A plugin that cannot load or check is this notifier's problem, not doctor's.
        problems.append(f"the {plugin_name} plugin failed to check its options: {exc}")
    if problems:
        # Masked with the options' own values: a plugin's message may quote a URL or token.
        said = [redact(str(problem), secrets) for problem in problems]
        return Check(
            title,
            "fail",
            "; ".join(said),
            f"fix notifiers.{name} (then `ao-tui notify test {name}`)",
        )
    return Check(title, "ok", f"{plugin_name}: options look right (nothing sent)")


def _values(value: Any) -> list[str]:
    """Every string of ``value`` long enough to be a secret, longest first."""
    found: list[str] = []
    if isinstance(value, str):
        if len(value) >= 6:
            found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            found += _values(item)
    elif isinstance(value, list):
        for item in value:
            found += _values(item)
    return sorted(set(found), key=len, reverse=True)
