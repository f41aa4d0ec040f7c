"""The plain text of ``ao-tui reactions`` and ``ao-tui reactions history``, 80 columns wide.

The listing is one table per project: each key's effective action, switch, priority,
budget, escalation and mode, a ``*`` on every value the config set, then one line per set
value saying which block set it (``projects.app.reactions.ci-failed``). Scripts read the
same facts with ``--json``. No Rich: these verbs must stay light. Text from the config or
from elsewhere (messages, reasons, sent text) is made inert before it is printed.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence

from core.event_summary import summary
from core.inert import inert
from core.models import Event
from core.reactions.ledger import Episode, Send
from core.reactions.rules import DEFAULT, Rule

WIDTH = 80
SET = "*"
"""Marks a value some config block set (the lines under the table say which)."""

_COLUMNS = (
    ("KEY", 18, "key"),
    ("ACTION", 14, "action"),
    ("AUTO", 4, "auto"),
    ("PRIORITY", 8, "priority"),
    ("RETRIES", 7, "retries"),
    ("ESCALATE", 8, "escalate_after"),
    ("MODE", 8, "mode"),
)
"""Header, width and setting of each column (two spaces indent, one between)."""

_TIERS = {1: "the agent", 2: "the orchestrator", 3: "the operator"}


def seconds_text(seconds: float | None) -> str:
    """``30m``, ``1h30m``, ``90s`` (how the config writes durations); ``-`` for None."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


def _value(rule: Rule, setting: str) -> str:
    if setting == "key":
        return rule.key
    if setting == "auto":
        text = "yes" if rule.auto else "no"
    elif setting == "escalate_after":
        if rule.escalate_count is not None:
            text = str(rule.escalate_count)
        else:
            text = seconds_text(rule.escalate_seconds)
    elif setting == "retries":
        text = "-" if rule.retries is None else str(rule.retries)
    else:
        text = str(getattr(rule, setting))
    return text + (SET if rule.sources.get(setting, DEFAULT) != DEFAULT else "")


def _row(cells: Sequence[str]) -> str:
    padded = [cell.ljust(width) for cell, (_, width, _) in zip(cells, _COLUMNS, strict=True)]
    return ("  " + " ".join(padded)).rstrip()


