"""The registry checks each plugin against its slot's interface as it loads it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pytest

from core.registry import PluginInterfaceError, Registry, interface_members
from core.slots import CAPABILITIES, Agent, HostNews, QuietPanes, Runtime
from plugins.agent.shell import ShellAgent


def _without(cls: type, member: str) -> type:
    """A subclass of ``cls`` from which ``member`` is gone (hasattr says False)."""

    def missing(self: object) -> None:
        raise AttributeError(member)

    return type(f"No{member}", (cls,), {member: property(missing)})


def test_every_installed_plugin_has_its_slots_interface() -> None:
    registry = Registry()
    for slot in ("runtime", "workspace", "agent", "scm", "tracker", "inspector"):
        for name in registry.names(slot):
            registry.get(slot, name)  # raises PluginInterfaceError when one is missing


def test_a_plugin_lacking_a_member_is_refused_naming_plugin_slot_and_member() -> None:
    registry = Registry(discover=False)
    registry.register("agent", "old", _without(ShellAgent, "delivery"))
    with pytest.raises(PluginInterfaceError) as raised:
        registry.get("agent", "old")
    message = str(raised.value)
    assert "\n" not in message
    assert "agent plugin 'old' lacks 'delivery'" in message
    assert "core.slots.Agent" in message


def test_a_capability_offered_in_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A runtime with one member of a two-member capability is caught as it loads, not
    when the cockpit first calls the missing one; one with none of it is fine."""

    @runtime_checkable
    class QuietAndAged(QuietPanes, Protocol):
        def pane_age(self, pane_id: str) -> float:
            """Seconds since the pane's last output."""
            ...

    tmux = type(Registry().get("runtime", "tmux"))  # has quiet_since, no pane_age
    monkeypatch.setitem(CAPABILITIES, "runtime", (*CAPABILITIES["runtime"], QuietAndAged))
    registry = Registry(discover=False)
    registry.register("runtime", "partial", tmux)
    registry.register("runtime", "plain", _without(tmux, "quiet_since"))
    with pytest.raises(
        PluginInterfaceError, match="offers QuietAndAged in part: it lacks 'pane_age'"
    ):
        registry.get("runtime", "partial")
    registry.get("runtime", "plain")


def test_interface_members_lists_attributes_and_methods() -> None:
    assert {"name", "confirms_delivery", "delivery", "signal_dirs"} <= set(interface_members(Agent))
    assert "socket_name" not in interface_members(Runtime)


def test_the_github_scm_says_when_a_poll_brought_news_and_the_local_one_needs_not() -> None:
    """The reconcile loop finds the SCMs to listen to with ``isinstance``: GitHub's polls a
    host; the local SCM's branch refs report themselves (RefWatch)."""
    registry = Registry()
    assert isinstance(registry.get("scm", "github"), HostNews)
    assert not isinstance(registry.get("scm", "local"), HostNews)
