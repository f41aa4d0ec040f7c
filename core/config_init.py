"""The starter ``ao.config.yaml`` that ``ao-tui init`` writes for a git repository.

Everything it fills in is detected rather than asked: the repository's default branch, whether
the agent's CLI is on ``PATH``, the command that runs the tests (for a commented ``ci:``
line), and a project id / session prefix from the directory name. It names only the agents
ao-tui knows, says whether to commit the file (yes, with secrets written as ``${VAR}``), and
is commented so the user can see what else can be set; it always loads cleanly, and so does
every commented line once uncommented.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Callable, Collection
from pathlib import Path

from core.config import PERMISSION_MODES, Defaults, default_session_prefix
from core.errors import AoError, ConfigError
from core.git import run_git
from core.registry import Registry
from core.slots import Agent, AgentProgram

__all__ = [
    "COMMIT_NOTE",
    "detect_default_branch",
    "guess_ci_command",
    "project_id_for",
    "render_init",
]

COMMIT_NOTE = "commit it to share the setup; write secrets in env: as ${VAR}, never their value"
"""What ``init`` says about committing the file it wrote."""

CI_PLACEHOLDER = "./run-tests"
_COMMENT_WIDTH = 88
_CI_LINE = "# ci: {{command: {command}, timeout: 600}}"
GIT_TIMEOUT = 10.0
"""Seconds for the ref and path lookups ``init`` makes; they take milliseconds."""

_PLAIN = re.compile(r"[A-Za-z0-9_./~-]+")
# Plain scalars YAML 1.1 would read as something other than the text itself.
_YAML_SPECIAL = re.compile(
    r"(?i)(y|n|yes|no|true|false|on|off|null|~|[-+]?(\.?\d[\d_.]*|\.inf|\.nan)(e[-+]?\d+)?)"
)


def _git(repo: Path, *args: str) -> str | None:
    """Stdout of ``git args`` in ``repo``, stripped; None when git says no.

    Raises :class:`~core.git.GitError` when git is missing or hangs: then nothing about the
    repository can be told, and guessing (``main``, "not a repository") would be wrong.
    """
    proc = run_git(args, cwd=repo, timeout=GIT_TIMEOUT, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def detect_default_branch(repo: Path) -> str:
    """The branch sessions should fork from: origin's HEAD, else the current branch, else
    ``main`` or ``master`` if one exists, else ``main``."""
    remote_head = _git(repo, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if remote_head:
        return remote_head.removeprefix("origin/")
    current = _git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    if current:
        return current
    for name in ("main", "master"):
        if _git(repo, "show-ref", "--verify", "--quiet", f"refs/heads/{name}") is not None:
            return name
    return "main"


def project_id_for(directory_name: str) -> str:
    """A project id from a directory name, folded to ``[a-z0-9-]`` (``My_App`` → ``my-app``)."""
    return re.sub(r"[^a-z0-9]+", "-", directory_name.lower()).strip("-") or "app"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly this string."""
    if _PLAIN.fullmatch(text) and not _YAML_SPECIAL.fullmatch(text):
        return text
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text)


def _shown_path(path: Path) -> str:
    home = Path.home()
    shown = (
        f"~/{path.relative_to(home)}" if path.is_relative_to(home) and path != home else str(path)
    )
    # The loader expands ${VAR}; a directory whose name contains "${" must stay literal.
    return shown.replace("${", "$${")


def guess_ci_command(root: Path) -> str | None:
    """The command that runs the repository's tests when the layout makes it obvious
    (pytest, npm test, cargo test, go test, make test), else None."""
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    if (root / "go.mod").is_file():
        return "go test ./..."
    package = root / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
        except (OSError, ValueError, AttributeError):
            scripts = {}
        if isinstance(scripts, dict) and "test" in scripts:
            return "npm test"
    python = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini")
    if any((root / name).is_file() for name in python) or any(root.glob("tests/test_*.py")):
        return "python -m pytest -q"
    makefile = root / "Makefile"
    if makefile.is_file():
        try:
            text = makefile.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        if re.search(r"^test\s*:", text, re.MULTILINE):
            return "make test"
    return None