def project_text(project_id: str, rules: dict[str, Rule], switched: str | None) -> list[str]:
    """One project's table, then where each configured value came from."""
    head = f"{project_id}:"
    if switched:
        head += f" every reaction is off ({switched})"
    lines = [head, _row([name for name, _, _ in _COLUMNS])]
    for rule in rules.values():
        lines.append(_row([_value(rule, setting) for _, _, setting in _COLUMNS]))
    for rule in rules.values():
        if rule.threshold_seconds is not None:
            lines.append(
                f"  {rule.key} counts after {seconds_text(rule.threshold_seconds)} with no news "
                "(threshold"
                f"{SET if rule.sources.get('threshold', DEFAULT) != DEFAULT else ''})"
            )
    by_source: dict[str, list[str]] = {}
    for rule in rules.values():
        for setting, source in rule.sources.items():
            if source == DEFAULT:
                continue
            # A block's own ``mode:`` applies to every key that sets none: name the keys.
            word = rule.key if source.endswith(".mode") else _setting_text(rule, setting)
            by_source.setdefault(source, []).append(word)
    if by_source:
        lines.append(f"  {SET} set in the config, by block:")
    for source, said in by_source.items():
        text = ", ".join(said)
        if source.endswith(".mode"):
            mode = next(r.mode for r in rules.values() if r.sources.get("mode") == source)
            text = f"{mode} for " + ("every key" if len(said) == len(rules) else text)
        lines += textwrap.wrap(
            f"{source}: {text}",
            WIDTH,
            initial_indent="    ",
            subsequent_indent="        ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    return lines


_CONFIG_NAMES = {"escalate_after": "escalateAfter"}
"""Settings whose name in the config (AO's spelling) differs from the field's."""


def _setting_text(rule: Rule, setting: str) -> str:
    """``retries 3``, ``escalateAfter 30m``, ``message 'Fix it…'`` as the config says it."""
    if setting == "escalate_after":
        value = str(rule.escalate_count or seconds_text(rule.escalate_seconds))
    elif setting == "threshold":
        value = seconds_text(rule.threshold_seconds)
    elif setting == "message":
        text = inert(rule.message or "", one_line=True)
        value = repr(text if len(text) <= 24 else text[:23] + "…")
    else:
        value = str(getattr(rule, setting))
        if setting == "auto":
            value = value.lower()
    return f"{_CONFIG_NAMES.get(setting, setting)} {value}"


def listing_text(
    state: str,
    paused: Sequence[str],
    projects: dict[str, dict[str, Rule]],
    off: dict[str, str],
    tier2: dict[str, tuple[float | None, str]] | None = None,
) -> str:
    """The whole ``ao-tui reactions`` output; ``tier2``: per project, the orchestrator's
    time to act on an escalation (None: off) and where that came from."""
    lines = [f"reactions: {state}"]
    sessions = sorted(scope for scope in paused if scope != "*")
    if sessions:
        lines.append(_cut("paused for: " + ", ".join(sessions)))
    for project_id, rules in projects.items():
        lines.append("")
        lines += project_text(project_id, rules, off.get(project_id))
        if tier2 is not None and project_id in tier2:
            lines += tier2_text(*tier2[project_id])
    return "\n".join(lines)


def tier2_text(seconds: float | None, source: str) -> list[str]:
    """The lines saying what tier 2 (the orchestrator session) does in a project."""
    set_by = "" if source == DEFAULT else f" ({source})"
    if seconds is None:
        said = f"escalations skip the orchestrator: orchestratorTimeout off{set_by}"
    else:
        said = (
            f"escalations go to a running orchestrator first; it has {seconds_text(seconds)} "
            f"to act{set_by}"
        )
    return textwrap.wrap(
        said,
        WIDTH,
        initial_indent="  ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def history_text(
    session_id: str,
    state: str,
    paused: bool,
    episodes: Sequence[Episode],
    sends: Sequence[Send],
    events: Sequence[Event],
    budgets: dict[str, int | None],
) -> str:
    """The whole ``ao-tui reactions history ID`` output: episodes, sends (with the text
    sent), then the log's reaction events. Reasons and texts are never cut: they are what
    the operator reads this for."""
    switch = "paused for this session" if paused else state
    lines = [f"{session_id}: reactions {switch}"]
    lines.append("episodes:" if episodes else "episodes: none")
    for episode in episodes:
        budget = budgets.get(episode.key)
        count = f"{episode.attempts}/{budget}" if budget else str(episode.attempts)
        until = "open" if episode.closed_at is None else f"closed {_when(episode.closed_at)}"
        lines.append(
            f"  #{episode.id} {episode.key}  {_when(episode.opened_at)} → {until}  attempts {count}"
        )
        lines.append(f"     tier {episode.tier}: {_TIERS.get(episode.tier, '?')}")
        if episode.reason:
            lines.append(f"     reason: {inert(episode.reason, one_line=True)}")
    lines.append("sends:" if sends else "sends: none")
    keys = {episode.id: episode.key for episode in episodes}
    for send in sends:
        done = "" if send.done_at is None else f" {_when(send.done_at)}"
        detail = f" · {inert(send.detail, one_line=True)}" if send.detail else ""
        key = keys.get(send.episode_id, "?")
        which = f"handed to {send.session_id}" if send.handoff else f"attempt {send.attempt}"
        lines.append(f"  #{send.id} {key} {which}: {send.state}{done}{detail}")
        lines += [f"     | {line}" for line in inert(send.text).splitlines() or [""]]
    lines.append("events:" if events else "events: none")
    for event in events:
        said = inert(summary(event.kind, event.data), one_line=True)
        lines.append(f"  {event.seq:>6} {_when(event.ts)} {said}")
    return "\n".join(lines)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _cut(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"
