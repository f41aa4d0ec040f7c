"""The models of ``ao.config.yaml``: every section and setting, their checks, and the
JSON Schema they make.

Checks that touch the outside world (agent names, paths on disk) run only while a file
is loaded (:mod:`core.config` passes its context); models built in Python skip them."""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import itertools
import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core.allow_rules import MAX_RULE_LENGTH, MAX_RULES, list_problem, rule_problem
from core.config_backlog import BacklogConfig
from core.config_base import _Model
from core.config_files import expand_home as _expand_home
from core.config_inputs import PathFact, look_at
from core.config_notify import (
    Digest,
    NotificationRouting,
    NotificationsConfig,
    NotifierConfig,
    QuietHours,
)
from core.config_reactions import ReactionRule, ReactionsConfig
from core.config_report import ReportConfig

MINIMAL_CONFIG = "projects: {app: {path: ~/code/app}}"
"""The smallest valid config, quoted in errors about empty or shapeless files."""


PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "plan",
    "bypassPermissions",
)
"""The permission modes a project may ask for, which every agent plugin maps to its own."""

# AO spells permission modes its own way; "skip" is its documented alias of permissionless.
_AO_PERMISSION_ALIASES: dict[str, PermissionMode] = {
    "skip": "bypassPermissions",
    "permissionless": "bypassPermissions",
    "auto-edit": "acceptEdits",
    "suggest": "default",
}

_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]+")
_SESSION_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


_CONTEXT_KEY = "ao_tui_load"
_GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class _LoadContext:
    """What validators need from the loader; absent when models are built in Python.

    A check reads the environment through ``environ`` and the disk through :meth:`look`,
    so that a snapshot of the result knows what it depends on (:mod:`core.config_inputs`).
    """

    known_agents: frozenset[str]
    base_dir: Path
    environ: Mapping[str, str]
    known_keys: frozenset[str] | None = None
    """The cockpit's binding ids (None: not checked, the cockpit is not in this process)."""
    looks: list[PathFact] = field(default_factory=list)
    """Every look at the disk the checks made, in order."""

    def look(self, path: Path) -> PathFact:
        """What is at ``path`` now (resolved), remembered for the snapshot."""
        fact = look_at(path)
        self.looks.append(fact)
        return fact


def _load_context(info: ValidationInfo) -> _LoadContext | None:
    context = info.context
    if isinstance(context, dict):
        found = context.get(_CONTEXT_KEY)
        if isinstance(found, _LoadContext):
            return found
    return None


def _require_known_agent(agent: str, info: ValidationInfo) -> str:
    context = _load_context(info)
    if context is None or agent in context.known_agents:
        return agent
    known = ", ".join(sorted(context.known_agents)) or "none are installed"
    raise PydanticCustomError(
        "unknown_agent",
        "unknown agent {agent} (known: {known})",
        {"agent": repr(agent), "known": known},
    )


def default_session_prefix(project_id: str) -> str:
    """The session prefix a project gets when it sets none: its id folded to ``[a-z0-9-]``."""
    folded = re.sub(r"[^a-z0-9]+", "-", project_id.lower()).strip("-")
    return folded[:20].rstrip("-") or "ao"


def _check_project_id(project_id: str) -> str:
    if not _PROJECT_ID.fullmatch(project_id):
        raise PydanticCustomError(
            "project_id",
            "project id {id} may only contain letters, digits, '_' and '-'",
            {"id": repr(project_id)},
        )
    return project_id


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise PydanticCustomError(
            "env_name",
            "{name} is not a valid environment variable name "
            "(letters, digits and '_', not starting with a digit)",
            {"name": repr(name)},
        )
    return name


