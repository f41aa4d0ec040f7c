"""The plugins a config names, and what each needs to know about a session.

The engine's verbs and the reconciler (through :class:`core.lifecycle.ReconcilerDeps`) get
their runtime, workspace, agent, SCM and tracker here, and the context an agent or an SCM
plugin is handed. Nothing here writes state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import EngineError
from core.locations import Locations
from core.models import Session
from core.plugin_failures import PLUGIN_FAILURES, converts_plugin_failures, describe_failure
from core.provenance import session_trailers
from core.registry import Registry, UnknownPluginError
from core.scm import CiSettings, HostSettings, Scm, ScmTarget
from core.scm_host import host_settings, scm_name
from core.slots import (
    Agent,
    AgentContext,
    AgentSettings,
    PaneInfo,
    Runtime,
    Workspace,
    WorktreeTraces,
)
from core.tracker import Tracker, TrackerTarget

if TYPE_CHECKING:
    # Read by attribute only: a verb may pass a config rebuilt from its snapshot
    # (core.config_snapshot), which needs neither pydantic nor YAML imported.
    from core.config import Config, ProjectConfig


def live_pane(runtime: Runtime, session: Session) -> PaneInfo | None:
    """The session's pane while its process runs; None when it is gone or dead."""
    pane = runtime.list_panes().get(session.tmux)
    if pane is None or pane.dead:
        return None
    return pane


@converts_plugin_failures
class PluginAccess:
    """Plugin lookups and context building for one config, state dir and registry.

    Like the engine's verbs, every public method turns a plugin's failure into an
    :class:`EngineError` (:mod:`core.plugin_failures`).
    """

    def __init__(self, config: Config, locations: Locations, registry: Registry) -> None:
        """Look plugins up in ``registry`` as ``config`` names them."""
        self.config = config
        self.locations = locations
        self.registry = registry
        # What `scm: auto` and the GitHub repo resolve to costs a git call; it is asked
        # on every PR refresh, and a project's remote does not move under a running engine.
        self._scm_names: dict[str, str] = {}
        self._hosts: dict[str, HostSettings | None] = {}

    def use_config(self, config: Config) -> None:
        """Run every action from now on with ``config`` (the file changed under a long-running
        process, :mod:`core.config_reload`); what was derived from the old one is dropped."""
        self.config = config
        self._scm_names = {}
        self._hosts = {}

    @property
    def runtime(self) -> Runtime:
        """The runtime plugin of the config's defaults (tmux)."""
        runtime: Runtime = self.registry.get("runtime", self.config.defaults.runtime)
        return runtime

    @property
    def workspace(self) -> Workspace:
        """The workspace plugin of the config's defaults (worktree)."""
        workspace: Workspace = self.registry.get("workspace", self.config.defaults.workspace)
        return workspace

    def agent(self, name: str) -> Agent:
        """The agent plugin called ``name``."""
        agent: Agent = self.registry.get("agent", name)
        return agent

    def remove_worktree(self, session: Session, repo: Path) -> list[str]:
        """Remove the session's worktree (the branch stays), then let its agent take back
        what it recorded about the folder elsewhere (:class:`WorktreeTraces`); notes.

        Taking back is tidying: a failure there is a note, never a failed removal.
        """
        worktree = Path(session.worktree)
        self.workspace.remove(repo, worktree)
        try:
            agent = self.agent(session.agent)
        except UnknownPluginError:  # an agent plugin no longer installed: nothing to ask
            return []
        if not isinstance(agent, WorktreeTraces) or worktree.exists():
            return []
        try:
            return agent.forget_worktree(worktree, self.context(session).env)
        except PLUGIN_FAILURES as exc:  # tidying must not fail a kill or a merge
            return [f"{session.agent} kept its record of {worktree}: {describe_failure(exc)}"]

    def scm(self, project_id: str) -> Scm:
        """The SCM plugin a project uses (``auto`` decided once: github or local)."""
        name = self._scm_names.get(project_id)
        if name is None:
            name = self._scm_names[project_id] = scm_name(self.project(project_id))
        scm: Scm = self.registry.get("scm", name)
        return scm

    def scm_target(self, session: Session) -> ScmTarget:
        """What the SCM plugin needs to know about ``session``'s branch."""
        project = self.project(session.project)
        ci = project.ci
        return ScmTarget(
            session_id=session.id,
            title=session.title,
            repo=project.path,
            worktree=Path(session.worktree),
            branch=session.branch,
            base=session.base_branch or project.default_branch or "main",
            state_dir=self.locations.session_dir(session.id),
            ci=None
            if ci is None
            else CiSettings(command=ci.command, timeout=ci.timeout, project_env=dict(project.env)),
            host=self._host(session.project) if self.scm(session.project).name != "local" else None,
            review_required=project.merge.require_approval,
            trailers=session_trailers(self, session),
            agent_approval_counts=project.merge.agent_approval_counts,
        )

    def _host(self, project_id: str) -> HostSettings | None:
        if project_id not in self._hosts:
            self._hosts[project_id] = host_settings(self.project(project_id))
        return self._hosts[project_id]

    def tracker(self, project_id: str) -> tuple[Tracker, TrackerTarget]:
        """The project's tracker plugin and its settings; an error says how to add one."""
        project = self.project(project_id)
        if project.tracker is None:
            raise EngineError(
                f"project {project_id} has no tracker; add `tracker: local` (tasks in "
                "TASKS.md in the repository) or `tracker: github` to its config"
            )
        name = project.tracker.plugin
        host = self._host(project_id) if name == "github" else None
        tracker: Tracker = self.registry.get("tracker", name)
        target = TrackerTarget(project_id, project.path, project.tracker.path, host)
        return tracker, target

    def project(self, project_id: str) -> ProjectConfig:
        """A project's config by id, or an error listing the known ids."""
        try:
            return self.config.projects[project_id]
        except KeyError:
            known = ", ".join(sorted(self.config.projects)) or "none"
            raise EngineError(f"unknown project {project_id!r} (known: {known})") from None

    def context(self, session: Session) -> AgentContext:
        """What an agent plugin needs to know about ``session``."""
        project = self.config.projects.get(session.project)
        cfg = project.agent_config if project else None
        return AgentContext(
            session_id=session.id,
            agent_session_id=session.agent_session_id,
            worktree=Path(session.worktree),
            state_dir=self.locations.session_dir(session.id),
            prompt=session.prompt,
            settings=AgentSettings(
                command=cfg.command if cfg else None,
                permissions=cfg.permissions if cfg else None,
                model=cfg.model if cfg else None,
                allow=cfg.allow if cfg else (),
            ),
            env=dict(project.env) if project else {},
            extra=session.extra,
            started_at=float(session.extra.get("started_at", session.created_at)),
            role=session.role.value,
        )
