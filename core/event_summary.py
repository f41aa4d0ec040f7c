"""One line of plain words per event of the log, for people (the cockpit's Events tab).

Scripts read the event data as JSON (``events --json``); a person wants "CI failed at
1a2b3c4d5e: pytest" rather than a cut-off dict. Each known kind has its own sentence; a kind
this module does not know (a newer version's, a plugin's) still reads as ``key: value``
pairs, never as raw JSON. Values are third-party text (commands, titles, host replies): the
caller makes the line inert before it reaches a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.models import NOTHING_ASKED, WaitingFor

SHA_SHOWN = 10
"""Characters of a commit id shown."""


def _text(value: Any) -> str:
    """A value as one short line: lists joined, None as ``-``, whitespace collapsed."""
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items()) or "-"
    return " ".join(str(value).split())


def _sha(value: Any) -> str:
    return str(value or "?")[:SHA_SHOWN]


def waiting_text(waiting: WaitingFor | None) -> str:
    """``permission: Bash rm -rf build``; "" when nothing is waited for."""
    if waiting is None or waiting == NOTHING_ASKED:
        # An answer to a prompt that named nothing is logged with an empty object.
        return ""
    kind = waiting.kind or "input"
    what = f"{waiting.tool} {waiting.command}".strip()
    return f"{kind}: {_text(what)}" if what else kind


def _change(data: Mapping[str, Any]) -> str:
    """``previous → state``, or the state alone when it did not change."""
    state, previous = _text(data.get("state")), data.get("previous")
    return state if previous is None or _text(previous) == state else f"{_text(previous)} → {state}"


def _state_change(data: Mapping[str, Any]) -> str:
    line = _change(data)
    waiting = waiting_text(WaitingFor.from_json(data.get("waiting_for")))
    if waiting:
        line += f" ({waiting})"
    elif data.get("detail"):
        line += f": {_text(data['detail'])}"
    return line + _zone_move(data)


def _zone_move(data: Mapping[str, Any]) -> str:
    zone, before = data.get("zone"), data.get("previous_zone")
    if not zone or zone == before:
        return ""
    return f" · now in {zone}" if not before else f" · {before} → {zone}"


def _lifecycle(data: Mapping[str, Any]) -> str:
    return f"{_text(data.get('lifecycle'))}: " + _state_change(data)


def _pr(data: Mapping[str, Any]) -> str:
    line = _change(data)
    line += (
        f" · CI {_text(data.get('ci') or 'none')} · review {_text(data.get('review') or 'pending')}"
    )
    blockers = data.get("blockers") or []
    if blockers:
        line += f" · blockers: {_text(blockers)}"
    if data.get("problem"):
        line += f" · host problem: {_text(data['problem'])}"
    return line + _zone_move(data)


def _ci_failed(data: Mapping[str, Any]) -> str:
    checks = [c for c in data.get("checks") or [] if isinstance(c, Mapping)]
    names = ", ".join(_text(c.get("name")) for c in checks) or "a check"
    chars = sum(int(c.get("excerpt_chars") or 0) for c in checks)
    excerpt = f" · log excerpt {chars} chars (c shows it)" if chars else ""
    return f"{names} failed at {_sha(data.get('head_sha'))}{excerpt}"


def _message(data: Mapping[str, Any]) -> str:
    size = data.get("bytes")
    line = f"{data.get('result') or '?'}: {_text(data.get('preview'))}"
    if size is not None:
        line += f" ({size} bytes)"
    if data.get("detail"):
        line += f" · {_text(data['detail'])}"
    return line


def _responded(data: Mapping[str, Any]) -> str:
    waiting = waiting_text(WaitingFor.from_json(data.get("waiting_for")))
    return f"answered {data.get('answer') or '?'}" + (f" to {waiting}" if waiting else "")


def _killed(data: Mapping[str, Any]) -> str:
    if data.get("wip_commit"):
        saved = f"uncommitted work saved as {_sha(data['wip_commit'])}"
    elif data.get("discarded"):
        saved = "uncommitted work discarded"
    else:
        saved = "nothing uncommitted"
    line = f"{saved}; branch {_text(data.get('branch'))} kept"
    notes = data.get("notes") or []
    return line + (f" · {_text(notes)}" if notes else "")


def _merged(data: Mapping[str, Any]) -> str:
    line = f"merged as {_sha(data.get('sha'))}"
    if data.get("base"):
        line += f" into {_text(data['base'])}"
    if data.get("method"):
        line += f" ({data['method']})"
    if data.get("forced"):
        line += f" · blockers overridden: {_text(data.get('overridden'))}"
    if data.get("recovered"):
        line += " · recorded by doctor --fix"
    notes = data.get("notes") or []
    return line + (f" · {_text(notes)}" if notes else "")


_SENT_WHAT = {
    "ci-failed": "the failure",
    "changes-requested": "the review comments",
    "bugbot-comments": "the bot's review comments",
    "merge-conflicts": "the conflicting files",
    "agent-stuck": "a nudge",
}
"""What a reaction key's message to the agent carries, as the log says it."""


def _attempt(data: Mapping[str, Any]) -> str:
    """``attempt 1/2`` (``attempt 1`` when bounded by time); "" before any attempt."""
    attempt, budget = data.get("attempt"), data.get("budget")
    if not attempt:
        return ""
    return f"attempt {attempt}/{budget}" if budget else f"attempt {attempt}"


