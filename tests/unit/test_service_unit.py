"""``ao-tui daemon unit``'s files (issue 12, "Unattended"): the systemd unit parses strictly
(and passes ``systemd-analyze verify`` where it is installed), quoting survives odd paths,
no secret is written, and the launchd plist is a valid plist running the same command.
Running the printed ExecStart for real: tests/integration/test_daemon_unattended.py."""

from __future__ import annotations

import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ao_tui.service_unit import (
    DaemonService,
    daemon_service,
    default_kind,
    launchd_plist,
    systemd_unit,
)

KEYS = {
    "Unit": {"Description", "After"},
    "Service": {
        "Type",
        "ExecStart",
        "WorkingDirectory",
        "Environment",
        "EnvironmentFile",
        "Restart",
        "RestartSec",
        "KillSignal",
        "TimeoutStopSec",
        "KillMode",
    },
    "Install": {"WantedBy"},
}


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A strict reading of a unit file: known sections, known keys, no stray lines."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            assert current in KEYS and current not in sections, f"line {number}: {line}"
            sections[current] = []
            continue
        assert current is not None, f"line {number}: a key before any section: {line}"
        key, sep, value = line.partition("=")
        assert sep and key in KEYS[current], f"line {number}: unknown {current} key: {line}"
        sections[current].append((key, value))
    assert set(sections) == set(KEYS)
    return sections


def unquote(value: str) -> list[str]:
    """The words of an ExecStart/Environment value, as systemd splits them (its quoting is
    C-style within double quotes; ours never needs more), specifiers unescaped."""
    return [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(value)]


def service(tmp_path: Path, **env: str) -> DaemonService:
    config = tmp_path / "my repo" / "ao.config.yaml"
    return daemon_service(config, tmp_path / "state 100%", env)


def test_the_systemd_unit_parses_and_runs_this_interpreter(tmp_path: Path) -> None:
    unit = systemd_unit(service(tmp_path, PATH="/usr/bin:/opt/agent bin", AO_TUI_X="1"))
    sections = parse_unit(unit)
    values = dict(sections["Service"])
    argv = unquote(values["ExecStart"])
    assert argv == [
        str(Path(sys.executable).absolute()),
        "-m",
        "ao_tui",
        "--config",
        str(tmp_path / "my repo" / "ao.config.yaml"),
        "daemon",
    ]
    env = dict(
        word.split("=", 1)
        for key, value in sections["Service"]
        if key == "Environment"
        for word in unquote(value)
    )
    assert env == {
        "AO_TUI_HOME": str(tmp_path / "state 100%"),
        "AO_TUI_X": "1",
        "PATH": "/usr/bin:/opt/agent bin",
    }
    assert values["KillMode"] == "process"  # stopping it leaves the agents' tmux alone
    assert values["EnvironmentFile"].startswith("-")  # optional: absent is fine
    assert "systemctl --user enable --now ao-tui.service" in unit


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    config = tmp_path / "ao.config.yaml"
    config.write_text("projects: {}\n")
    path = tmp_path / "ao-tui.service"
    path.write_text(systemd_unit(daemon_service(config, tmp_path / "home", {"PATH": "/bin"})))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    # An unknown key is only a warning (exit 0): any line about our file fails the test.
    complaints = [line for line in proc.stderr.splitlines() if "ao-tui.service" in line]
    assert proc.returncode == 0 and not complaints, proc.stderr


def test_no_secret_is_written_into_the_unit(tmp_path: Path) -> None:
    made = service(
        tmp_path,
        PATH="/bin",
        AO_TUI_GITHUB_TOKEN="ghp_secretsecretsecretsecret",
        GITHUB_TOKEN="ghp_othersecretothersecret",
        AO_TUI_CONFIG="/elsewhere.yaml",
    )
    assert set(made.env) == {"AO_TUI_HOME", "PATH"}
    for text in (systemd_unit(made), launchd_plist(made)):
        assert "ghp_" not in text and "elsewhere" not in text


def test_the_launchd_plist_is_valid_and_runs_the_same_command(tmp_path: Path) -> None:
    made = service(tmp_path, PATH="/bin")
    job = plistlib.loads(launchd_plist(made).encode())
    assert job["ProgramArguments"] == list(made.argv)
    assert job["EnvironmentVariables"] == made.env
    assert job["RunAtLoad"] is True and job["AbandonProcessGroup"] is True


def test_the_platform_chooses_the_kind() -> None:
    assert default_kind("darwin") == "launchd"
    assert default_kind("linux") == "systemd"
