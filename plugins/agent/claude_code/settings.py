"""The worktree's ``.claude/settings.local.json``: ao-tui's hooks and the project's
permission rules, merged into whatever is there.

Claude Code reads this file as the project's *local* settings: per checkout, never
committed (``prepare`` returns it to be git-excluded). Two parts of it are ours:

- ``hooks``: one entry per event that appends to the session's hook log. Our entries are
  recognised by the ``ao_ts`` stamp in their command and replaced on every prepare.
- ``permissions.allow``: the project's ``agentConfig.allow`` rules. This is Claude Code's
  own permission-rule list (the one its "Yes, and don't ask again" answer appends to), so
  a rule such as ``Bash(pytest:*)`` lets the agent run ``pytest …`` without a prompt, and
  nothing outside the rules changes: every other tool use still asks. Rule strings carry
  no stamp, so which ones we added is kept in the session's private state dir
  (:data:`ALLOW_RECORD`); a rule already there before us is the user's and stays, even
  when the config drops it.

- ``permissions.deny``: for a session with a role only (:mod:`.roles`), the commands it
  must never run; kept the same way, in :data:`DENY_RECORD`.

Everything else (the user's hooks and rules, ``defaultMode``, any other key) is
kept as written. A file that is not a JSON object, or whose ``permissions``/``allow`` has
the wrong shape, is left alone with an error naming it: it is the user's to mend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.slots import CACHE_SUFFIX, SlotError
from plugins.agent.claude_code.hooks import hooks_settings
from plugins.agent.claude_code.trust import read_json_object, write_json

SETTINGS_FILE = ".claude/settings.local.json"
"""Claude's per-worktree, never-committed settings file; our hooks and rules go there."""
ALLOW_TARGET = f"Claude Code's permissions.allow in the worktree's {SETTINGS_FILE}"
"""Where ``agentConfig.allow`` goes, as ``config check`` and ``doctor`` say it."""
ALLOW_RECORD = f"allow-rules{CACHE_SUFFIX}"
"""In the session's state dir: the rules ao-tui added to ``permissions.allow``."""
DENY_RECORD = f"deny-rules{CACHE_SUFFIX}"
"""In the session's state dir: the rules ao-tui added to ``permissions.deny`` (a role's)."""


def install_hooks(worktree: Path, hook_log: Path) -> None:
    """Put our hook entries (logging to ``hook_log``) in the settings, keeping the user's.

    Entries we wrote earlier are replaced, so re-preparing never duplicates hooks.
    """
    path = worktree / SETTINGS_FILE
    settings = read_json_object(path, doing="add ao-tui hooks", fix="fix or remove it")
    hooks = settings.get("hooks")
    hooks = dict(hooks) if isinstance(hooks, dict) else {}
    for event, entries in hooks_settings(hook_log).items():
        current = hooks.get(event)
        kept = [e for e in current if not _is_ours(e)] if isinstance(current, list) else []
        hooks[event] = kept + entries
    settings["hooks"] = hooks
    write_json(path, settings)


def apply_allow(worktree: Path, state_dir: Path, rules: Sequence[str]) -> None:
    """Make ``rules`` the entries ao-tui keeps in the settings' ``permissions.allow``.

    Rules we added before and ``rules`` no longer lists are withdrawn; every other entry
    stays in its place; new rules are appended. Nothing is written when nothing changes.
    """
    _apply_rules(worktree, state_dir / ALLOW_RECORD, "allow", rules, "the project's allow rules")


def apply_deny(worktree: Path, state_dir: Path, rules: Sequence[str], doing: str) -> None:
    """Make ``rules`` the entries ao-tui keeps in the settings' ``permissions.deny``, as
    :func:`apply_allow` does for ``allow`` (a deny rule beats every allow rule and mode)."""
    _apply_rules(worktree, state_dir / DENY_RECORD, "deny", rules, doing)


def _apply_rules(worktree: Path, record: Path, key: str, rules: Sequence[str], doing: str) -> None:
    """Make ``rules`` the entries ao-tui keeps in ``permissions.<key>`` (``record`` says
    which entries ao-tui added before)."""
    path = worktree / SETTINGS_FILE
    settings = read_json_object(path, doing=f"add {doing}", fix="fix or remove it")
    permissions = settings.get("permissions", {})
    if not isinstance(permissions, dict):
        raise SlotError(
            f"{path}: cannot add {doing}, 'permissions' is not a JSON "
            f'object; make it one (e.g. "permissions": {{"{key}": []}}) or remove it'
        )
    current = permissions.get(key, [])
    if not isinstance(current, list):
        raise SlotError(
            f"{path}: cannot add {doing}, 'permissions.{key}' is not a "
            'list; make it a list of rules (e.g. ["Bash(npm test)"]) or remove it'
        )
    ours_before = _read_record(record)
    theirs = [entry for entry in current if entry not in ours_before]
    added = [rule for rule in dict.fromkeys(rules) if rule not in theirs]
    # Every entry stays in its place unless it is ours and no longer wanted; new rules go last.
    kept = [entry for entry in current if entry not in ours_before or entry in added]
    wanted = kept + [rule for rule in added if rule not in kept]
    if wanted != current:
        # The record is widened before the file changes and narrowed after: a crash in
        # between leaves a rule we wrote marked as ours (withdrawn later if dropped), never
        # one of ours passing for the user's (kept for good).
        _write_record(record, [*ours_before, *(r for r in added if r not in ours_before)])
        write_json(path, {**settings, "permissions": {**permissions, key: wanted}})
    if added != ours_before:
        _write_record(record, added)


def _read_record(record: Path) -> list[str]:
    """The rules we added last time ([] when none were, or the record is unreadable)."""
    try:
        loaded = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(loaded, list):
        return []
    return [rule for rule in loaded if isinstance(rule, str)]


def _write_record(record: Path, rules: list[str]) -> None:
    """Replace the record atomically (the state dir is private, 0700)."""
    record.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = record.with_name(f".{record.stem}.tmp{CACHE_SUFFIX}")  # a .cache wakes no tick
    temp.write_text(json.dumps(rules) + "\n", encoding="utf-8")
    temp.replace(record)


def _is_ours(entry: Any) -> bool:
    """Whether a settings hook entry is one we installed (its command stamps ``ao_ts``)."""
    if not isinstance(entry, dict):
        return False
    hooks = entry.get("hooks")
    if not isinstance(hooks, list):
        return False
    return any(
        isinstance(h, dict) and isinstance(h.get("command"), str) and '{"ao_ts":' in h["command"]
        for h in hooks
    )
