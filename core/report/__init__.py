"""The morning report: what every session came to, why, and what it cost.

:mod:`.build` decides each session's outcome and figures, :mod:`.causes` names a failure's
cause, :mod:`.tally` counts the event log, :mod:`.cost` prices tokens and :mod:`.text` puts
it in words. The CLI (``ao-tui report``), the cockpit's report screen and the scheduled
notification all read :func:`build_report`.
"""

from core.report.build import OUTCOMES, Report, SessionLine, build_report
from core.report.text import render, summary

__all__ = ["OUTCOMES", "Report", "SessionLine", "build_report", "render", "summary"]
