"""The starter ``ao.config.yaml`` that ``ao-tui init`` writes for a git repository.

Everything it fills in is detected rather than asked: the repository's default branch, the
agent CLIs on ``PATH``, and a project id / session prefix from the directory name. The text
is commented so the user can see what else can be set, and it always loads cleanly.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Collection
from pathlib import Path

from core.config import PERMISSION_MODES, default_session_prefix
from core.errors import ConfigError

__all__ = ["AGENT_BINARIES", "detect_default_branch", "project_id_for", "render_init"]

AGENT_BINARIES: tuple[tuple[str, str], ...] = (
    ("claude", "claude-code"),
    ("codex", "codex"),
    ("aider", "aider"),
)
"""(binary on PATH, agent plugin name), in the order of preference for the default agent."""

_PLAIN = re.compile(r"[A-Za-z0-9_./~-]+")
# Plain scalars YAML 1.1 would read as something other than the text itself.
_YAML_SPECIAL = re.compile(
    r"(?i)(y|n|yes|no|true|false|on|off|null|~|[-+]?(\.?\d[\d_.]*|\.inf|\.nan)(e[-+]?\d+)?)"
)


def _git(repo: Path, *args: str) -> str | None:
    """Stdout of ``git args`` in ``repo``, stripped; None when git fails or is missing."""
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    except OSError:
        return None
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


def render_init(
    repo: Path,
    *,
    which: Callable[[str], str | None] = shutil.which,
    known_agents: Collection[str] | None = None,
) -> str:
    """The text of a starter ``ao.config.yaml`` for the git repository holding ``repo``.

    ``known_agents`` (the installed agent plugins) limits the default to an agent ao-tui can
    actually drive; a binary found on PATH without a plugin is only mentioned.

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
    found = [(binary, agent) for binary, agent in AGENT_BINARIES if which(binary)]
    usable = [name for _, name in found if known_agents is None or name in known_agents]
    agent = usable[0] if usable else AGENT_BINARIES[0][1]
    if found:
        seen = ", ".join(
            binary if binary == name else f"{binary} ({name})" for binary, name in found
        )
        agent_note = f"agent CLIs found on PATH: {seen}"
    else:
        names = ", ".join(binary for binary, _ in AGENT_BINARIES)
        agent_note = f"no agent CLI ({names}) found on PATH; install one before spawning"
    alternatives = [name for name in usable if name != agent] or ["shell"]
    lines = [
        "# ao-tui configuration. `ao-tui config schema` prints every key as JSON Schema.",
        "# Any value may use ${VAR} or ${VAR:-default} from the environment.",
        "",
        "defaults:",
        f"  agent: {_scalar(agent)}  # {agent_note}",
        "  runtime: tmux",
        "  workspace: worktree",
        "",
        "projects:",
        f"  {_scalar(project_id)}:  # the project id, as given to --project",
        f"    path: {_scalar(_shown_path(root))}",
        f"    defaultBranch: {_scalar(branch)}  # sessions branch from and merge into this",
        f"    sessionPrefix: {_scalar(prefix)}  # session ids: {prefix}-1, {prefix}-2, ...",
        f"    # agent: {alternatives[0]}  # another agent for this project only",
        "    # agentConfig:",
        f"    #   permissions: default  # {' | '.join(PERMISSION_MODES)}",
        "    #   model: sonnet",
        "    # env:",
        "    #   EXAMPLE_TOKEN: ${EXAMPLE_TOKEN}",
    ]
    return "\n".join(lines) + "\n"
