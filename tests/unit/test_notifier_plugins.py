"""The HTTP notifier plugins as the registry sees them, and the helpers every one shares."""

from __future__ import annotations

import email.utils
import importlib
import tomllib
from pathlib import Path

import pytest

from core.registry import Registry
from plugins.notifier.http import parse_retry_after, where

ROOT = Path(__file__).resolve().parents[2]
HTTP_NOTIFIERS = ("webhook", "slack", "discord", "openclaw", "ntfy")


def entry_points() -> dict[str, str]:
    """``notifier:<name>`` entry points declared in pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared: dict[str, str] = data["project"]["entry-points"]["ao_tui.plugins"]
    return {k.partition(":")[2]: v for k, v in declared.items() if k.startswith("notifier:")}


@pytest.mark.parametrize("name", HTTP_NOTIFIERS)
def test_each_http_notifier_is_declared_and_has_the_slots_interface(name: str) -> None:
    target = entry_points()[name]
    module, _, attr = target.partition(":")
    assert module == f"plugins.notifier.{name}"
    registry = Registry(discover=False)
    registry.register("notifier", name, getattr(importlib.import_module(module), attr))
    assert registry.get("notifier", name).check is not None  # get() checks the interface


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_in_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after(email.utils.formatdate(1000.0 + 90, usegmt=True), now=1000.0) == 90
    assert parse_retry_after(email.utils.formatdate(500.0, usegmt=True), now=1000.0) == 0.0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/secret?x=1", "hooks.slack.com"),
        ("http://127.0.0.1:18789/hooks/agent", "127.0.0.1:18789"),
        ("http://user:pw@[::1]:8080/topic", "[::1]:8080"),
        ("http://host:notaport/x", "host"),
    ],
)
def test_where_shows_only_host_and_port(url: str, shown: str) -> None:
    assert where(url) == shown
