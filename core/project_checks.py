"""Whether a project's repository can take sessions, with the fix named for each problem.

A project needs a git work tree with at least one commit, and a base (``defaultBranch``,
or the branch detected when it is not set) that is a local branch: a session branch is
merged back into its base, and ``HEAD``, a tag, a commit id or a remote-tracking branch
cannot take a merge. ``config check``, ``spawn`` and ``doctor`` all ask here; the facts
come from the workspace slot (core never runs git itself). ``config check`` also asks
whether each ``ci.command`` can run (:mod:`core.ci_command`), and whether each project's
agent can apply its ``agentConfig.allow`` rules (:mod:`core.permission_policy`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.ci_command import shell_problem
from core.config import ProjectConfig
from core.errors import ConfigError, ConfigProblem
from core.permission_policy import unsupported
from core.slots import RepoFacts, Workspace
from core.yaml_marks import MarkedDocument, YamlError, YamlPath, load_marked

_COMMIT_ID = re.compile(r"[0-9a-fA-F]{7,64}")
_SHOWN_BRANCHES = 8


@dataclass(frozen=True)
class ProjectProblem:
    """One reason a project cannot take sessions, and what would fix it."""

    key: YamlPath
    """Where in the config the problem belongs (``("projects", "app", "defaultBranch")``)."""
    problem: str
    fix: str

    @property
    def field(self) -> str:
        """The dotted config field, as config errors name it."""
        return ".".join(str(part) for part in self.key)

    def __str__(self) -> str:
        return f"{self.problem}; {self.fix}"


def project_problems(
    project_id: str, project: ProjectConfig, workspace: Workspace
) -> list[ProjectProblem]:
    """Every reason the project cannot take sessions (empty when it can)."""
    return inspect_project(project_id, project, workspace)[1]


def usable_base(project_id: str, project: ProjectConfig, workspace: Workspace) -> str:
    """The branch a spawn forks from; :class:`ConfigError` naming the field and fix if none."""
    base, problems = inspect_project(project_id, project, workspace)
    if problems:
        raise ConfigError(
            [ConfigProblem("", 0, 0, problem.field, str(problem)) for problem in problems]
        )
    return base


def config_problems(
    projects: dict[str, ProjectConfig],
    workspace: Workspace,
    source: Path | None,
    agent_of: Callable[[ProjectConfig], tuple[str, object]] | None = None,
) -> list[ConfigProblem]:
    """Every project's problems, located in the config file ``source`` when it is known.

    ``agent_of`` gives a project's agent name and plugin, to check its ``allow`` rules.
    """
    document = _marks(source)
    found: list[ConfigProblem] = []
    for project_id, project in projects.items():
        problems = project_problems(project_id, project, workspace)
        problems += ci_problems(project_id, project)
        if agent_of is not None:
            problems += allow_problems(project_id, project, *agent_of(project))
        for problem in problems:
            line = col = 0
            if document is not None:
                mark = document.value_mark(_written(document, problem.key))
                line, col = mark.line, mark.column
            name = str(source) if source is not None else ""
            found.append(ConfigProblem(name, line, col, problem.field, str(problem)))
    return found


def ci_problems(project_id: str, project: ProjectConfig) -> list[ProjectProblem]:
    """Why the project's ``ci.command`` cannot run with ``sh -c`` (empty when it can)."""
    if project.ci is None:
        return []
    problem = shell_problem(project.ci.command)
    if not problem:
        return []
    fix = (
        f"fix projects.{project_id}.ci.command: it is one shell line, run as "
        "`sh -c COMMAND` in the session worktree"
    )
    return [ProjectProblem(("projects", project_id, "ci", "command"), problem, fix)]


def allow_problems(
    project_id: str, project: ProjectConfig, agent_name: str, agent: object
) -> list[ProjectProblem]:
    """Why the project's agent cannot apply its ``agentConfig.allow`` rules (empty if it can)."""
    problem = unsupported(agent, agent_name, project.agent_config.allow)
    if not problem:
        return []
    what, _, fix = problem.partition("; ")
    return [ProjectProblem(("projects", project_id, "agentConfig", "allow"), what, fix)]


