"""Passes 1 and 2 of loading a config: keys checked against the models (with "did you
mean"), then ``${VAR}`` expanded and scalars kept as written."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import (
    BaseModel,
)
from pydantic.alias_generators import to_camel

from core.config_base import _Model
from core.config_models import (
    _SESSION_PREFIX,
    AgentConfig,
    Config,
    Defaults,
    ProjectConfig,
    default_session_prefix,
)
from core.errors import ConfigProblem
from core.yaml_marks import Mark, MarkedDocument, YamlPath

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)(?P<close>\}?)")


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
        "plugins",
    }
)
_AO_DEFAULTS_KEYS = frozenset({"orchestrator", "worker"})
_AO_PROJECT_KEYS = frozenset(
    {
        "name",
        "runtime",
        "workspace",
        "symlinks",
        "postCreate",
        "agentRules",
        "agentRulesFile",
        "orchestratorModel",
        "orchestratorAgentConfig",
        "orchestratorSessionStrategy",
        "opencodeIssueSessionStrategy",
        "orchestrator",
        "worker",
        "automation",
        "decomposer",
    }
)
_AO_AGENT_CONFIG_KEYS = frozenset({"orchestratorModel", "opencodeSessionId"})


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
        if model.model_config.get("extra") == "allow":
            return dict(mapping)  # a plugin's own options (a notifier's): its plugin checks them
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
            if path[:1] == ("notifiers",) and len(path) > 2:
                # A notifier's options hold its tokens and URLs: expanded when it sends
                # (core.config_notify.expand_options), so an unset one breaks that notifier,
                # says so in `doctor`, and no secret rests in the parsed config.
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
