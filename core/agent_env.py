"""The environment an agent process gets: what it needs, never the operator's whole one.

The operator's shell holds tokens for everything (cloud, registries, other hosts); an agent
runs arbitrary commands and should get only what its work needs. It gets, in this order
(later wins):

1. the operator's variables named in :data:`OPERATOR_VARIABLES` — locale, terminal, paths,
   toolchain locations, proxies and CA bundles, git identity, the SSH agent socket, and
   ao-tui's own settings (so ``ao-tui`` works inside a session);
2. what the agent plugin says its program reads (an agent plugin may implement
   :class:`core.slots.EnvNeeds`; an agent CLI reads its API key and its own settings);
3. the project's ``env:`` block — the way to hand an agent a token
   (``GITHUB_TOKEN: ${GITHUB_TOKEN}``);
4. the launch plan's own additions, and ``AO_TUI_SESSION``.

What a session with a role gave the process that starts this agent (its actor, its
``ao-tui`` launcher folder on PATH, :mod:`core.role_launch`) is dropped before step 4: a
worker the orchestrator spawns is a worker, and only its own plan can give it a role's.

A CI run gets the same construction without the agent plugin's part
(:func:`ci_environment`): whichever process notices a new head first starts its CI, and
what the run sees must not depend on which terminal that process was started from.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from core.provenance import ACTOR_ENV
from core.slots import EnvNeeds

ROLE_BIN_ENV = "AO_TUI_ROLE_BIN"
"""The private folder whose ``ao-tui`` launcher a session with a role has first on PATH
(:mod:`core.role_launch`)."""

OPERATOR_VARIABLES: tuple[str, ...] = (
    # who and where
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PATH",
    "TMPDIR",
    "TEMP",
    "TMP",
    "XDG_*",
    # terminal and locale
    "TERM",
    "COLORTERM",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "NO_COLOR",
    "FORCE_COLOR",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    # network: proxies and the CA bundles a corporate proxy needs
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    # git: who commits, and the agent socket that signs and pushes (no key leaves it)
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
    "SSH_AUTH_SOCK",
    "GPG_TTY",
    # toolchains the agent's commands run (tests, builds)
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYENV_ROOT",
    "NVM_DIR",
    "GOPATH",
    "GOROOT",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "JAVA_HOME",
    # ao-tui's own settings and the tmux server it uses
    "AO_TUI_*",
    "TMUX_TMPDIR",
)
"""The operator's variables every agent gets (exact names, or ``*`` patterns)."""

_DROPPED = frozenset({"TMUX", "TMUX_PANE"})
"""Never passed on: they would make the agent think it runs inside the operator's tmux."""


def matching(environ: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The variables of ``environ`` named by ``names`` (exact names or ``*`` patterns)."""
    exact = {name for name in names if "*" not in name}
    patterns = [name for name in names if "*" in name]
    return {
        key: value
        for key, value in environ.items()
        if key in exact or any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)
    }


def plugin_needs(agent: object, environ: Mapping[str, str]) -> dict[str, str]:
    """The operator's variables the agent plugin says its program reads (none if it says
    nothing: the member is optional)."""
    if not isinstance(agent, EnvNeeds):
        return {}
    return dict(agent.inherited_env(environ))


def agent_environment(
    environ: Mapping[str, str],
    *,
    agent: object,
    project_env: Mapping[str, str],
    plan_env: Mapping[str, str],
    session_id: str,
) -> dict[str, str]:
    """The whole environment of one agent process (see the module docstring for the order)."""
    env = matching(environ, OPERATOR_VARIABLES)
    env.update(plugin_needs(agent, environ))
    for key in _DROPPED:
        env.pop(key, None)
    without_role(env)
    env.update(project_env)
    env.update(plan_env)
    env["AO_TUI_SESSION"] = session_id
    return env


def without_role(env: dict[str, str]) -> dict[str, str]:
    """``env`` (changed in place) without what a session with a role was given: its actor,
    its launcher folder and that folder's entry in ``PATH``."""
    env.pop(ACTOR_ENV, None)
    folder = env.pop(ROLE_BIN_ENV, None)
    if folder and "PATH" in env:
        env["PATH"] = ":".join(entry for entry in env["PATH"].split(":") if entry != folder)
    return env


def ci_environment(environ: Mapping[str, str], *, project_env: Mapping[str, str]) -> dict[str, str]:
    """The whole environment of one CI run: the operator variables, then the project's
    ``env:`` (which wins).

    Nothing else of ``environ`` passes: a variable exported in one terminal and not in
    another must not make the same head pass in one and fail in the other.
    """
    env = matching(environ, OPERATOR_VARIABLES)
    for key in _DROPPED:
        env.pop(key, None)
    env.update(project_env)
    return env
