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
loading a file; models built directly in Python skip it. The models live in
:mod:`core.config_models`, passes 1 and 2 in :mod:`core.config_keys`; this module loads.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.config_files import (
    AO_CONFIG_FILENAMES,
    CONFIG_ENV_VAR,
    CONFIG_FILENAMES,
    MAX_CONFIG_BYTES,
    find_config,
    read_config_bytes,
)
from core.config_inputs import PathFact
from core.config_keys import _describe, _dotted, _Preparer
from core.config_models import (
    _CONTEXT_KEY,
    MINIMAL_CONFIG,
    PERMISSION_MODES,
    AgentConfig,
    CiConfig,
    Config,
    Defaults,
    GitHubConfig,
    MergeConfig,
    PermissionMode,
    ProjectConfig,
    TrackerConfig,
    _LoadContext,
    config_schema,
    default_session_prefix,
)
from core.config_notify import unknown_routes
from core.errors import ConfigError, ConfigProblem
from core.yaml_marks import Mark, MarkedDocument, YamlError, YamlPath, load_marked

__all__ = [
    "AO_CONFIG_FILENAMES",
    "CONFIG_ENV_VAR",
    "CONFIG_FILENAMES",
    "MAX_CONFIG_BYTES",
    "MINIMAL_CONFIG",
    "PERMISSION_MODES",
    "AgentConfig",
    "CiConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Defaults",
    "GitHubConfig",
    "LoadedConfig",
    "MergeConfig",
    "PermissionMode",
    "ProjectConfig",
    "TrackerConfig",
    "config_schema",
    "default_session_prefix",
    "find_config",
    "load_config",
    "load_config_bytes",
    "load_config_text",
    "resolve_project",
]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, where it came from, and what was ignored on the way."""

    config: Config
    path: Path
    warnings: list[str]
    looks: list[PathFact] = field(default_factory=list)
    """What the checks found on disk (:mod:`core.config_inputs`), in order."""


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
    config: Config, document: MarkedDocument, filename: str, context: _LoadContext
) -> list[ConfigProblem]:
    """A local tracker file that resolves outside its repository (through a symlink)."""
    problems: list[ConfigProblem] = []
    for project_id, project in config.projects.items():
        tracker = project.tracker
        if tracker is None or tracker.plugin != "local":
            continue
        repo = Path(context.look(project.path).resolved)
        target = Path(context.look(repo / tracker.path).resolved)
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


def _unknown_notifiers(
    config: Config, document: MarkedDocument, filename: str
) -> list[ConfigProblem]:
    """A routing entry (``notificationRouting``, ``defaults.notifiers``) naming a notifier
    that is neither defined under ``notifiers:`` nor built in."""
    problems: list[ConfigProblem] = []
    for path, message in unknown_routes(config):
        written = path
        if path[0] == "notificationRouting" and ("notificationRouting",) not in document.marks:
            written = ("notification_routing", *path[1:])
        mark = document.value_mark(written)
        problems.append(ConfigProblem(filename, mark.line, mark.column, _dotted(path), message))
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
        problems.extend(_tracker_escapes(config, document, filename, context))
        routed = _unknown_notifiers(config, document, filename)
        if ao_compat:  # AO skips a name it cannot resolve; its configs load unchanged
            for found in routed:
                mark = Mark(found.line, found.col)
                preparer.warn(mark, f"{found.field}: {found.message}; it is skipped")
        else:
            problems.extend(routed)
    if problems or config is None:
        raise ConfigError(sorted(set(problems)))
    warnings = [message for _, message in sorted(preparer.warnings, key=lambda item: item[0])]
    path = base_dir.absolute() / Path(filename).name
    return LoadedConfig(config, path, warnings, context.looks)


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
    try:
        raw = read_config_bytes(path)
    except FileNotFoundError:
        raise ConfigError.single("config file not found", file=str(path)) from None
    except OSError as error:
        raise ConfigError.single(f"cannot read: {error.strerror}", file=str(path)) from None
    return load_config_bytes(
        raw, path, known_agents=known_agents, environ=environ, known_keys=known_keys
    )


def load_config_bytes(
    raw: bytes,
    path: Path,
    *,
    known_agents: Collection[str],
    environ: Mapping[str, str] | None = None,
    known_keys: Collection[str] | None = None,
) -> LoadedConfig:
    """Validate ``raw``, the bytes just read from the config file at ``path``.

    What :func:`load_config` does after reading; a caller that keys something on the bytes
    (:mod:`core.config_snapshot`) reads them once and validates exactly those.
    """
    filename = str(path)
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
