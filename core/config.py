"""Typed configuration: ``ao.config.yaml`` (and AO's ``agent-orchestrator.yaml``).

The file is read with :mod:`core.yaml_marks`, so every problem is reported as one line
``FILE:LINE:COL: FIELD: MESSAGE`` pointing at the key or value to change, and all
problems of a file are reported at once. Loading happens in three passes:

1. shape: keys are checked against the models (unknown keys are errors in
   ``ao.config.yaml``; in ``agent-orchestrator.yaml`` the keys ao-tui does not support yet
   are dropped with a warning, so an AO user can switch without rewriting the file);
2. values: ``${VAR}`` / ``${VAR:-default}`` are expanded in every string, and scalars YAML
   read as numbers or booleans go back to the text written (``1.10`` stays ``"1.10"``);
3. pydantic validation with the caller's known agents, then cross-project checks.

Validation that touches the outside world (agent names, paths on disk) only runs while
loading a file; models built directly in Python skip it.
"""

from __future__ import annotations

import ast
import difflib
import errno
import functools
import inspect
import itertools
import os
import re
import stat
import textwrap
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

from core.errors import ConfigError, ConfigProblem
from core.yaml_marks import Mark, MarkedDocument, YamlError, YamlPath, load_marked

__all__ = [
    "AO_CONFIG_FILENAMES",
    "CONFIG_ENV_VAR",
    "CONFIG_FILENAMES",
    "MINIMAL_CONFIG",
    "PERMISSION_MODES",
    "AgentConfig",
    "CiConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Defaults",
    "LoadedConfig",
    "MergeConfig",
    "PermissionMode",
    "ProjectConfig",
    "config_schema",
    "default_session_prefix",
    "find_config",
    "load_config",
    "load_config_text",
    "resolve_project",
]

CONFIG_FILENAMES = ("ao.config.yaml", "ao.config.yml")
"""ao-tui's own config file names, looked for in this order."""
AO_CONFIG_FILENAMES = ("agent-orchestrator.yaml", "agent-orchestrator.yml")
"""Agent Orchestrator's config file names, read in compatibility mode."""
CONFIG_ENV_VAR = "AO_TUI_CONFIG"
"""Environment variable naming the config file when ``--config`` is not given."""
MINIMAL_CONFIG = "projects: {app: {path: ~/code/app}}"
"""The smallest valid config, quoted in errors about empty or shapeless files."""

PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "plan",
    "bypassPermissions",
)
"""Claude Code's ``--permission-mode`` values, which every agent plugin maps to its own."""

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
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<close>\}?)")
_CONTEXT_KEY = "ao_tui_load"
_GITHUB_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")

# Keys of agent-orchestrator.yaml that ao-tui knows but does not act on (yet). In AO mode
# they are dropped with a "not supported yet" warning; any other unknown key gets a
# "did you mean" warning instead, since AO itself silently ignores unknown keys.
_AO_TOP_KEYS = frozenset(
    {
        "dataDir",
        "worktreeDir",
        "port",
        "terminalPort",
        "directTerminalPort",
        "readyThresholdMs",
        "reactions",
        "notifiers",
        "notificationRouting",
        "plugins",
    }
)
_AO_DEFAULTS_KEYS = frozenset({"notifiers", "orchestrator", "worker"})
_AO_PROJECT_KEYS = frozenset(
    {
        "name",
        "runtime",
        "workspace",
        "symlinks",
        "postCreate",
        "agentRules",
        "agentRulesFile",
        "orchestratorRules",
        "orchestratorModel",
        "orchestratorAgentConfig",
        "orchestratorSessionStrategy",
        "opencodeIssueSessionStrategy",
        "orchestrator",
        "worker",
        "reactions",
        "automation",
        "decomposer",
    }
)
_AO_AGENT_CONFIG_KEYS = frozenset({"orchestratorModel", "opencodeSessionId"})


@dataclass(frozen=True)
class _LoadContext:
    """What validators need from the loader; absent when models are built in Python."""

    known_agents: frozenset[str]
    base_dir: Path
    environ: Mapping[str, str]
    known_keys: frozenset[str] | None = None
    """The cockpit's binding ids (None: not checked, the cockpit is not in this process)."""


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


