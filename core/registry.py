"""Plugin discovery: ``slot:name`` entry points in the ``ao_tui.plugins`` group.

``core`` never imports a plugin module by name; it asks the registry, which loads the
entry point on first use. Tests and embedders may register factories directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import AoError

ENTRY_POINT_GROUP = "ao_tui.plugins"
SLOTS = ("runtime", "workspace", "agent", "scm", "tracker", "inspector")


class UnknownPluginError(AoError, LookupError):
    """No plugin of that name fills that slot; the message lists the known names."""


class Registry:
    """Maps ``(slot, name)`` to a factory; instances are created once and cached."""

    def __init__(self, *, discover: bool = True) -> None:
        """Create a registry, loading the installed entry points unless ``discover`` is off."""
        self._factories: dict[tuple[str, str], Callable[[], Any]] = {}
        self._instances: dict[tuple[str, str], Any] = {}
        if discover:
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
        """The plugin instance for ``slot:name``, created on first use."""
        key = (slot, name)
        if key not in self._instances:
            factory = self._factories.get(key)
            if factory is None:
                known = ", ".join(self.names(slot)) or "none installed"
                raise UnknownPluginError(f"unknown {slot} {name!r} (known: {known})")
            self._instances[key] = factory()
        return self._instances[key]


def _lazy(load: Callable[[], Any]) -> Callable[[], Any]:
    """A factory that imports the entry point's class only when first asked for."""

    def make() -> Any:
        return load()()

    return make