def _check_env_value(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError(
            "env_nul",
            "the value contains a NUL character, which no environment variable can hold; remove it",
        )
    return value


def _check_binding_id(binding: str, info: ValidationInfo) -> str:
    context = _load_context(info)
    if context is None or context.known_keys is None or binding in context.known_keys:
        return binding
    close = difflib.get_close_matches(binding, sorted(context.known_keys), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise PydanticCustomError(
        "binding_id",
        "unknown key binding id {binding}; {hint}known: {known}",
        {"binding": repr(binding), "hint": hint, "known": ", ".join(sorted(context.known_keys))},
    )


def _check_binding_keys(keys: str) -> str:
    if not keys.strip() or not all(part.strip() for part in keys.split(",")):
        raise PydanticCustomError(
            "binding_keys", "no key given; write one or more keys, e.g. 'K' or 'j,down'"
        )
    return keys


def _check_allow_rule(rule: str) -> str:
    problem = rule_problem(rule)
    if problem:
        raise PydanticCustomError("allow_rule", "{problem}", {"problem": problem})
    return rule


ProjectId = Annotated[str, AfterValidator(_check_project_id)]
AllowRule = Annotated[str, AfterValidator(_check_allow_rule)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
EnvValue = Annotated[str, AfterValidator(_check_env_value)]
BindingId = Annotated[str, AfterValidator(_check_binding_id)]
BindingKeys = Annotated[str, AfterValidator(_check_binding_keys)]


class AgentConfig(_Model):
    """How a project's agent is started."""

    command: str | None = None
    """The agent binary to run instead of the default one; for the ``shell`` agent, the
    command line to run (split like a shell would, but never run through a shell)."""
    permissions: PermissionMode = "default"
    """Permission mode: default, acceptEdits, plan or bypassPermissions (AO's ``skip`` is
    accepted as bypassPermissions)."""
    model: str | None = None
    """Model name passed to the agent (e.g. ``sonnet``); None keeps the agent's default."""
    allow: tuple[AllowRule, ...] = Field(
        default=(),
        json_schema_extra={
            "maxItems": MAX_RULES,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_RULE_LENGTH},
        },
    )
    """Tools the agent may use without asking, each a tool name with an optional specifier
    (``Bash(pytest:*)``, ``Edit``); the agent plugin writes them into the agent's own
    permission settings. Everything else still asks. An agent that cannot take them
    refuses to start rather than ignore them."""

    @field_validator("allow", mode="before")
    @classmethod
    def _allow_list(cls, value: Any) -> Any:
        if value is None:
            return ()  # `allow:` with nothing under it: no rules
        problem = list_problem(value)
        if problem:
            raise PydanticCustomError("allow_list", "{problem}", {"problem": problem})
        return value

    @field_validator("permissions", mode="before")
    @classmethod
    def _permission_mode(cls, value: Any) -> Any:
        if not isinstance(value, str) or value in PERMISSION_MODES:
            return value
        if value in _AO_PERMISSION_ALIASES:
            return _AO_PERMISSION_ALIASES[value]
        raise PydanticCustomError(
            "permission_mode",
            "unknown permission mode {mode} (allowed: {allowed}; AO's 'skip' means "
            "bypassPermissions)",
            {"mode": repr(value), "allowed": ", ".join(PERMISSION_MODES)},
        )


class CiConfig(_Model):
    """A project's CI: one command run in the session worktree at each new head commit."""

    command: str
    """A shell line, as in a CI system's ``run:`` step: run with ``sh -c`` in the session
    worktree (``PYTHONPATH=src python -m pytest``, ``&&`` and pipes work), with the
    project's ``env:``; exit status 0 means passing."""
    timeout: int = Field(default=600, gt=0)
    """Seconds before a run is killed and reported as failed."""

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        # Whether the shell can parse it is asked of sh itself, by `config check` and
        # `doctor` (core.ci_command): a Python guess at shell syntax would refuse valid lines.
        if not value.strip():
            raise PydanticCustomError(
                "ci_command", "the CI command is empty; give the line that runs the tests"
            )
        return value


class GitHubConfig(_Model):
    """Where a project's PRs and issues live on GitHub (``scm: github`` / ``tracker: github``)."""

    repo: str | None = Field(
        default=None, json_schema_extra={"pattern": r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"}
    )
    """``owner/name``; None reads it from the repository's ``origin`` remote."""
    api_url: str = "https://api.github.com"
    """REST API root (GitHub Enterprise: ``https://HOST/api/v3``)."""
    poll_interval: float = Field(default=15.0, ge=2.0)
    """Seconds between change checks of the repository; an unchanged one costs no rate
    limit (a conditional request answered 304)."""

    @field_validator("repo")
    @classmethod
    def _owner_and_name(cls, value: str | None) -> str | None:
        if value is not None and not _GITHUB_REPO.fullmatch(value):
            raise PydanticCustomError(
                "github_repo",
                "repo {repo} is not owner/name (e.g. octo-org/widgets)",
                {"repo": repr(value)},
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _http_root(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise PydanticCustomError(
                "api_url",
                "apiUrl {url} must start with https:// (or http:// for a local stand-in)",
                {"url": repr(value)},
            )
        return value.rstrip("/")


class TrackerConfig(_Model):
    """Where tasks come from for ``spawn --issue``."""

    plugin: Literal["local", "github"] = "local"
    """``local``: a YAML or Markdown file in the repository; ``github``: the repository's
    GitHub issues."""
    path: str = "TASKS.md"
    """For ``local``: the task file, relative to the repository root (``.md``, ``.yaml`` or
    ``.yml``)."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `tracker: github` is short for `tracker: {plugin: github}`.
        return {"plugin": value} if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _inside_the_repository(cls, value: str) -> str:
        # The task text becomes an agent's prompt: it must come from the repository, never
        # from wherever a path could point (~/.ssh, another checkout).
        if PurePosixPath(value).is_absolute() or ".." in PurePosixPath(value).parts:
            raise PydanticCustomError(
                "tracker_path",
                "path {path} leaves the repository; give a path relative to the repository "
                "root, without '..' (e.g. TASKS.md or docs/tasks.yaml)",
                {"path": repr(value)},
            )
        return value


class MergeConfig(_Model):
    """How a session branch lands on the base branch."""

    method: Literal["merge", "squash", "rebase"] = "merge"
    """merge (a merge commit), squash (one commit) or rebase (the branch's commits replayed
    on the base)."""
    require_approval: bool = True
    """False: a green head needs no approval to be mergeable (the local SCM; on GitHub the
    repository's branch protection decides). A stale approval or requested changes still
    block. With ``reactions: {approved-and-green: {auto: true, action: auto-merge}}`` this
    lets a session merge itself once its CI is green."""
    agent_approval_counts: bool = False
    """True: a reviewer agent's ``ao-tui review approve`` counts as the approval
    ``requireApproval`` asks for (on GitHub it is posted as an APPROVE review, not a
    COMMENT). False (the default): only a person's approval does."""


class Defaults(_Model):
    """Plugins used by every project that does not choose its own."""

    agent: str = "claude-code"
    """Agent plugin for projects that set no ``agent``."""
    runtime: str = "tmux"
    """Runtime plugin: where agent processes live."""
    workspace: str = "worktree"
    """Workspace plugin: where each session's files live."""
    notifiers: list[str] = Field(default_factory=list)
    """Notifiers for every priority that ``notificationRouting`` does not route (AO's key)."""
    max_concurrent_sessions: int | None = Field(default=None, ge=1)
    """Most sessions holding a slot at once in each project that sets no cap of its own;
    None means no cap."""

    @field_validator("agent")
    @classmethod
    def _known_agent(cls, value: str, info: ValidationInfo) -> str:
        return _require_known_agent(value, info)


class ProjectConfig(_Model):
    """One repository that sessions are spawned in."""

    path: Path
    """The repository (its work tree root or a directory inside it). ``~`` and ``${VAR}``
    are expanded; a relative path is relative to the config file's directory."""
    default_branch: str | None = None
    """Branch that session branches fork from and merge into; None means detect it."""
    session_prefix: str = Field(
        default="", json_schema_extra={"pattern": r"^([a-z0-9][a-z0-9-]{0,19})?$"}
    )
    """Prefix of session ids (``<prefix>-<n>``): 1-20 of a-z, 0-9 and '-'. Empty means
    derived from the project id."""
    agent: str | None = None
    """Agent plugin for this project; None uses ``defaults.agent``."""
    agent_config: AgentConfig = Field(default_factory=AgentConfig)
    """How the agent is started."""
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}},
    )
    """Extra environment variables for the agent process (numbers and booleans are kept as
    written, as text)."""
    scm: Literal["auto", "local", "github"] = "auto"
    """Where PRs, CI and reviews live: ``local`` (the session branch against the base, CI
    run on this machine, review by the operator), ``github`` (pull requests, checks and
    reviews on GitHub), or ``auto``: github when the ``origin`` remote is on github.com or
    a ``github`` block is given, else local."""
    github: GitHubConfig | None = None
    """GitHub settings for ``scm: github`` and ``tracker: github``."""
    tracker: TrackerConfig | None = None
    """Where ``spawn --issue`` reads tasks from; None means none configured."""
    ci: CiConfig | None = None
    """The CI command run at each new head of a session branch; None means no CI."""
    merge: MergeConfig = Field(default_factory=MergeConfig)
    """How ``merge`` lands a session branch on the base branch."""
    reactions: ReactionsConfig | None = None
    """This project's reactions, overriding the top level's setting by setting."""
    max_concurrent_sessions: int | None = Field(default=None, ge=1)
    """Most sessions holding a slot at once (every one not killed, merged or done);
    ``spawn`` refuses one more with exit 4. None uses ``defaults.maxConcurrentSessions``."""
    backlog: BacklogConfig | None = None
    """Tracker issues the lease holder picks up on its own (``{label: ao-ready}``)."""
    orchestrator_rules: str | None = None
    """The operator's own rules for the project's orchestrator session, added to its
    standing instructions (AO's ``orchestratorRules``)."""

    def agent_name(self, defaults: Defaults) -> str:
        """The agent plugin this project uses: its own, else the configured default."""
        return self.agent if self.agent is not None else defaults.agent

    @field_validator("path", mode="before")
    @classmethod
    def _repository_path(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Path):
            value = str(value)
        if not isinstance(value, str):
            return value  # pydantic reports the wrong type
        if not value.strip():
            raise PydanticCustomError(
                "path_empty", "path is empty; give the repository's directory"
            )
        context = _load_context(info)
        expanded = _expand_home(value, os.environ if context is None else context.environ)
        if context is None:
            return expanded
        found = context.look(context.base_dir / expanded)
        absolute = Path(found.resolved)
        shown = repr(value) if str(absolute) == value else f"{value!r} ({absolute})"
        if not found.exists:
            raise PydanticCustomError(
                "path_missing",
                "{path} does not exist; clone or create the repository there, or fix the path",
                {"path": shown},
            )
        if not found.is_dir:
            raise PydanticCustomError("path_not_dir", "{path} is not a directory", {"path": shown})
        candidates = (absolute, *absolute.parents)
        if not any(context.look(candidate / ".git").exists for candidate in candidates):
            raise PydanticCustomError(
                "path_not_git",
                "{path} is not inside a git repository; run `git init` there or point path "
                "at a clone",
                {"path": shown},
            )
        return absolute

    @field_validator("session_prefix")
    @classmethod
    def _session_prefix(cls, value: str) -> str:
        if value and not _SESSION_PREFIX.fullmatch(value):
            raise PydanticCustomError(
                "session_prefix",
                "sessionPrefix {prefix} must be 1-20 characters of a-z, 0-9 and '-', starting "
                "with a letter or digit (e.g. {example})",
                {"prefix": repr(value), "example": repr(default_session_prefix(value))},
            )
        return value

    @field_validator("agent")
    @classmethod
    def _known_agent(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _require_known_agent(value, info)


class CockpitConfig(_Model):
    """How the cockpit behaves for this operator."""

    keys: dict[BindingId, BindingKeys] = Field(default_factory=dict)
    """Key overrides by binding id, e.g. ``session.kill: K`` (``?`` in the cockpit lists ids)."""
    bell: bool = True
    """Ring the terminal bell and send an OSC 9 notification when a session needs you."""


class Config(_Model):
    """The whole ``ao.config.yaml``."""

    projects: dict[ProjectId, ProjectConfig] = Field(
        json_schema_extra={"propertyNames": {"pattern": r"^[A-Za-z0-9_-]+$"}, "minProperties": 1}
    )
    """Repositories by project id (letters, digits, '_' and '-')."""
    defaults: Defaults = Field(default_factory=Defaults)
    """Plugins for projects that choose none."""
    cockpit: CockpitConfig = Field(default_factory=CockpitConfig)
    """Key remapping and notifications of the cockpit."""
    reactions: ReactionsConfig = Field(default_factory=ReactionsConfig)
    """What ao-tui does on its own when a session needs something (see the README)."""
    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    """Channels that reach a person, by name: each a notifier plugin and its options."""
    notification_routing: NotificationRouting | None = None
    """Which notifiers each priority (urgent, action, warning, info) goes to."""
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    """Repeats collapsed, quiet hours and a digest."""
    report: ReportConfig = Field(default_factory=ReportConfig)
    """The morning report: token prices by model (``ao-tui report``)."""

    @model_validator(mode="before")
    @classmethod
    def _derive_session_prefixes(cls, data: Any) -> Any:
        # Done before validation because the models are frozen and a project does not
        # know its own id.
        if not isinstance(data, dict) or not isinstance(data.get("projects"), dict):
            return data
        projects: dict[Any, Any] = {}
        for project_id, project in data["projects"].items():
            if isinstance(project, dict) and not (
                project.get("sessionPrefix") or project.get("session_prefix")
            ):
                project = {k: v for k, v in project.items() if k != "session_prefix"}
                project["sessionPrefix"] = default_session_prefix(str(project_id))
            elif isinstance(project, ProjectConfig) and not project.session_prefix:
                project = project.model_copy(
                    update={"session_prefix": default_session_prefix(str(project_id))}
                )
            projects[project_id] = project
        return {**data, "projects": projects}

    @field_validator("projects")
    @classmethod
    def _some_projects(cls, value: dict[str, ProjectConfig]) -> dict[str, ProjectConfig]:
        if not value:
            raise PydanticCustomError(
                "no_projects",
                "no projects are defined; add one, e.g. `{example}`",
                {"example": MINIMAL_CONFIG},
            )
        return value


def config_schema() -> dict[str, Any]:
    """JSON Schema of ``ao.config.yaml`` (YAML key names), for editors and ``config schema``."""
    _describe_fields()
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "ao.config.yaml",
    }


_SCHEMA_MODELS: tuple[type[_Model], ...] = (
    AgentConfig,
    CiConfig,
    GitHubConfig,
    TrackerConfig,
    BacklogConfig,
    MergeConfig,
    Defaults,
    ReactionRule,
    ReactionsConfig,
    NotifierConfig,
    NotificationRouting,
    QuietHours,
    Digest,
    NotificationsConfig,
    ProjectConfig,
    CockpitConfig,
    Config,
)
"""Every config model, each after the models it contains (a rebuild embeds their schemas)."""


@functools.cache
def _describe_fields() -> None:
    """Give each model field its attribute docstring (the string under it) as description.

    What pydantic's ``use_attribute_docstrings`` does at import, done only when a schema is
    asked for. Descriptions play no part in validation, so setting them later is safe.
    """
    for model in _SCHEMA_MODELS:
        tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
        body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
        for stmt, after in itertools.pairwise(body):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                field = model.model_fields.get(stmt.target.id)
                if field is not None and field.description is None:
                    field.description = inspect.cleandoc(after.value.value)
        model.model_rebuild(force=True)