ProjectId = Annotated[str, AfterValidator(_check_project_id)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
EnvValue = Annotated[str, AfterValidator(_check_env_value)]
BindingId = Annotated[str, AfterValidator(_check_binding_id)]
BindingKeys = Annotated[str, AfterValidator(_check_binding_keys)]


class _Model(BaseModel):
    """Shared settings: camelCase keys in YAML, snake_case attributes, no unknown keys."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=True,
        # The attribute docstrings describe the fields in the JSON Schema; pydantic reading
        # them at import costs every headless verb ~15 ms, so config_schema() reads them.
    )


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


class Defaults(_Model):
    """Plugins used by every project that does not choose its own."""

    agent: str = "claude-code"
    """Agent plugin for projects that set no ``agent``."""
    runtime: str = "tmux"
    """Runtime plugin: where agent processes live."""
    workspace: str = "worktree"
    """Workspace plugin: where each session's files live."""

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
        absolute = (context.base_dir / expanded).resolve()
        shown = repr(value) if str(absolute) == value else f"{value!r} ({absolute})"
        if not absolute.exists():
            raise PydanticCustomError(
                "path_missing",
                "{path} does not exist; clone or create the repository there, or fix the path",
                {"path": shown},
            )
        if not absolute.is_dir():
            raise PydanticCustomError("path_not_dir", "{path} is not a directory", {"path": shown})
        if not any((candidate / ".git").exists() for candidate in (absolute, *absolute.parents)):
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


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, where it came from, and what was ignored on the way."""

    config: Config
    path: Path
    warnings: list[str]


def _expand_home(value: str, environ: Mapping[str, str]) -> Path:
    if value == "~" or value.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        return Path(home + value[1:])
    return Path(value).expanduser()


def _dotted(path: YamlPath) -> str:
    # A key may hold any character YAML can escape (a NUL, an ESC): shown escaped, so an
    # error line can neither be cut short nor drive the terminal.
    text = ".".join(str(part) for part in path)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    return f"{type(value).__name__} {value!r}"


def _suggestion(key: str, allowed: Collection[str]) -> str:
    camel = to_camel(key)
    if camel != key and camel in allowed:
        return camel
    folded = {name.lower(): name for name in allowed}
    if key.lower() in folded:
        return folded[key.lower()]
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return close[0] if close else ""


_AO_KEYS: dict[type[_Model], frozenset[str]] = {
    Config: _AO_TOP_KEYS,
    Defaults: _AO_DEFAULTS_KEYS,
    ProjectConfig: _AO_PROJECT_KEYS,
    AgentConfig: _AO_AGENT_CONFIG_KEYS,
}
"""Per model, the agent-orchestrator.yaml keys it does not support (yet)."""


@dataclass(frozen=True)
class _SectionType:
    """A field that holds settings of its own: one model, or a mapping of entries."""

    model: type[_Model] | None
    """The model of the section, or of each entry of a mapping; None: entries are text."""
    mapping: bool
    """A mapping of entries (``projects``, ``env``) rather than one model."""
    optional: bool
    """None is a value of its own ("not set"), so an empty section stays None."""


def _section_of(annotation: Any) -> _SectionType | None:
    """What a field's type says about the YAML under its key (None: a plain value)."""
    args = typing.get_args(annotation)
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    optional = union and type(None) in args
    if optional:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) != 1:
            return None
        annotation = rest[0]
    if isinstance(annotation, type) and issubclass(annotation, _Model):
        return _SectionType(annotation, mapping=False, optional=optional)
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        model = value if isinstance(value, type) and issubclass(value, _Model) else None
        return _SectionType(model, mapping=True, optional=optional)
    return None


