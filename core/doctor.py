"""``ao-tui doctor``: every prerequisite checked, each failure with the fix named."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.git import GitError, run_git
from core.locations import Locations
from core.slots import AgentProgram

if TYPE_CHECKING:
    from core.engine import Engine
    from core.inventory import Finding, Inventory


@dataclass(frozen=True)
class Check:
    """One doctor line: what was checked, how it went, and the fix when it did not."""

    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""
    finding: dict[str, Any] | None = None
    """For a session check: the finding behind it (``status --orphans --json``'s object)."""

    def to_json(self) -> dict[str, Any]:
        """The object ``doctor --json`` prints."""
        data: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
        }
        if self.finding is not None:
            data["finding"] = self.finding
        return data


def _version(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0] if proc.returncode == 0 and out else None


def check_tmux() -> Check:
    """tmux is installed and new enough for ``new-session -e`` and bracketed paste."""
    version = _version(["tmux", "-V"]) if shutil.which("tmux") else None
    if version is None:
        return Check(
            "tmux", "fail", "tmux not found on PATH", "install tmux 3.2+ (apt-get install tmux)"
        )
    match = re.search(r"(\d+)\.(\d+)", version)
    if match and (int(match[1]), int(match[2])) < (3, 2):
        return Check("tmux", "fail", f"{version} is too old", "install tmux 3.2 or newer")
    return Check("tmux", "ok", version)


def check_git(*, timeout: float = 10.0) -> Check:
    """git is installed and answers within ``timeout`` seconds (worktrees need 2.17+)."""
    if not shutil.which("git"):
        return Check("git", "fail", "git not found on PATH", "install git (apt-get install git)")
    try:
        proc = run_git(["--version"], cwd=None, timeout=timeout)
    except GitError as exc:
        return Check("git", "fail", str(exc), "check the git first on PATH: `git --version`")
    return Check("git", "ok", proc.stdout.strip())


def check_state_dir(locations: Locations) -> Check:
    """The state dir is writable and its database opens."""
    from core.store import Store, StoreError

    try:
        locations.ensure()
        store = Store(locations.database)
        count = len(store.list_sessions())
        store.close()
    except (OSError, StoreError) as exc:
        return Check("state", "fail", str(exc), "set AO_TUI_HOME to a writable directory")
    return Check("state", "ok", f"{locations.home} ({count} sessions)")


def check_lease(locations: Locations) -> Check:
    """Which process watches the sessions: the holder of the engine lease, named.

    Nobody watching is only a problem while sessions run: then no prompt, finished CI
    or exit is noticed until a cockpit opens or ``ao-tui daemon`` starts.
    """
    import time

    from core.lease import read_holder
    from core.models import ACTIVE_LIFECYCLES
    from core.store import Store, StoreError

    holder = read_holder(locations.engine_lock)
    if holder is not None:
        since = ""
        if holder.since is not None:
            since = time.strftime(" since %H:%M:%S", time.localtime(holder.since))
        return Check("watching", "ok", f"{holder.describe()} watches the sessions{since}")
    try:
        store = Store(locations.database)
        running = sum(s.lifecycle in ACTIVE_LIFECYCLES for s in store.list_sessions())
        store.close()
    except (OSError, StoreError):
        running = 0  # the state check reports the database
    if not running:
        return Check("watching", "ok", "no process watches the sessions (none is running)")
    noun = "session" if running == 1 else "sessions"
    return Check(
        "watching",
        "warn",
        f"nobody watches the {running} running {noun}: prompts, finished CI and exits go unnoticed",
        "open the cockpit (`ao-tui`) or run `ao-tui daemon`",
    )