def _reaction(data: Mapping[str, Any]) -> str:
    """``ci-failed: sent the failure (attempt 1/2)``, ``ci-failed: escalated — why``."""
    if not data.get("outcome"):
        raise ValueError("not a reaction's shape")  # said as key: value pairs instead
    outcome, key = _text(data.get("outcome")), _text(data.get("key"))
    if key == "*":
        scope = data.get("scope")
        return f"reactions {outcome}" + (" for every session" if scope == "*" else "")
    attempt = _attempt(data)
    counted = f" ({attempt})" if attempt else ""
    reason = _text(data.get("reason")) if data.get("reason") else ""
    why = f": {reason}" if reason else ""
    by = " by the operator" if data.get("by") == "operator" else ""
    what = _SENT_WHAT.get(key, "the message")
    if outcome in ("sent", "delivered", "queued"):
        line = f"{outcome} {what}{by}{counted}"
    elif outcome == "failed":
        sending = data.get("action") == "send-to-agent" or data.get("by") == "operator"
        line = f"could not send {what}" if sending else "could not act"
        line += f"{by}{counted}{why}"
    elif outcome == "suggested":
        line = f"suggests sending {what}; waiting for the operator{counted}"
    elif outcome == "escalated":
        line = f"escalated — {reason or 'the operator decides'}"
    elif outcome == "orchestrator":
        line = f"handed to {_text(data.get('to') or 'the orchestrator')}{counted}{why}"
    elif outcome == "notified":
        line = f"told the operator — {reason or key}"
    elif outcome == "restored":
        line = f"restored the agent{counted}{why}"
    elif outcome == "merged":
        line = f"merged{counted}{why}"
    elif outcome == "cleared" and reason and not data.get("attempt"):
        line = f"cleared{by}{why}"  # an escalation made by hand, taken back
    elif outcome == "cleared":
        count = data.get("attempt") or 0
        line = f"cleared after {count} attempt{'' if count == 1 else 's'}"
    elif outcome == "reviewing":
        line = reason or "agent review started"
    elif outcome == "held":
        line = f"auto-merge held — {reason}"
    elif outcome == "dropped":
        line = f"the suggested message was dropped{by}{why}"
    else:
        line = f"{outcome}{counted}{why}"
    return f"{key}: {line}"


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "spawned": lambda d: " ".join(
        ["spawned", *([_text(d["agent"])] if d.get("agent") else []), "on", _text(d.get("branch"))]
    ),
    "spawn-failed": lambda d: f"spawn failed: {_text(d.get('error'))}",
    "backlog": lambda d: (
        f"picked up issue #{_text(d.get('issue'))} from the backlog (label {_text(d.get('label'))})"
        + ("" if d.get("marked") else "; the tracker was not labelled")
    ),
    "activity": _state_change,
    "lifecycle": _lifecycle,
    "pr": _pr,
    "ci-failed": _ci_failed,
    "ci-rerun": lambda d: f"CI started again at {_sha(d.get('head_sha'))}",
    "message": _message,
    "responded": _responded,
    "approved": lambda d: f"approved at {_sha(d.get('head_sha'))}",
    "killed": lambda d: "killed; " + _killed(d),
    "leftovers-removed": lambda d: "leftovers removed; " + _killed(d),
    "kill-failed": lambda d: f"kill stopped: {_text(d.get('error'))}",
    "restored": lambda d: f"restored (attempt {d.get('attempt') or '?'})",
    "merged": _merged,
    "repaired": lambda d: f"repaired as {_text(d.get('lifecycle'))}: {_text(d.get('problem'))}",
    "adopted": lambda d: (
        f"adopted by {_text(d.get('by'))} as {_text(d.get('lifecycle'))}"
        f" (from {_text(d.get('from'))})"
    ),
    "reaction": _reaction,
    "review": lambda d: (
        f"{_text(d.get('reviewer'))} "
        f"{'approved' if d.get('verdict') == 'approved' else 'requested changes'} at "
        f"{_sha(d.get('head_sha'))} ({d.get('comments') or 0} comment(s))"
        + (f": {_text(d['summary'])}" if d.get("summary") else "")
    ),
    "review-comment": lambda d: (
        f"review comment on {_text(d.get('path'))}:{d.get('line')} at {_sha(d.get('head_sha'))}"
    ),
}
"""Per event kind, its sentence."""


def summary(kind: str, data: Mapping[str, Any]) -> str:
    """One line saying what the event of ``kind`` with ``data`` means; an event an agent
    caused through the CLI (``by``: its session id, :mod:`core.provenance`) ends with
    ``by <id>``."""
    line = _sentence(kind, data)
    by = data.get("by")
    if isinstance(by, str) and by and by != "operator" and by not in line:
        line += f" — by {_text(by)}"
    return line


def _sentence(kind: str, data: Mapping[str, Any]) -> str:
    describe = _SUMMARIES.get(kind)
    if describe is not None:
        try:
            return describe(data)
        except (TypeError, ValueError, AttributeError):
            pass  # an older or odd shape of a known kind: its fields still say something
    return "; ".join(f"{key}: {_text(value)}" for key, value in data.items()) or "-"


def known_kinds() -> list[str]:
    """The kinds that have a sentence of their own."""
    return sorted(_SUMMARIES)
