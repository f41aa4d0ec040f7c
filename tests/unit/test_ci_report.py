"""The typed answer to ``ci``: its order, its state, its JSON and the changed-command note."""

from __future__ import annotations

import json

import pytest

from core.ci_report import CiReport
from core.models import CiState
from core.redact import redact_here
from core.scm import CheckRun

HEAD = "5f1c2e9a7b3d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
SECRET = "s3cr3t-value-42"


def _check(name: str, state: CiState, command: str | None = None) -> CheckRun:
    return CheckRun(name, state, HEAD, 1.23456, f"{name} log", command=command)


def test_checks_are_listed_failing_first_and_the_state_is_the_first_ones() -> None:
    checks = [_check("a", "passing"), _check("b", "running"), _check("c", "failing")]
    checks.append(_check("d", "passing"))
    report = CiReport.of(checks, HEAD, None)
    assert [c.name for c in report.checks] == ["c", "b", "a", "d"]  # stable within a state
    assert report.state == "failing"
    assert CiReport.of([], HEAD, None).state == "none"


def test_to_json_is_the_ci_json_dict_key_for_key() -> None:
    report = CiReport.of([_check("pytest", "failing", "make test")], HEAD, "make test")
    data = report.to_json()
    assert list(data) == ["state", "checks", "head_sha", "ci_command"]  # the printed order
    assert data == {
        "state": "failing",
        "checks": [report.checks[0].to_json()],
        "head_sha": HEAD,
        "ci_command": "make test",
    }
    assert data["checks"][0]["duration"] == 1.235
    json.dumps(data)
    empty = CiReport.of([], HEAD, None).to_json()
    assert empty == {"state": "none", "checks": [], "head_sha": HEAD, "ci_command": None}


def test_a_command_is_changed_only_when_checks_ran_and_none_ran_it() -> None:
    ran_old = [_check("ci", "passing", "make old"), _check("host", "passing")]
    assert CiReport.of(ran_old, HEAD, "make new").command_changed() == "make new"
    assert CiReport.of(ran_old, HEAD, "make old").command_changed() is None
    assert CiReport.of(ran_old, HEAD, None).command_changed() is None  # no CI configured
    assert CiReport.of([_check("host", "passing")], HEAD, "make new").command_changed() is None


def test_the_commands_are_compared_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", SECRET)
    command = f"deploy --token {SECRET}"
    # The configured command reaches the report masked; the check keeps what it ran.
    report = CiReport.of([_check("ci", "passing", command)], HEAD, redact_here(command))
    assert SECRET not in str(report.ci_command)
    assert report.command_changed() is None
    assert SECRET not in json.dumps(report.to_json())