def check_config(explicit: str | None, registry: Any = None) -> tuple[list[Check], Any]:
    """The config is found and valid; each project's path is a git repo with its agent;
    each notifier can send (:mod:`core.notify.checks`). ``registry``: the installed plugins
    unless given."""
    from core.config import find_config, load_config
    from core.errors import ConfigError
    from core.notify.checks import notifier_checks
    from core.registry import Registry

    registry = registry or Registry()
    try:
        path = find_config(Path.cwd(), explicit)
    except ConfigError as exc:
        return [Check("config", "fail", str(exc), "fix the path or unset AO_TUI_CONFIG")], None
    if path is None:
        return [
            Check("config", "fail", "no ao.config.yaml found", "run `ao-tui init` in your repo")
        ], None
    try:
        loaded = load_config(path, known_agents=registry.names("agent"))
    except ConfigError as exc:
        return [Check("config", "fail", str(exc), "edit the file at the line shown")], None
    checks = [Check("config", "ok", f"{path} ({len(loaded.config.projects)} projects)")]
    checks += [Check("config", "warn", w) for w in loaded.warnings]
    for pid, project in loaded.config.projects.items():
        checks += _repository_checks(pid, project, registry, loaded.config.defaults.workspace)
        checks += _github_checks(pid, project)
        checks += ci_checks(pid, project)
        agent = project.agent_name(loaded.config.defaults)
        plugin = registry.get("agent", agent)
        checks += allow_checks(pid, agent, plugin, project.agent_config.allow)
        if not isinstance(plugin, AgentProgram) or not plugin.program:
            continue  # the command is the user's own (shell) or ships with ao-tui (demo)
        binary, install = plugin.program, plugin.install_hint
        if project.agent_config.command:
            binary = project.agent_config.command
        found = shutil.which(binary)
        if found:
            checks.append(Check(f"agent {agent} ({pid})", "ok", found))
        else:
            checks.append(
                Check(
                    f"agent {agent} ({pid})",
                    "fail",
                    f"{binary!r} not found on PATH",
                    f"{install} or set projects.{pid}.agentConfig.command",
                )
            )
    checks += notifier_checks(loaded.config, registry, os.environ)
    return checks, loaded


def allow_checks(pid: str, agent: str, plugin: object, rules: tuple[str, ...]) -> list[Check]:
    """The project's permission policy: what its agent runs without asking, and where the
    rules go; a failure when the agent cannot apply them (its sessions would be refused)."""
    from core.permission_policy import describe, unsupported

    if not rules:
        return []
    name = f"allow ({pid})"
    problem = unsupported(plugin, agent, rules)
    if problem:
        what, _, fix = problem.partition("; ")
        return [Check(name, "fail", what, f"{fix} (projects.{pid}.agentConfig.allow)")]
    return [Check(name, "ok", f"{agent} {describe(plugin, rules)}")]


def _repository_checks(pid: str, project: Any, registry: Any, workspace_name: str) -> list[Check]:
    """The project's repository can take sessions; merges killed midway leave nothing behind."""
    from core.project_checks import inspect_project
    from core.registry import UnknownPluginError
    from core.slots import SlotError

    name = f"repository ({pid})"
    try:
        workspace = registry.get("workspace", workspace_name)
        base, problems = inspect_project(pid, project, workspace)
        if problems:
            return [Check(name, "fail", p.problem, p.fix) for p in problems]
        removed = workspace.tidy(project.path)
    except (SlotError, UnknownPluginError) as exc:
        return [Check(name, "fail", str(exc), f"check projects.{pid}.path and the repository")]
    checks = [Check(name, "ok", f"{project.path}, sessions branch from {base}")]
    if removed:
        checks.append(
            Check(
                f"merge worktrees ({pid})",
                "ok",
                f"removed {len(removed)} left registered by interrupted merges",
            )
        )
    return checks


def ci_checks(pid: str, project: Any) -> list[Check]:
    """The project's ``ci.command`` can start: ``sh`` parses it, and (best effort: its first
    program, looked up as a CI run from this terminal would) what it runs is there."""
    from core.agent_env import ci_environment
    from core.ci_command import check_program, shell_problem

    name = f"ci ({pid})"
    if project.ci is None:
        return [
            Check(
                name,
                "warn",
                "no ci.command: review and merge go ahead without CI",
                f"set projects.{pid}.ci: {{command: <the line that runs your tests>}}",
            )
        ]
    command = " ".join(project.ci.command.split())
    fix = (
        f"fix projects.{pid}.ci.command (one shell line, run as `sh -c COMMAND` in the "
        "session worktree)"
    )
    problem = shell_problem(project.ci.command)
    if problem:
        return [Check(name, "fail", problem, fix)]
    env = ci_environment(os.environ, project_env=project.env)
    found = check_program(project.ci.command, env=env, cwd=project.path)
    if found.problem:
        detail = f"{found.problem} (best effort: its first program, looked up as a run would)"
        return [Check(name, "fail", detail, f"install {found.program}, or {fix}")]
    if found.program is None:
        return [Check(name, "ok", f"{command!r} (its program depends on the line; not looked up)")]
    return [Check(name, "ok", f"{command!r}: {found.program} is {found.path}")]