def base_problem(base: str, facts: RepoFacts) -> str:
    """Why ``base`` cannot be a session base, or "" when it is a local branch."""
    if base in facts.branches:
        return ""
    if base.startswith("refs/heads/") and base.removeprefix("refs/heads/") in facts.branches:
        return f"{base!r} is written as a ref; write the branch name {base[11:]!r}"
    if base in ("@", "HEAD"):
        what = f"{base!r} names whatever is checked out, not a branch"
    elif base.endswith("_HEAD"):
        what = f"{base!r} is a pointer git moves on its own, not a branch"
    elif base.removeprefix("refs/tags/") in facts.tags:
        what = f"{base!r} is a tag, not a branch"
    elif _remote_name(base) in facts.remote_branches:
        remote = _remote_name(base)
        local = remote.partition("/")[2]
        what = (
            f"{base!r} is a remote-tracking branch, not a local one (create the local one "
            f"with `git branch {local} {remote}`)"
        )
    elif _COMMIT_ID.fullmatch(base):
        what = f"{base!r} looks like a commit id, not a branch"
    else:
        what = f"there is no local branch {base!r}"
        tracking = [r for r in facts.remote_branches if r.partition("/")[2] == base]
        if tracking:
            what += f" (only {tracking[0]}: create it with `git branch {base} {tracking[0]}`)"
    return f"{what} (branches: {_listing(facts.branches)})"


def inspect_project(
    project_id: str, project: ProjectConfig, workspace: Workspace
) -> tuple[str, list[ProjectProblem]]:
    """The base a spawn would fork from, and every problem (the base is "" when unknown)."""
    path_key: YamlPath = ("projects", project_id, "path")
    base_key: YamlPath = ("projects", project_id, "defaultBranch")
    repo = project.path
    facts = workspace.repository_facts(repo)
    if facts.problem:
        fix = "point path at a clone, or run `git init` there and make a first commit"
        return "", [ProjectProblem(path_key, facts.problem, fix)]
    if not facts.has_commits:
        return "", [
            ProjectProblem(
                path_key,
                f"the repository {repo} has no commits yet, so sessions have nothing to "
                "branch from",
                "make a first commit (e.g. `git commit --allow-empty -m 'first commit'`)",
            )
        ]
    configured = project.default_branch
    base = configured or workspace.default_branch(repo)
    problem = base_problem(base, facts)
    if not problem:
        return base, []
    if configured is None:
        problem = f"the detected default branch: {problem}"
    fix = f"set projects.{project_id}.defaultBranch to a branch, e.g. {_example(facts)}"
    return base, [ProjectProblem(base_key, problem, fix)]


def _remote_name(base: str) -> str:
    return base.removeprefix("refs/").removeprefix("remotes/")


def _example(facts: RepoFacts) -> str:
    for usual in ("main", "master", "trunk", "develop"):
        if usual in facts.branches:
            return usual
    return facts.branches[0] if facts.branches else "main"


def _listing(branches: tuple[str, ...]) -> str:
    """The branches worth suggesting first: session branches (``ao/...``) come last."""
    if not branches:
        return "none"
    ordered = sorted(branches, key=lambda name: (name.startswith("ao/"), name))
    shown = ", ".join(ordered[:_SHOWN_BRANCHES])
    more = len(branches) - _SHOWN_BRANCHES
    return shown + (f" and {more} more" if more > 0 else "")


def _marks(source: Path | None) -> MarkedDocument | None:
    """The config's marks, to point at the line of a problem (None if unreadable)."""
    if source is None:
        return None
    try:
        return load_marked(source.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, YamlError):
        return None


def _written(document: MarkedDocument, key: YamlPath) -> YamlPath:
    """``key`` as the file spells it (``defaultBranch`` or ``default_branch``)."""
    if key in document.marks or len(key) < 3:
        return key
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", str(key[-1])).lower()
    alternative = (*key[:-1], snake)
    return alternative if alternative in document.marks else key
