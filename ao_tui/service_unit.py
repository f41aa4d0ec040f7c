"""The service files that run ``ao-tui daemon`` at login: a systemd user unit, a launchd plist.

Both run this very ao-tui (the absolute path of the running interpreter, ``-m ao_tui``:
a venv's interpreter finds its own packages with no activation), on the config and state
dir in force when the file was printed, with the ``PATH`` of now (a user manager's own
``PATH`` is short: tmux, git and the agents would not be found). Secrets are never
written into the file (a unit is world-readable): the systemd unit reads an optional
owner-only environment file for them (:func:`secrets_file`).

Stopping the service stops only the daemon (``KillMode=process``, launchd's
``AbandonProcessGroup``): the agents' tmux server may have been started by it, and must
outlive it, as it outlives a closed cockpit.
"""

from __future__ import annotations

import os
import plistlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from core.redact import is_secret_name

UNIT_NAME = "ao-tui.service"
"""The systemd user unit's file name."""
LAUNCHD_LABEL = "dev.ao-tui.daemon"
"""The launchd job's label (and its plist's file name, with ``.plist``)."""
PASSED_THROUGH = ("PATH", "PYTHONPATH", "TMUX_TMPDIR", "LANG", "LC_ALL")
"""Variables of the printing shell the service keeps (besides ``AO_TUI_*``)."""


@dataclass(frozen=True)
class DaemonService:
    """What the service runs: the command line, its environment and working directory."""

    argv: tuple[str, ...]
    env: dict[str, str]
    workdir: Path


def daemon_service(
    config: Path, home: Path, environ: Mapping[str, str] | None = None
) -> DaemonService:
    """The daemon as the service must run it: this interpreter, ``config`` and ``home``
    (``AO_TUI_HOME``), and the ao-tui settings and ``PATH`` of ``environ`` (default: this
    process's). A secret-named variable is never carried (see :func:`secrets_file`)."""
    source = os.environ if environ is None else environ
    env = {"AO_TUI_HOME": str(home)}
    for name, value in sorted(source.items()):
        carried = name.startswith("AO_TUI_") or name in PASSED_THROUGH
        if carried and name not in ("AO_TUI_HOME", "AO_TUI_CONFIG") and not is_secret_name(name):
            env[name] = value
    argv = (str(Path(sys.executable).absolute()), "-m", "ao_tui", "--config", str(config), "daemon")
    return DaemonService(argv=argv, env=env, workdir=config.parent)


def secrets_file() -> Path:
    """The optional owner-only file of ``NAME=value`` lines (tokens, webhook URLs) the
    systemd unit reads: ``~/.config/ao-tui/daemon.env``."""
    return Path(platformdirs.user_config_dir("ao-tui")) / "daemon.env"


def _exec_arg(arg: str) -> str:
    """One word of ``ExecStart=``: ``%`` and ``$`` escaped (systemd expands both there),
    quoted when it holds a space, a quote or a backslash."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if any(c.isspace() or c in "\"'\\;" for c in arg) or not arg:
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def _assignment(name: str, value: str) -> str:
    """One ``Environment=`` word: quoted, ``%`` escaped (specifiers expand there)."""
    text = f"{name}={value}".replace("%", "%%").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def systemd_unit(service: DaemonService) -> str:
    """A systemd user unit running ``service``, with how to install it in its comments."""
    install = install_commands("systemd")
    lines = [
        "# ao-tui daemon: keeps the agent sessions watched (prompts, CI, exits, reactions)",
        "# with no cockpit open. Install it with:",
        *(f"#   {line}" for line in install),
        "# Tokens and webhook URLs go in the optional environment file (chmod 600), never here:",
        f"#   {secrets_file()}",
        "[Unit]",
        "Description=ao-tui daemon (watches the agent sessions with no cockpit open)",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(_exec_arg(arg) for arg in service.argv),
        # A path setting takes the rest of the line as is: only specifiers are expanded.
        "WorkingDirectory=" + str(service.workdir).replace("%", "%%"),
        *(f"Environment={_assignment(k, v)}" for k, v in service.env.items()),
        f"EnvironmentFile=-{secrets_file()}",
        "Restart=on-failure",
        "RestartSec=5",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=30",
        "# The agents' tmux server outlives a stopped daemon, as it outlives a closed cockpit.",
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=default.target",
    ]
    return "\n".join(lines) + "\n"


def launchd_plist(service: DaemonService) -> str:
    """A launchd agent plist running ``service`` at login, kept alive if it fails."""
    log = Path(service.env["AO_TUI_HOME"]) / "daemon.stderr.log"
    job = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(service.argv),
        "EnvironmentVariables": dict(service.env),
        "WorkingDirectory": str(service.workdir),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        # The agents' tmux server outlives a stopped daemon, as it outlives a closed cockpit.
        "AbandonProcessGroup": True,
        "StandardErrorPath": str(log),
        "ExitTimeOut": 30,
    }
    # How to install it goes to stderr only: an XML comment may not hold ``--``, which the
    # commands do, and launchd reads nothing else a comment could go in.
    return plistlib.dumps(job, sort_keys=False).decode()


def install_commands(kind: str) -> list[str]:
    """The shell lines that install the printed file of ``kind`` (systemd or launchd)."""
    if kind == "systemd":
        return [
            "mkdir -p ~/.config/systemd/user",
            f"ao-tui daemon unit --systemd > ~/.config/systemd/user/{UNIT_NAME}",
            f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT_NAME}",
            "loginctl enable-linger $USER   # keep it running while you are logged out",
            f"journalctl --user -u {UNIT_NAME} -f   # or: tail -f $AO_TUI_HOME/daemon.log",
        ]
    plist = f"~/Library/LaunchAgents/{LAUNCHD_LABEL}.plist"
    return [
        f"ao-tui daemon unit --launchd > {plist}",
        f"launchctl bootstrap gui/$(id -u) {plist}",
        f"launchctl kickstart -k gui/$(id -u)/{LAUNCHD_LABEL}   # restart it",
    ]


def default_kind(platform: str | None = None) -> str:
    """``launchd`` on macOS, else ``systemd``."""
    return "launchd" if (platform or sys.platform) == "darwin" else "systemd"