def render_init(
    repo: Path,
    *,
    which: Callable[[str], str | None] = shutil.which,
    known_agents: Collection[str] | None = None,
) -> str:
    """The text of a starter ``ao.config.yaml`` for the git repository holding ``repo``.

    Only agents ao-tui knows are named: ``known_agents`` (the installed agent plugins
    when not given), described by their plugins. The configuration's default agent is
    chosen when it is one of them, found on PATH or not (the comment says which).

    Raises :class:`ConfigError` when ``repo`` is not inside a git work tree.
    """
    top = _git(repo, "rev-parse", "--show-toplevel")
    if not top:
        raise ConfigError.single(
            f"{str(repo)!r} is not inside a git repository; run `git init` first or run "
            "init from a clone"
        )
    root = Path(top)
    project_id = project_id_for(root.name)
    prefix = default_session_prefix(project_id)
    branch = detect_default_branch(root)
    registry = Registry()
    known = sorted(known_agents if known_agents is not None else registry.names("agent"))
    plugins = _agent_plugins(registry, known)
    choosable = [name for name in known if name != "demo"] or known or [Defaults().agent]
    agent = Defaults().agent if Defaults().agent in choosable else choosable[0]
    notes = {name: plugin.summary for name, plugin in plugins.items()}
    program = plugins.get(agent)
    binary = program.program if isinstance(program, AgentProgram) and program.program else None
    if binary is None:
        agent_note = notes.get(agent, "")
    elif which(binary):
        agent_note = f"{notes.get(agent, agent)}; {binary} found on PATH"
    else:
        agent_note = f"{binary} not found on PATH: install it, or use the shell agent"
    ordered = [*choosable, *(name for name in known if name not in choosable)]
    listing = ", ".join(f"{name} ({notes[name]})" if notes.get(name) else name for name in ordered)
    alternatives = [name for name in choosable if name != agent] or ["shell"]
    guessed = guess_ci_command(root)
    ci_line = _CI_LINE.format(command=_scalar(guessed or CI_PLACEHOLDER))
    ci_note = "guessed; check it" if guessed else "a placeholder: the line that runs your tests"
    lines = [
        "# ao-tui configuration. `ao-tui config schema` prints every key as JSON Schema.",
        "# Commit this file to share the setup with your team. Keep secrets out of it: write",
        "# them as ${VAR} (or ${VAR:-default}), expanded from the environment in any value.",
        *textwrap.wrap(
            f"Agents ao-tui knows: {listing}.",
            width=_COMMENT_WIDTH,
            initial_indent="# ",
            subsequent_indent="#   ",
            break_on_hyphens=False,
        ),
        "",
        "defaults:",
        f"  agent: {_scalar(agent)}  # {agent_note}".rstrip(" #"),
        "  runtime: tmux",
        "  workspace: worktree",
        "",
        "projects:",
        f"  {_scalar(project_id)}:  # the project id, as given to --project",
        f"    path: {_scalar(_shown_path(root))}",
        f"    defaultBranch: {_scalar(branch)}  # sessions branch from and merge into this",
        f"    sessionPrefix: {_scalar(prefix)}  # session ids: {prefix}-1, {prefix}-2, ...",
        "    # CI runs at each new commit of a session branch, as a shell line (sh -c) in the",
        "    # session worktree with the env below; review and merge wait for it to pass.",
        f"    {ci_line}  # {ci_note}",
        f"    # agent: {alternatives[0]}  # another agent for this project only",
        "    # agentConfig:",
        f"    #   permissions: default  # {' | '.join(PERMISSION_MODES)}",
        "    #   model: sonnet",
        "    # env:  # for the agent and CI; a secret as ${VAR}, never its value",
        "    #   EXAMPLE_TOKEN: ${EXAMPLE_TOKEN}",
    ]
    return "\n".join(lines) + "\n"


def _agent_plugins(registry: Registry, names: Collection[str]) -> dict[str, Agent]:
    """The installed agent plugins among ``names`` (one that cannot load is left out)."""
    plugins: dict[str, Agent] = {}
    for name in names:
        try:
            plugins[name] = registry.get("agent", name)
        except (AoError, ImportError):
            continue
    return plugins