def _github_checks(pid: str, project: Any) -> list[Check]:
    """For projects on GitHub (SCM or tracker): the repository is known and a token exists.

    Nothing is sent to GitHub and the token is never shown: only where it would come from.
    """
    from core.scm_host import host_settings, scm_name

    on_github = scm_name(project) == "github"
    tracked = project.tracker is not None and project.tracker.plugin == "github"
    if not (on_github or tracked):
        return []
    name = f"github ({pid})"
    host = host_settings(project)
    if host is None:
        return [
            Check(
                name,
                "fail",
                "no GitHub repository: no github.repo and no origin remote on GitHub",
                f"set projects.{pid}.github.repo: owner/name",
            )
        ]
    source = next((var for var in ("GH_TOKEN", "GITHUB_TOKEN") if os.environ.get(var)), None)
    if source is None and shutil.which("gh"):
        source = "`gh auth token`"
    if source is None:
        return [
            Check(
                name,
                "fail",
                f"{host.repo}: no token (GH_TOKEN, GITHUB_TOKEN or gh)",
                "export GITHUB_TOKEN=<a token with repo access>, or run `gh auth login`, "
                f"or set projects.{pid}.scm: local",
            )
        ]
    return [Check(name, "ok", f"{host.repo} at {host.api_url}, token from {source}")]


def run_checks(explicit_config: str | None = None) -> list[Check]:
    """Every check, in the order a newcomer should fix them."""
    checks, _ = run_all(explicit_config)
    return checks


def run_all(explicit_config: str | None = None) -> tuple[list[Check], Engine | None]:
    """Every check, and the engine the session checks ran on (None when they could not)."""
    state = check_state_dir(Locations.from_env())
    checks = [
        Check("python", "ok", sys.version.split()[0]),
        check_tmux(),
        check_git(),
        state,
    ]
    if state.status != "fail":
        checks.append(check_lease(Locations.from_env()))
    socket = os.environ.get("AO_TUI_TMUX_SOCKET")
    checks.append(
        Check("tmux server", "ok", f"socket -L {socket}" if socket else "the default tmux server")
    )
    config_checks, loaded = check_config(explicit_config)
    checks += config_checks
    if loaded is None or state.status == "fail":
        return checks, None
    from core.engine import Engine
    from core.inventory import take_inventory
    from core.registry import Registry

    engine = Engine(loaded.config, registry=Registry())
    return checks + session_checks(take_inventory(engine)), engine


def session_checks(inventory: Inventory) -> list[Check]:
    """One check per orphan, dangling row or interrupted operation; one ok line if none."""
    checks = [Check("sessions", "warn", problem) for problem in inventory.problems]
    checks += [finding_check(f) for f in inventory.findings]
    for sid, operation in sorted(inventory.in_progress.items()):
        checks.append(Check(f"session {sid}", "ok", f"a {operation} is running right now"))
    if not inventory.findings and not inventory.problems:
        checks.append(
            Check(
                "sessions",
                "ok",
                f"{len(inventory.rows)} recorded; no orphans, no half-done operations",
            )
        )
    return checks


def finding_check(finding: Finding) -> Check:
    """The doctor line of one finding: what is wrong, and what ``--fix`` will do about it."""
    from core.inventory import NONE

    fix = finding.fix if finding.action == NONE else f"`ao-tui doctor --fix` will {finding.fix}"
    return Check(
        f"session {finding.session_id}",
        "warn",
        f"{finding.kind}: {finding.problem}",
        fix,
        finding.to_json(),
    )
