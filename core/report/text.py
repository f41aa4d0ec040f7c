"""The report in words: the summary line and one line per session, for the CLI, the
cockpit screen and the scheduled notification alike."""

from __future__ import annotations

from core.report.build import Report, SessionLine

_SEP = " · "


def summary(report: Report) -> str:
    """``15 sessions · 6 merged · 4 escalated (2 auth, 1 CI, 1 conflict) · 3 working · 2 killed``:
    outcomes with no session are left out; those with a cause list their causes."""
    total = len(report.lines)
    parts = [f"{total} session{'' if total == 1 else 's'}"]
    for outcome, count in report.counts().items():
        if not count:
            continue
        causes = report.causes(outcome)
        named = ", ".join(f"{n} {cause}" for cause, n in causes.items() if cause)
        parts.append(f"{count} {outcome}" + (f" ({named})" if named else ""))
    return _SEP.join(parts)


def duration(seconds: float) -> str:
    """``45m``, ``3h05m``, ``2d4h``: short enough for a table cell."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def tokens_text(tokens: int | None) -> str:
    """``48.2k``, ``1.1M``, ``950``, or ``—`` when the agent reported none."""
    if tokens is None:
        return "—"
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.1f}M"
    return f"{tokens / 1000:.1f}k" if tokens >= 1000 else str(tokens)


def cost_text(line: SessionLine) -> str:
    """``$0.61``; ``~$0.61`` when priced by the table rather than reported; ``—``."""
    if line.cost_usd is None:
        return "—"
    return ("~" if line.cost_estimated else "") + f"${line.cost_usd:.2f}"


def outcome_text(line: SessionLine) -> str:
    """``escalated (auth)``, ``merged``."""
    return f"{line.outcome} ({line.cause})" if line.cause else line.outcome


HEADERS = ("session", "outcome", "CI", "react", "human", "to merge", "tokens", "cost")
"""The columns of :func:`cells`."""


def cells(line: SessionLine) -> tuple[str, ...]:
    """One session's row, as :data:`HEADERS` names the columns."""
    return (
        line.session,
        outcome_text(line),
        str(line.ci_cycles),
        str(line.reactions),
        str(line.interventions),
        "—" if line.time_to_merge is None else duration(line.time_to_merge),
        tokens_text(line.tokens),
        cost_text(line),
    )


def render(report: Report) -> str:
    """The whole report as plain text: the summary, a table, and each failure's evidence."""
    rows = [HEADERS, *(cells(line) for line in report.lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    out = [summary(report), ""]
    for row in rows:
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    whys = [line for line in report.lines if line.why]
    if whys:
        out.append("")
        out.extend(f"{line.session}: {line.why}" for line in whys)
    return "\n".join(line.rstrip() for line in out)
