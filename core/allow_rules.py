"""What a permission rule of ``agentConfig.allow`` may look like, checked the same way for
every agent.

A rule names a tool, optionally narrowed by a specifier in parentheses: ``Edit``,
``Bash(pytest:*)``, ``WebFetch(domain:example.com)``, ``mcp__github__get_issue``. What the
specifier means is the agent's business (its plugin maps the rules to the agent's own
permission settings, see :mod:`core.permission_policy`); this module only refuses what no
agent could read as a rule: control or invisible characters (a newline would end the rule
early in any settings file a human reads, a bidi override would show the operator another
command than the one allowed), spaces around it (no agent would match it), a missing
parenthesis, and sizes no policy needs.

Kept free of heavy imports: the config models use it on every load.
"""

from __future__ import annotations

import re

MAX_RULES = 256
"""Rules per project. A real policy is a handful; a command family takes one rule
(``Bash(npm run:*)``), so more than this is a generated list, not a policy."""
MAX_RULE_LENGTH = 512
"""Characters per rule: a long path pattern fits, a pasted script does not."""

EXAMPLE = "'Bash(pytest:*)' or 'Edit'"
"""What a good rule looks like, quoted in every error."""

_TOOL = re.compile(r"[A-Za-z][A-Za-z0-9_.*-]*")
"""A tool name: ``Bash``, ``WebFetch``, ``mcp__server__tool``, ``mcp__server__*``."""

_NAMED: dict[str, str] = {
    "\n": "a newline",
    "\r": "a carriage return",
    "\t": "a tab",
    "\x1b": "an escape character (ESC)",
}


def shown(rule: str) -> str:
    """The rule quoted for an error: every invisible character escaped, long ones cut."""
    cut = rule if len(rule) <= 60 else rule[:57] + "..."
    return ascii(cut) if not cut.isprintable() else repr(cut)


def _hidden(rule: str) -> str:
    """The first character of ``rule`` that is not visible text, described ("" if none).

    ``str.isprintable`` is False for exactly what must not be in a rule: C0 and C1
    controls, DEL, format characters (bidi overrides, zero-width spaces, tag characters),
    line and paragraph separators, spaces other than the ASCII one, lone surrogates and
    unassigned code points.
    """
    for index, char in enumerate(rule):
        if not char.isprintable():
            what = _NAMED.get(char, f"the invisible or control character U+{ord(char):04X}")
            return f"{what} at character {index + 1}"
    return ""


def rule_problem(rule: str) -> str:
    """Why ``rule`` is not a permission rule, with the fix ("" when it is one)."""
    if not rule.strip():
        return f"the rule is empty; write a tool name, optionally with a specifier, e.g. {EXAMPLE}"
    if len(rule) > MAX_RULE_LENGTH:
        return (
            f"the rule is {len(rule):,} characters long (at most {MAX_RULE_LENGTH}); allow a "
            f"command family with a prefix rule such as 'Bash(npm run:*)'"
        )
    hidden = _hidden(rule)
    if hidden:
        return (
            f"{shown(rule)} contains {hidden}; a rule is one line of visible characters, "
            f"e.g. {EXAMPLE}"
        )
    if rule != rule.strip():
        return f"{shown(rule)} has spaces around it, which no agent would match; remove them"
    tool, paren, rest = rule.partition("(")
    if not _TOOL.fullmatch(tool):
        return (
            f"{shown(rule)} does not start with a tool name (letters, digits, '_', '-', '.', "
            f"'*', starting with a letter); write a tool name, optionally with a specifier in "
            f"parentheses, e.g. {EXAMPLE}"
        )
    if paren and not rest.endswith(")"):
        return f"{shown(rule)} has no closing ')' at its end; close the specifier, e.g. {EXAMPLE}"
    if paren and not rest[:-1].strip():
        return (
            f"{shown(rule)} has nothing between its parentheses; write {tool!r} to allow every "
            f"use of the tool, or say which, e.g. {EXAMPLE}"
        )
    return ""


def list_problem(rules: object) -> str:
    """Why ``rules`` (as read from the file) is not a list of rules ("" when it is one;
    each entry is then checked by :func:`rule_problem`)."""
    if isinstance(rules, str):
        text = shown(rules)
        return f"expected a list of rules, got the text {text}; write allow: [{text}]"
    if not isinstance(rules, list | tuple):
        kind = "a mapping" if isinstance(rules, dict) else type(rules).__name__
        return f"expected a list of rules, got {kind}; write e.g. allow: [{EXAMPLE}]"
    if len(rules) > MAX_RULES:
        return (
            f"{len(rules):,} rules (at most {MAX_RULES}); allow each command family with one "
            "prefix rule such as 'Bash(npm run:*)'"
        )
    return ""