def _aliases(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(info.alias or name for name, info in model.model_fields.items())


class _Preparer:
    """Passes 1 and 2: key checks and value expansion on the raw YAML data."""

    def __init__(
        self,
        document: MarkedDocument,
        filename: str,
        environ: Mapping[str, str],
        ao_compat: bool,
    ) -> None:
        self.document = document
        self.filename = filename
        self.environ = environ
        self.ao_compat = ao_compat
        self.problems: list[ConfigProblem] = []
        self.warnings: list[tuple[Mark, str]] = []
        # Paths already reported: pydantic errors under them would only repeat the news.
        self.poisoned: list[YamlPath] = []

    def problem(self, mark: Mark, path: YamlPath, message: str) -> None:
        """Record an error at ``mark`` about the setting at ``path``."""
        self.problems.append(
            ConfigProblem(self.filename, mark.line, mark.column, _dotted(path), message)
        )
        self.poisoned.append(path)

    def warn(self, mark: Mark, message: str) -> None:
        """Record a warning (something ignored) at ``mark``."""
        self.warnings.append((mark, f"{self.filename}:{mark.line}:{mark.column}: {message}"))

    def prepare(self, root: dict[str, Any]) -> dict[str, Any]:
        """The data pydantic should validate: checked keys, expanded values."""
        shaped = self._section(root, (), Config)
        expanded = self._values(shaped, ())
        if self.ao_compat:
            self._fold_ao_session_prefixes(expanded)
        return expanded  # type: ignore[no-any-return]

    def _keys(
        self,
        mapping: dict[str, Any],
        path: YamlPath,
        model: type[BaseModel],
        ao_keys: frozenset[str],
    ) -> dict[str, Any]:
        allowed = _aliases(model)
        kept: dict[str, Any] = {}
        for key, value in mapping.items():
            if key in allowed:
                kept[key] = value
                continue
            mark = self.document.key_mark((*path, key))
            close = _suggestion(key, allowed)
            hint = f"; did you mean {close!r}?" if close else ""
            if self.ao_compat:
                if key in ao_keys:
                    self.warn(mark, f"key {key!r} is not supported yet and is ignored")
                else:
                    self.warn(mark, f"unknown key {key!r} is ignored{hint}")
                continue
            if key in ao_keys:
                hint = "; it is an agent-orchestrator.yaml key that ao-tui does not support yet"
            self.problem(
                mark,
                (*path, key),
                f"unknown key {key!r}{hint} (allowed: {', '.join(sorted(allowed))})",
            )
        return kept

    def _section(self, mapping: dict[str, Any], path: YamlPath, model: type[_Model]) -> Any:
        """``mapping`` with its keys checked against ``model``, then every section under it
        checked the same way: which keys hold sections comes from the model's fields, so a
        field added to a model needs no edit here."""
        kept = self._keys(mapping, path, model, _AO_KEYS.get(model, frozenset()))
        for name, info in model.model_fields.items():
            key = info.alias or name
            section = _section_of(info.annotation)
            if section is None or key not in kept:
                continue
            if kept[key] is None and not section.optional:
                # An empty section (`defaults:` with nothing under it) reads as null; it
                # means "empty" (a section that may be None keeps None: "not set").
                kept[key] = {}
            value = kept[key]
            if section.model is None or not isinstance(value, dict):
                continue
            if section.mapping:
                kept[key] = {
                    entry: self._entry(item, (*path, key, entry), section.model)
                    for entry, item in value.items()
                }
            else:
                kept[key] = self._section(value, (*path, key), section.model)
        return kept

    def _entry(self, item: Any, path: YamlPath, model: type[_Model]) -> Any:
        """One entry of a mapping of sections (a project): empty means empty."""
        if item is None:
            item = {}
        if not isinstance(item, dict):
            return item
        if self.ao_compat and model is ProjectConfig:
            item = self._from_ao_hosts(item, path)
        return self._section(item, path, model)

    def _from_ao_hosts(self, project: dict[str, Any], path: YamlPath) -> dict[str, Any]:
        """AO's ``scm: {plugin: github}``, ``repo: owner/name`` and ``tracker`` in our shape."""
        project = dict(project)
        scm = project.get("scm")
        if isinstance(scm, dict) and isinstance(scm.get("plugin"), str):
            project["scm"] = scm["plugin"]
        repo = project.pop("repo", None)
        if isinstance(repo, str) and "github" not in project:
            project["github"] = {"repo": repo}
        tracker = project.get("tracker")
        plugin = tracker.get("plugin") if isinstance(tracker, dict) else tracker
        if isinstance(plugin, str) and plugin not in ("local", "github"):
            del project["tracker"]
            self.warn(
                self.document.key_mark((*path, "tracker")),
                f"tracker plugin {plugin!r} is not supported yet and is ignored",
            )
        elif isinstance(tracker, dict):
            project["tracker"] = {k: v for k, v in tracker.items() if k in ("plugin", "path")}
        return project

    def _values(self, value: Any, path: YamlPath) -> Any:
        if isinstance(value, dict):
            return {key: self._values(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self._values(item, (*path, index)) for index, item in enumerate(value)]
        marks = self.document.marks.get(path)
        if marks is not None and marks.source_text is not None:
            # Every setting is text; `1.10` or `yes` must not become 1.1 or True on the way.
            return marks.source_text
        if isinstance(value, str):
            if "\x00" in value:
                self.problem(
                    self.document.value_mark(path),
                    path,
                    "contains a NUL character (\\0), which no setting can hold; remove it",
                )
                return value
            return self._expand(value, path)
        return value

    def _expand(self, text: str, path: YamlPath) -> str:
        """Replace ``${VAR}`` and ``${VAR:-default}``; ``$${`` is a literal ``${``."""
        pieces: list[str] = []
        position = 0
        for match in _REFERENCE.finditer(text):
            pieces.append(text[position : match.start()])
            position = match.end()
            if match.group(0) == "$${":
                pieces.append("${")
                continue
            body = match.group("body")
            name, has_default, default = body.partition(":-")
            if not match.group("close") or not _VARIABLE.fullmatch(name):
                shown = match.group(0)
                self.problem(
                    self.document.value_mark(path),
                    path,
                    f"malformed variable reference {shown!r}; write ${{NAME}} or "
                    "${NAME:-default} (or $${ for a literal ${)",
                )
                return text
            found = self.environ.get(name)
            if has_default and not found:
                pieces.append(default)
            elif found is not None:
                pieces.append(found)
            else:
                self.problem(
                    self.document.value_mark(path),
                    path,
                    f"environment variable {name!r} is not set; export it or write "
                    f"${{{name}:-default}}",
                )
                return text
        pieces.append(text[position:])
        return "".join(pieces)

    def _fold_ao_session_prefixes(self, root: dict[str, Any]) -> None:
        # AO allows [a-zA-Z0-9_-]+ prefixes; ours end up in tmux and branch names, so they are
        # stricter. Fold AO's rather than make the user edit a file AO still reads.
        projects = root.get("projects")
        if not isinstance(projects, dict):
            return
        for project_id, project in projects.items():
            if not isinstance(project, dict):
                continue
            prefix = project.get("sessionPrefix")
            if not isinstance(prefix, str) or not prefix or _SESSION_PREFIX.fullmatch(prefix):
                continue
            folded = default_session_prefix(prefix)
            project["sessionPrefix"] = folded
            mark = self.document.value_mark(("projects", project_id, "sessionPrefix"))
            self.warn(mark, f"sessionPrefix {prefix!r} is used as {folded!r} (a-z, 0-9, '-')")


def _validation_problems(
    error: ValidationError, document: MarkedDocument, filename: str, poisoned: list[YamlPath]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for detail in error.errors(include_url=False):
        loc: YamlPath = tuple(detail["loc"])
        on_key = bool(loc) and loc[-1] == "[key]"
        path = loc[:-1] if on_key else loc
        if any(path[: len(done)] == done for done in poisoned):
            continue
        kind = detail["type"]
        if kind == "missing":
            mark = document.key_mark(path[:-1]) if path[:-1] else document.value_mark(())
        elif on_key or kind == "extra_forbidden":
            mark = document.key_mark(path)
        else:
            mark = document.value_mark(path)
        problems.append(
            ConfigProblem(filename, mark.line, mark.column, _dotted(path), _message(detail, path))
        )
    return problems


def _message(detail: ErrorDetails, path: YamlPath) -> str:
    kind = detail["type"]
    given = detail.get("input")
    name = str(path[-1]) if path else ""
    if kind == "missing":
        hint = ""
        if name == "projects":
            hint = f"; a minimal config is `{MINIMAL_CONFIG}`"
        elif name == "path":
            hint = "; add `path:` with the repository's directory"
        return f"required key {name!r} is missing{hint}"
    if kind == "extra_forbidden":
        return f"unknown key {name!r}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"expected a mapping, got {_describe(given)}"
    if kind in {"string_type", "path_type"}:
        if given is None and len(path) >= 2 and path[-2] == "env":
            return "no value given; write '' for an empty string"
        return f"expected a string, got {_describe(given)}"
    if kind == "literal_error":
        return f"{detail['msg']}, got {_describe(given)}"
    return " ".join(detail["msg"].removeprefix("Value error, ").split())


def _prefix_collisions(
    config: Config, document: MarkedDocument, filename: str
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    owners: dict[str, str] = {}
    for project_id, project in config.projects.items():
        owner = owners.setdefault(project.session_prefix, project_id)
        if owner == project_id:
            continue
        written = ("projects", project_id, "sessionPrefix")
        if written in document.marks:
            mark = document.value_mark(written)
        else:
            mark = document.key_mark(("projects", project_id))
        problems.append(
            ConfigProblem(
                filename,
                mark.line,
                mark.column,
                _dotted(written),
                f"session prefix {project.session_prefix!r} is also used by project {owner!r}; "
                "session ids would collide, so give one of them its own sessionPrefix",
            )
        )
    return problems


def _tracker_escapes(
    config: Config, document: MarkedDocument, filename: str
) -> list[ConfigProblem]:
    """A local tracker file that resolves outside its repository (through a symlink)."""
    problems: list[ConfigProblem] = []
    for project_id, project in config.projects.items():
        tracker = project.tracker
        if tracker is None or tracker.plugin != "local":
            continue
        repo = project.path.resolve()
        target = (repo / tracker.path).resolve()
        if target.is_relative_to(repo):
            continue
        written = ("projects", project_id, "tracker", "path")
        mark = document.value_mark(written)
        problems.append(
            ConfigProblem(
                filename,
                mark.line,
                mark.column,
                _dotted(written),
                f"{tracker.path!r} resolves to {str(target)!r}, outside the repository "
                f"{str(repo)!r}; point it at a file inside the repository",
            )
        )
    return problems


def load_config_text(
    text: str,
    *,
    filename: str,
    base_dir: Path,
    known_agents: Collection[str],
    environ: Mapping[str, str] | None = None,
    ao_compat: bool = False,
    known_keys: Collection[str] | None = None,
) -> LoadedConfig:
    """Validate config ``text`` as if read from ``base_dir/filename``.

    ``filename`` is used as given in every message; relative project paths resolve against
    ``base_dir``. ``ao_compat`` reads AO's ``agent-orchestrator.yaml``: keys ao-tui does not
    support become warnings instead of errors. ``known_keys`` are the cockpit's binding
    ids, which ``cockpit.keys`` is checked against (None: not checked). Raises
    :class:`ConfigError` with every problem found.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    try:
        document = load_marked(text)
    except YamlError as error:
        raise ConfigError(
            [
                ConfigProblem(filename, p.line, p.column, _dotted(p.path), p.message)
                for p in error.problems
            ]
        ) from None
    if document is None or document.data is None:
        raise ConfigError.single(
            f"the file is empty; a minimal config is `{MINIMAL_CONFIG}`",
            file=filename,
            line=1,
            col=1,
        )
    if not isinstance(document.data, dict):
        mark = document.value_mark(())
        raise ConfigError.single(
            f"the top level must be a mapping with a `projects:` key, got "
            f"{_describe(document.data)}; a minimal config is `{MINIMAL_CONFIG}`",
            file=filename,
            line=mark.line,
            col=mark.column,
        )
    preparer = _Preparer(document, filename, env, ao_compat)
    data = preparer.prepare(document.data)
    problems = list(preparer.problems)
    context = _LoadContext(
        frozenset(known_agents),
        base_dir.absolute(),
        env,
        None if known_keys is None else frozenset(known_keys),
    )
    config: Config | None = None
    try:
        config = Config.model_validate(data, context={_CONTEXT_KEY: context})
    except ValidationError as error:
        problems.extend(_validation_problems(error, document, filename, preparer.poisoned))
    if config is not None:
        problems.extend(_prefix_collisions(config, document, filename))
        problems.extend(_tracker_escapes(config, document, filename))
    if problems or config is None:
        raise ConfigError(sorted(set(problems)))
    warnings = [message for _, message in sorted(preparer.warnings, key=lambda item: item[0])]
    return LoadedConfig(config, base_dir.absolute() / Path(filename).name, warnings)


def load_config(
    path: Path,
    *,
    known_agents: Collection[str],
    environ: Mapping[str, str] | None = None,
    known_keys: Collection[str] | None = None,
) -> LoadedConfig:
    """Read and validate the config file at ``path``.

    A file named ``agent-orchestrator.yaml``/``.yml`` is read in AO compatibility mode.
    Raises :class:`ConfigError` naming ``path`` as given.
    """
    filename = str(path)
    try:
        raw = _read_config_bytes(path)
    except FileNotFoundError:
        raise ConfigError.single("config file not found", file=filename) from None
    except OSError as error:
        raise ConfigError.single(f"cannot read: {error.strerror}", file=filename) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError.single(
            "the file is not valid UTF-8; save it as UTF-8", file=filename, line=line, col=column
        ) from None
    return load_config_text(
        text,
        filename=filename,
        base_dir=path.absolute().parent,
        known_agents=known_agents,
        environ=environ,
        ao_compat=path.name in AO_CONFIG_FILENAMES,
        known_keys=known_keys,
    )


MAX_CONFIG_BYTES = 1_000_000
"""A config is a few KB; anything this big is not one (and would be slow to check)."""


def _read_config_bytes(path: Path) -> bytes:
    """The file's bytes; refuses a FIFO or device (the read would block or never end)."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a directory, not a config file")
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO or a device?)")
        chunks = []
        size = 0
        while size <= MAX_CONFIG_BYTES:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_CONFIG_BYTES:
        raise OSError(errno.EFBIG, f"larger than {MAX_CONFIG_BYTES:,} bytes; not a config")
    return b"".join(chunks)


def _named_config(given: str, source: str, cwd: Path, environ: Mapping[str, str]) -> Path:
    candidate = cwd / _expand_home(given, environ)
    if candidate.is_dir():
        for name in CONFIG_FILENAMES + AO_CONFIG_FILENAMES:
            if (candidate / name).is_file():
                return candidate / name
        names = ", ".join(CONFIG_FILENAMES + AO_CONFIG_FILENAMES)
        raise ConfigError.single(
            f"no config file in this directory (given by {source}; looked for {names})",
            file=given,
        )
    if candidate.exists() and not candidate.is_file():
        raise ConfigError.single(
            f"not a regular file (given by {source}; a FIFO or a device?); give the config file",
            file=given,
        )
    if not candidate.is_file():
        raise ConfigError.single(f"config file not found (given by {source})", file=given)
    return candidate


def find_config(
    cwd: Path, explicit: str | None = None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Which config file to use, or None when there is none.

    Order: ``explicit`` (``--config``), then ``$AO_TUI_CONFIG``, then each directory from
    ``cwd`` up to the root, where ``ao.config.yaml``, ``ao.config.yml``,
    ``agent-orchestrator.yaml`` and ``agent-orchestrator.yml`` are tried in that order (the
    nearest directory wins). A file named explicitly or by the variable must exist, else
    :class:`ConfigError` names it; it may also be a directory holding one of those files.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    if explicit:
        return _named_config(explicit, "--config", cwd, env)
    from_env = env.get(CONFIG_ENV_VAR)
    if from_env:
        return _named_config(from_env, f"${CONFIG_ENV_VAR}", cwd, env)
    start = cwd.absolute()
    for directory in (start, *start.parents):
        for name in CONFIG_FILENAMES + AO_CONFIG_FILENAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def resolve_project(cfg: Config, name: str | None, cwd: Path) -> tuple[str, ProjectConfig]:
    """The project a command acts on, as ``(id, project)``.

    ``name`` (``--project``) wins; otherwise the project whose path holds ``cwd`` (the
    deepest one when paths nest), otherwise the only project. Raises :class:`ConfigError`
    listing the project ids when it cannot tell.
    """
    known = ", ".join(sorted(cfg.projects))
    if name is not None:
        if name not in cfg.projects:
            raise ConfigError.single(f"unknown project {name!r} (known: {known})")
        return name, cfg.projects[name]
    here = cwd.resolve()
    holders = [
        (len(project.path.resolve().parts), project_id)
        for project_id, project in cfg.projects.items()
        if here.is_relative_to(project.path.resolve())
    ]
    if holders:
        project_id = max(holders)[1]
        return project_id, cfg.projects[project_id]
    if len(cfg.projects) == 1:
        project_id = next(iter(cfg.projects))
        return project_id, cfg.projects[project_id]
    raise ConfigError.single(
        f"several projects are configured and {str(here)!r} is in none of them; "
        f"pass --project with one of: {known}"
    )


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
    MergeConfig,
    Defaults,
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
