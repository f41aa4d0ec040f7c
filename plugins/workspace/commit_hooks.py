"""The commit hooks ao-tui installs in one session's worktree, and nowhere else.

git reads ``core.hooksPath`` from the worktree's own config (``extensions.worktreeConfig``
+ ``git config --worktree``), so the hooks below run for commits made in that worktree
only: the repository's main checkout, its other worktrees and its hooks directory are
left as they are. Each hook first runs the repository's own hook of the same name (the
one git would run without us), so the user's hooks keep working; ``prepare-commit-msg``
and ``commit-msg`` then add the session's trailers with ``git interpret-trailers``,
replacing any already there, so an amend or a rebase never doubles them.

``prepare-commit-msg`` runs even under ``--no-verify`` (agents and ao-tui's own WIP
commits use it); ``commit-msg`` stamps what an editor wrote after the first hook ran.
The hooks live in the worktree's private git dir, so ``git worktree remove`` takes them
along.
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

from core.git import run_git
from core.slots import SlotError

HOOKS_DIR = "ao-tui-hooks"
"""The folder, inside the worktree's private git dir, holding the hooks ao-tui writes."""

STAMPING_HOOKS = ("prepare-commit-msg", "commit-msg")

# Every hook git runs from the hooks directory (githooks(5)); each gets a script that runs
# the repository's own. Hooks whose mere presence changes what git does are only
# forwarded when the repository has one (see _ONLY_IF_PRESENT).
_CHAINED_HOOKS = (
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-commit",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-receive",
    "update",
    "proc-receive",
    "post-receive",
    "post-update",
    "reference-transaction",
    "pre-auto-gc",
    "post-rewrite",
    "sendemail-validate",
    "post-index-change",
    "p4-changelist",
    "p4-prepare-changelist",
    "p4-post-changelist",
    "p4-pre-submit",
)
_ONLY_IF_PRESENT = ("push-to-checkout", "fsmonitor-watchman")
"""A ``push-to-checkout`` hook replaces git's own check of the checkout a push updates."""

_SCRIPT = """#!/bin/sh
# Written by ao-tui for this session's worktree only (git config --worktree core.hooksPath).
# It runs the repository's own hook of the same name first, so that one keeps working.
own_hooks={own}
hook=${{0##*/}}
if [ -x "$own_hooks/$hook" ]; then
  case $hook in
    prepare-commit-msg|commit-msg) "$own_hooks/$hook" "$@" || exit $? ;;
    *) exec "$own_hooks/$hook" "$@" ;;
  esac
fi
case $hook in
  prepare-commit-msg)
    # No source: an editor is about to open on an empty message; commit-msg stamps it.
    [ -n "$2" ] || exit 0 ;;
  commit-msg) ;;
  *) exit 0 ;;
esac
# A message of comments only stays empty, so git still aborts the commit.
grep -q -v -e '^#' -e '^[[:space:]]*$' "$1" || exit 0
exec git interpret-trailers --in-place --where end --if-exists replace{trailers} "$1"
"""


def install(path: Path, trailers: Sequence[tuple[str, str]]) -> Path:
    """Install the hooks in worktree ``path`` so its commits end with ``trailers``; their dir.

    Raises :class:`SlotError` for the repository's main checkout (ao-tui never installs
    anything there) and for a trailer that is not one line.
    """
    for key, value in trailers:
        if not key or any(c in key for c in ": \n\r") or "\n" in value or "\r" in value:
            raise SlotError(f"invalid commit trailer {key!r}: {value!r} (one line each)")
    toplevel, git_dir, common_dir = _layout(path)
    if git_dir == common_dir:
        raise SlotError(
            f"{path} is the main checkout of its repository; ao-tui installs its commit "
            "hooks only in a session's own worktree"
        )
    own = repository_hooks(path, toplevel, common_dir)
    hooks = git_dir / HOOKS_DIR
    hooks.mkdir(exist_ok=True)
    flags = "".join(f" --trailer {_quote(f'{key}: {value}')}" for key, value in trailers)
    script = _SCRIPT.format(own=_quote(str(own)), trailers=flags)
    names = [*_CHAINED_HOOKS, *(n for n in _ONLY_IF_PRESENT if (own / n).is_file())]
    for stale in hooks.iterdir():
        if stale.name not in names:
            stale.unlink()
    for name in names:
        hook = hooks / name
        hook.write_text(script, encoding="utf-8")
        hook.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    # A v0 extension (git >= 2.20): the shared config only gains the switch that lets each
    # worktree have settings of its own; nothing else changes for the main checkout.
    run_git(["config", "extensions.worktreeConfig", "true"], cwd=path)
    run_git(["config", "--worktree", "core.hooksPath", str(hooks)], cwd=path)
    return hooks


def repository_hooks(path: Path, toplevel: Path, common_dir: Path) -> Path:
    """The hooks directory git would use in ``path`` without ao-tui's worktree setting."""
    out = run_git(
        ["config", "--type=path", "--show-scope", "--get-all", "core.hooksPath"],
        cwd=path,
        check=False,
    ).stdout
    chosen = ""
    for line in out.splitlines():
        scope, _, value = line.partition("\t")
        if scope != "worktree" and value:
            chosen = value  # the last one read wins, as for git
    if not chosen:
        return common_dir / "hooks"
    # A relative hooksPath is relative to where hooks run: the top of the worktree.
    return toplevel / chosen


def _layout(path: Path) -> tuple[Path, Path, Path]:
    out = run_git(
        [
            "rev-parse",
            "--path-format=absolute",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
        ],
        cwd=path,
    ).stdout.splitlines()
    if len(out) != 3:
        raise SlotError(f"git rev-parse in {path} gave unexpected output: {out!r}")
    toplevel, git_dir, common_dir = (Path(p).resolve() for p in out)
    return toplevel, git_dir, common_dir


def _quote(text: str) -> str:
    """``text`` as one single-quoted sh word."""
    return "'" + text.replace("'", "'\\''") + "'"
