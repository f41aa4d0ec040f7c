"""The ``reactions:`` config: AO's shape loads and gives the documented effective values;
bad settings are refused with ``file:line:col``, the setting and what would fix it.

Real files and real git repositories (the projects' paths); the loader is the one every
verb uses. The hostile corpus (tests/fixtures/hostile/configs/reactions-*.yaml) runs the
same refusals through the CLI.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from core.config import Config, load_config, load_config_text
from core.config_reactions import REACTION_KEYS
from core.errors import ConfigError
from core.reactions.rules import DEFAULT, effective_rules, switched_off
from tests.conftest import run_git

FIXTURES = Path(__file__).parent.parent / "fixtures" / "config"
KNOWN_AGENTS = frozenset({"claude-code", "shell"})
TOP = "projects:\n  app:\n    path: repo\n"


def make_repo(path: Path) -> Path:
    """A real (empty) git repository at ``path``."""
    path.mkdir(parents=True)
    run_git(path, "init", "-q", "-b", "main")
    return path


def load(text: str, base: Path, *, ao: bool = False) -> tuple[Config, list[str]]:
    """Load ``text`` as ``ao.config.yaml`` (or, ``ao``, as ``agent-orchestrator.yaml``)."""
    if not (base / "repo").exists():
        make_repo(base / "repo")
    loaded = load_config_text(
        text,
        filename="agent-orchestrator.yaml" if ao else "ao.config.yaml",
        base_dir=base,
        known_agents=KNOWN_AGENTS,
        environ={},
        ao_compat=ao,
    )
    return loaded.config, loaded.warnings


def refused(text: str, base: Path, *, ao: bool = False) -> str:
    """The one problem loading ``text`` reports."""
    with pytest.raises(ConfigError) as caught:
        load(text, base, ao=ao)
    return str(caught.value)


# --- AO's shape ------------------------------------------------------------------------


@pytest.fixture
def ao_config(tmp_path: Path) -> tuple[Config, list[str], str]:
    home = tmp_path / "home"
    make_repo(home / "my-app")
    make_repo(home / "docs")
    target = tmp_path / "conf" / "agent-orchestrator.yaml"
    target.parent.mkdir()
    shutil.copyfile(FIXTURES / "ao__reactions.agent-orchestrator.yaml", target)
    loaded = load_config(target, known_agents=KNOWN_AGENTS, environ={"HOME": str(home)})
    return loaded.config, loaded.warnings, str(target)


@pytest.mark.reactions  # switched_off() reads AO_TUI_REACTIONS, which other tests set
def test_an_ao_config_with_reactions_loads_and_warns_only_of_what_ao_tui_lacks(
    ao_config: tuple[Config, list[str], str],
) -> None:
    config, warnings, name = ao_config
    assert set(config.projects) == {"my-app", "docs"}
    assert warnings == [
        f"{name}:5:1: key 'dataDir' is not supported yet and is ignored",
        f"{name}:8:1: key 'port' is not supported yet and is ignored",
        f"{name}:20:5: key 'name' is not supported yet and is ignored",
        # AO's tracker-progress reaction is not one ao-tui has: warned, with its line.
        f"{name}:34:7: unknown key 'issue-completed' is ignored; did you mean 'all-complete'?",
        f"{name}:85:1: unknown key 'cleanup' is ignored",
    ]
    assert switched_off(config) is None


def test_the_top_level_gives_every_project_its_values_and_where_they_came_from(
    ao_config: tuple[Config, list[str], str],
) -> None:
    config, _, _ = ao_config
    rules = effective_rules(config, "docs")
    assert list(rules) == list(REACTION_KEYS)
    ci = rules["ci-failed"]
    assert (ci.action, ci.auto, ci.retries, ci.escalate_count, ci.escalate_seconds) == (
        "send-to-agent",
        True,
        2,
        2,
        None,
    )
    assert ci.budget == 2 and ci.acts
    assert ci.sources == {
        "auto": "reactions.ci-failed",
        "action": "reactions.ci-failed",
        "retries": "reactions.ci-failed",
        "escalate_after": "reactions.ci-failed",
        "priority": DEFAULT,
    }
    assert rules["changes-requested"].escalate_seconds == 1800.0  # "30m"
    bugbot = rules["bugbot-comments"]
    assert bugbot.escalate_seconds == 5400.0  # "1h30m"
    assert bugbot.message == "A review bot left comments. Check each one before changing code."
    assert bugbot.budget is None  # bounded by time
    merge = rules["approved-and-green"]
    assert (merge.auto, merge.action, merge.priority, merge.acts) == (
        False,
        "notify",
        "action",
        False,
    )
    stuck = rules["agent-stuck"]
    assert (stuck.threshold_seconds, stuck.action, stuck.priority) == (600.0, "notify", "urgent")
    assert rules["merge-conflicts"].escalate_seconds == 900.0
    assert rules["merge-conflicts"].sources["escalate_after"] == DEFAULT
    assert rules["all-complete"].to_json()["sources"]["action"] == "reactions.all-complete"


def test_a_projects_block_overrides_setting_by_setting(
    ao_config: tuple[Config, list[str], str],
) -> None:
    config, _, _ = ao_config
    rules = effective_rules(config, "my-app")
    merge = rules["approved-and-green"]
    assert (merge.auto, merge.action, merge.acts) == (True, "auto-merge", True)
    assert merge.sources["auto"] == "projects.my-app.reactions.approved-and-green"
    assert merge.sources["priority"] == "reactions.approved-and-green"  # not overridden
    ci = rules["ci-failed"]
    # The project's duration replaces the top level's count; its retries set the budget.
    assert (ci.retries, ci.escalate_count, ci.escalate_seconds, ci.budget) == (3, None, 2700, 3)
    assert ci.sources["retries"] == "projects.my-app.reactions.ci-failed"
    assert ci.sources["action"] == "reactions.ci-failed"
    assert ci.to_json()["escalate_after"] == 2700.0
    # The other project is untouched by my-app's block.
    assert effective_rules(config, "docs")["ci-failed"].retries == 2


def test_with_no_reactions_block_the_documented_defaults_apply(tmp_path: Path) -> None:
    config, warnings = load(TOP, tmp_path)
    assert warnings == []
    got = {
        key: (rule.action, rule.auto, rule.retries, rule.escalate_count, rule.escalate_seconds)
        for key, rule in effective_rules(config, "app").items()
    }
    assert got == {
        "ci-failed": ("send-to-agent", True, 2, 2, None),
        "changes-requested": ("send-to-agent", True, None, None, 1800.0),
        "bugbot-comments": ("send-to-agent", True, None, None, 1800.0),
        "merge-conflicts": ("send-to-agent", True, None, None, 900.0),
        "approved-and-green": ("notify", False, None, None, None),
        "agent-stuck": ("notify", True, None, None, None),
        "agent-needs-input": ("notify", True, None, None, None),
        # AO only notifies; ao-tui restores a dead agent once first.
        "agent-exited": ("restore", True, 1, None, None),
        "pr-closed": ("notify", True, None, None, None),
        "all-complete": ("notify", True, None, None, None),
        # On by default with the local SCM (a host's project turns it on itself).
        "agent-review": ("spawn-reviewer", True, None, None, None),
    }
    rules = effective_rules(config, "app")
    assert rules["agent-stuck"].threshold_seconds == 600.0
    assert all(set(rule.sources.values()) == {DEFAULT} for rule in rules.values())


@pytest.mark.parametrize(
    ("setting", "count", "seconds"),
    [
        ("escalateAfter: 2", 2, None),
        ("escalateAfter: '3'", 3, None),
        ("escalateAfter: 100", 100, None),
        ("escalateAfter: 30m", None, 1800.0),
        ("escalateAfter: 1h30m", None, 5400.0),
        ("escalateAfter: 90s", None, 90.0),
        ("escalateAfter: 2d", None, 172800.0),
        ("escalateAfter: 365d", None, 365 * 86400.0),
    ],
)
def test_escalate_after_as_a_count_or_a_duration(
    tmp_path: Path, setting: str, count: int | None, seconds: float | None
) -> None:
    config, _ = load(TOP + f"reactions:\n  changes-requested:\n    {setting}\n", tmp_path)
    rule = effective_rules(config, "app")["changes-requested"]
    assert (rule.escalate_count, rule.escalate_seconds) == (count, seconds)


@pytest.mark.parametrize(("setting", "seconds"), [("300", 300.0), ("10m", 600.0), ("1h", 3600.0)])
def test_a_threshold_in_seconds_or_as_a_duration(
    tmp_path: Path, setting: str, seconds: float
) -> None:
    config, _ = load(TOP + f"reactions:\n  agent-stuck:\n    threshold: {setting}\n", tmp_path)
    assert effective_rules(config, "app")["agent-stuck"].threshold_seconds == seconds


@pytest.mark.reactions
def test_a_projects_enabled_false_switches_only_that_project_off(tmp_path: Path) -> None:
    config, _ = load(TOP + "    reactions:\n      enabled: false\n", tmp_path)
    assert not any(rule.enabled for rule in effective_rules(config, "app").values())
    assert switched_off(config) is None  # the other projects' reactions still run
    config, _ = load(TOP + "reactions:\n  enabled: false\n", tmp_path)
    assert switched_off(config) == "reactions.enabled is false in the config"


# --- refusals --------------------------------------------------------------------------


ALLOWED_KEYS = (
    "agent-exited, agent-needs-input, agent-review, agent-stuck, all-complete, "
    "approved-and-green, bugbot-comments, changes-requested, ci-failed, enabled, "
    "merge-conflicts, mode, orchestratorTimeout, pr-closed"
)


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        (
            "reactions:\n  ci-faild:\n    retries: 2\n",
            "ao.config.yaml:5:3: reactions.ci-faild: unknown key 'ci-faild'; did you mean "
            f"'ci-failed'? (allowed: {ALLOWED_KEYS})",
        ),
        (
            "    reactions:\n      bugbot:\n        auto: true\n",
            "ao.config.yaml:5:7: projects.app.reactions.bugbot: unknown key 'bugbot' "
            f"(allowed: {ALLOWED_KEYS})",
        ),
        (
            "reactions:\n  ci-failed:\n    retry: 2\n",
            "ao.config.yaml:6:5: reactions.ci-failed.retry: unknown key 'retry'; did you mean "
            "'retries'? (allowed: action, auto, escalateAfter, includeSummary, message, mode, "
            "priority, retries, threshold)",
        ),
        (
            "reactions:\n  ci-failed:\n    action: auto-fix\n",
            "ao.config.yaml:6:13: reactions.ci-failed.action: Input should be 'send-to-agent', "
            "'notify', 'auto-merge', 'restore' or 'spawn-reviewer', got 'auto-fix'",
        ),
        (
            "    reactions:\n      agent-needs-input:\n        action: send-to-agent\n",
            "ao.config.yaml:6:9: projects.app.reactions.agent-needs-input: agent-needs-input "
            "cannot send-to-agent; its actions are notify",
        ),
    ],
    ids=["unknown-key", "unknown-key-in-a-project", "unknown-setting", "unknown-action", "action"],
)
def test_an_unknown_key_or_action_is_refused_with_file_and_line(
    tmp_path: Path, yaml: str, problem: str
) -> None:
    assert refused(TOP + yaml, tmp_path) == problem


def test_in_ao_mode_an_unknown_key_is_a_warning_but_an_unknown_action_is_refused(
    tmp_path: Path,
) -> None:
    config, warnings = load(
        TOP + "reactions:\n  ci-faild:\n    retries: 2\n  ci-failed:\n    cooldown: 5m\n",
        tmp_path,
        ao=True,
    )
    assert warnings == [
        "agent-orchestrator.yaml:5:3: unknown key 'ci-faild' is ignored; did you mean 'ci-failed'?",
        "agent-orchestrator.yaml:8:5: unknown key 'cooldown' is ignored",
    ]
    assert effective_rules(config, "app")["ci-failed"].retries == 2  # the default's
    assert refused(TOP + "reactions:\n  ci-failed:\n    action: fix-it\n", tmp_path, ao=True) == (
        "agent-orchestrator.yaml:6:13: reactions.ci-failed.action: Input should be "
        "'send-to-agent', 'notify', 'auto-merge', 'restore' or 'spawn-reviewer', got 'fix-it'"
    )


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ('message: "fix\\e[2J it"', "message holds the control character U+001B"),
        ("retries: 101", "retries: Input should be less than or equal to 100"),
        ("retries: 99999999999999999999999", "retries: Input should be less than or equal"),
        ("escalateAfter: -2", "escalateAfter -2 is not 1 to 100 attempts"),
        ("escalateAfter: 0", "escalateAfter 0 is not 1 to 100 attempts"),
        ("escalateAfter: 1000000000000000", "escalateAfter 1000000000000000 is not 1 to 100"),
        ("escalateAfter: 10 minutes", "escalateAfter '10 minutes' is not a duration; write e.g."),
        ("escalateAfter: -5m", "escalateAfter '-5m' is not a duration"),
        ("escalateAfter: 1.5", "escalateAfter '1.5' is not a duration"),
        ("escalateAfter: 0s", "escalateAfter '0s' is no time at all"),
        ("escalateAfter: 366d", "escalateAfter '366d' is longer than a year"),
        ("escalateAfter: " + "9" * 400 + "d", "is not a duration"),
        ("escalateAfter: " + "9" * 20, "is not 1 to 100 attempts"),
        ("retries: " + "9" * 5000, "retries: this number is far too long"),
        ("threshold: 10 minutes", "threshold '10 minutes' is not a duration"),
        ("threshold: 0", "threshold '0' is no time at all"),
        ("threshold: -300", "threshold '-300' is no time at all"),
    ],
)
def test_hostile_settings_are_refused_with_their_line(
    tmp_path: Path, setting: str, problem: str
) -> None:
    message = refused(TOP + f"reactions:\n  ci-failed:\n    {setting}\n", tmp_path)
    where, _, said = message.partition(": reactions.ci-failed.")
    assert where.startswith("ao.config.yaml:6:"), message
    assert problem in said, message
    assert message.count("\n") == 0


def test_a_rule_built_in_code_is_checked_too() -> None:
    # Python callers (tests, the cockpit's editor) give ints, not YAML text.
    from pydantic import ValidationError

    from core.config_reactions import ReactionRule

    assert ReactionRule.model_validate({"escalate_after": 2}).escalate_after == 2
    assert ReactionRule.model_validate({"threshold": 60}).threshold == 60
    bad: list[dict[str, Any]] = [
        {"escalate_after": 0},
        {"escalate_after": "10 minutes"},
        {"threshold": 0},
    ]
    for value in bad:
        with pytest.raises(ValidationError):
            ReactionRule.model_validate(value)
