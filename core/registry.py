"""Plugin discovery: ``slot:name`` entry points in the ``ao_tui.plugins`` group.

``core`` never imports a plugin module by name; it asks the registry, which loads the
entry point on first use. Tests and embedders may register factories directly.

Each slot has a declared interface (a Protocol: :mod:`core.slots`, :mod:`core.scm`,
:mod:`core.tracker`) and optional capabilities (:data:`core.slots.CAPABILITIES`). A plugin
is checked against them as it loads: one lacking a member of its slot's interface, or
offering a capability in part, is refused with a one-line error naming the plugin, the
slot and the member, instead of failing later in the middle of a verb.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from core.errors import AoError

ENTRY_POINT_GROUP = "ao_tui.plugins"
SLOTS = ("runtime", "workspace", "agent", "scm", "tracker", "inspector", "notifier")


class UnknownPluginError(AoError, LookupError):
    """No plugin of that name fills that slot; the message lists the known names."""


class PluginInterfaceError(AoError):
    """A plugin lacks a member its slot's interface, or a capability it offers, requires."""


def interface_members(interface: type[Any]) -> tuple[str, ...]:
    """The public attributes and methods a Protocol declares, its bases' included."""
    names: set[str] = set()
    for cls in interface.__mro__:
        if cls is object or cls.__module__ in ("typing", "typing_extensions"):
            continue
        names.update(vars(cls).get("__annotations__", {}))
        names.update(name for name, value in vars(cls).items() if callable(value))
    return tuple(sorted(name for name in names if not name.startswith("_")))


def _slot_interfaces() -> dict[str, type[Any]]:
    """The interface each slot's plugins must have (imported when a plugin first loads)."""
    from core.scm import Scm
    from core.slots import Agent, Notifier, Runtime, TranscriptInspector, Workspace
    from core.tracker import Tracker

    return {
        "runtime": Runtime,
        "workspace": Workspace,
        "agent": Agent,
        "scm": Scm,
        "tracker": Tracker,
        "inspector": TranscriptInspector,
        "notifier": Notifier,
    }


def check_plugin(slot: str, name: str, plugin: object) -> None:
    """Raise :class:`PluginInterfaceError` unless ``plugin`` has every member of its slot's
    interface, and all of each optional capability it has any member of."""
    from core.slots import CAPABILITIES

    interface = _slot_interfaces().get(slot)
    if interface is not None:
        for member in interface_members(interface):
            if not hasattr(plugin, member):
                raise PluginInterfaceError(
                    f"{slot} plugin {name!r} lacks {member!r}, which the {slot} slot's "
                    f"interface ({interface.__module__}.{interface.__name__}) requires; "
                    "update or uninstall the plugin"
                )
    for capability in CAPABILITIES.get(slot, ()):
        members = interface_members(capability)
        missing = [member for member in members if not hasattr(plugin, member)]
        if missing and len(missing) < len(members):
            raise PluginInterfaceError(
                f"{slot} plugin {name!r} offers {capability.__name__} in part: it lacks "
                f"{missing[0]!r} ({capability.__module__}.{capability.__name__}); "
                "update or uninstall the plugin"
            )


class Registry:
    """Maps ``(slot, name)`` to a factory; instances are created once and cached."""

    def __init__(
        self, *, discover: bool = True, entries: Iterable[tuple[str, str]] | None = None
    ) -> None:
        """Create a registry, loading the installed entry points unless ``discover`` is off.

        ``entries`` are those entry points as ``(name, target)`` pairs already listed (by
        :func:`core.plugin_index.installed_entries`): they are used instead.
        """
        self._factories: dict[tuple[str, str], Callable[[], Any]] = {}
        self._instances: dict[tuple[str, str], Any] = {}
        if discover and entries is not None:
            from core.plugin_index import load_target

            for name, target in entries:
                slot, _, plugin = name.partition(":")
                if slot in SLOTS and plugin:
                    self._factories[(slot, plugin)] = _lazy(functools.partial(load_target, target))
        elif discover:
            # importlib.metadata costs ~20 ms to import: only pay it when plugins are needed.
            from importlib.metadata import entry_points

            for ep in entry_points(group=ENTRY_POINT_GROUP):
                slot, _, name = ep.name.partition(":")
                if slot in SLOTS and name:
                    self._factories[(slot, name)] = _lazy(ep.load)

    def register(self, slot: str, name: str, factory: Callable[[], Any]) -> None:
        """Add or replace the factory for ``slot:name`` (drops a cached instance)."""
        self._factories[(slot, name)] = factory
        self._instances.pop((slot, name), None)

    def names(self, slot: str) -> list[str]:
        """Known plugin names of one slot, sorted."""
        return sorted(name for (s, name) in self._factories if s == slot)

    def get(self, slot: str, name: str) -> Any:
        """The plugin instance for ``slot:name``, created and checked on first use
        (:class:`PluginInterfaceError` when it does not have its slot's interface)."""
        key = (slot, name)
        if key not in self._instances:
            factory = self._factories.get(key)
            if factory is None:
                known = ", ".join(self.names(slot)) or "none installed"
                raise UnknownPluginError(f"unknown {slot} {name!r} (known: {known})")
            plugin = factory()
            check_plugin(slot, name, plugin)
            self._instances[key] = plugin
        return self._instances[key]


def _lazy(load: Callable[[], Any]) -> Callable[[], Any]:
    """A factory that imports the entry point's class only when first asked for."""

    def make() -> Any:
        return load()()

    return make
