"""``doctor`` checks each notifier (issue 12): its plugin is installed, its ``${VAR}``s are
set, its plugin finds its options sound; routed names exist; no line shows a secret.

The notifier plugins are other helpers' work: a stand-in registered in a test Registry
checks its options as a real one would (a URL's shape, where a token comes from)."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.config import load_config
from core.doctor import check_config
from core.notify.checks import notifier_checks
from core.notify.model import Notification
from core.registry import Registry

HOOK = "https://hooks.example.invalid/services/T000/B000/abcdefsecretpart"


class HookNotifier:
    """A webhook-like notifier: ``url`` must be https; its message quotes the URL (as a
    careless plugin might) so the test sees doctor mask it."""

    def check(self, options: Mapping[str, Any]) -> list[str]:
        url = str(options.get("url", ""))
        if not url:
            return ["url: missing; set notifiers.<name>.url"]
        if not url.startswith("https://"):
            return [f"url {url} is not https"]
        return []

    def send(self, notification: Notification, options: Mapping[str, Any], *, key: str) -> None:
        raise AssertionError("doctor must send nothing")


def config(tmp_path: Path, notify: str) -> Any:
    if not (tmp_path / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    path = tmp_path / "ao.config.yaml"
    path.write_text(
        f"projects:\n  app:\n    path: {tmp_path}\n    agent: shell\n{notify}", encoding="utf-8"
    )
    return load_config(path, known_agents=["shell"]).config


def registry() -> Registry:
    made = Registry()  # the installed agents, for the config check
    made.register("notifier", "hook", HookNotifier)
    return made


NOTIFY = f"""\
notifiers:
  good: {{plugin: hook, url: "{HOOK}"}}
  plain: {{plugin: hook, url: "http://${{HOOK_HOST}}/x"}}
  unset: {{plugin: hook, url: "${{HOOK_URL}}"}}
  missing: {{plugin: carrier-pigeon}}
notificationRouting:
  urgent: [good, desktop]
defaults:
  notifiers: [unset]
"""


def test_each_notifier_gets_one_line(tmp_path: Path) -> None:
    plugins = registry()
    checks = notifier_checks(
        config(tmp_path, NOTIFY), plugins, {"HOOK_HOST": "abcdefsecretpart.example"}
    )
    by_name = {c.name: c for c in checks}
    assert by_name["notifier good"].status == "ok"
    plain = by_name["notifier plain"]
    assert plain.status == "fail" and "is not https" in plain.detail
    unset = by_name["notifier unset"]
    assert unset.status == "fail" and "'HOOK_URL' is not set" in unset.detail
    missing = by_name["notifier missing"]
    assert "'carrier-pigeon' is not installed" in missing.detail
    # A route naming no notifier is refused when the config loads (with its line), so
    # doctor never sees one in an ao.config.yaml.
    # desktop is a built-in name: routable with no entry, but its plugin must be there.
    if "desktop" not in plugins.names("notifier"):  # until the desktop plugin is merged
        assert "'desktop' is not installed" in by_name["notifier desktop"].detail
    for check in checks:
        assert "abcdefsecretpart" not in check.detail + check.fix, check


def test_doctor_runs_them_with_the_config(tmp_path: Path, monkeypatch: Any) -> None:
    config(tmp_path, NOTIFY)
    monkeypatch.chdir(tmp_path)
    checks, _ = check_config(None, registry())
    assert checks[0].status == "ok", checks[0]
    assert [c.name for c in checks if c.name.startswith("notifier ")] == [
        "notifier good",
        "notifier plain",
        "notifier unset",
        "notifier missing",
        "notifier desktop",
    ]


def test_no_notifier_configured_adds_no_line(tmp_path: Path) -> None:
    assert notifier_checks(config(tmp_path, ""), registry(), {}) == []
