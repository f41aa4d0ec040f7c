"""Fuse activity signals from several sources into one :class:`~core.models.Activity`.

No source is trusted alone: hooks miss interrupts and some turn ends,
transcripts lag and are silent while a permission prompt waits, status files are
undocumented, panes change with every release. The rules, applied in order:

1. **Exit wins.** A ``runtime`` signal saying ``exited`` (pane dead or gone) decides, whatever
   the other sources still say.
2. **Newest strong evidence.** Among hook and status-file signals the newest ``at`` wins;
   within :data:`TIE_WINDOW` seconds the stronger source wins (hook > status_file). Both
   are written the moment the agent's state changes.
3. **The transcript fills gaps and catches what hooks miss.** With no hook/status signal,
   the transcript decides. Otherwise a transcript signal newer than the chosen one wins
   only when it says idle, error or retrying: a user interrupt, an API error (or a retry
   after one), a turn end that fired no hook. Its "working" never overrides, because the
   ``tool_use`` line that precedes a permission prompt can be stamped after the
   PermissionRequest hook.
4. **The pane reconciles.** A capture shows the screen now, not when the state began. It
   decides when nothing else does; it overrides the candidate when it shows a permission
   prompt, or when the candidate says working/waiting and the screen says otherwise (a
   prompt the hooks did not report, an answered prompt whose tool still runs, a turn end
   or interrupt nobody logged, API retries while every other source says "busy"). It
   never overrides idle or error with working: a Stop hook is definitive and a spinner can
   linger for a frame. A capture older than the candidate is ignored.
5. **Since.** When the fused state equals ``previous.state``, ``since`` is kept, so the
   board can say how long a session has been in its state; otherwise it is when the
   evidence says the state began, by the evidence's own clock, not when ao-tui first saw
   it: the winning signal's ``began`` (the first record of its run: the hook's
   ``PermissionRequest`` under a later ``Notification``, a turn's first transcript line),
   else its ``at`` (hook ``ao_ts``, transcript timestamp, status ``statusUpdatedAt`` or
   mtime), clamped to ``[previous.since, now]``. A pane capture shows the screen now and
   dates nothing: when it confirms the state the other sources report (the prompt the
   hook logged 90 s ago), their time is kept; a state only the pane shows is dated from
   its first sighting, which is detection time by nature.
6. **Detail.** A bare detail (a status file only says "idle") is replaced by that of a signal
   agreeing on the state within :data:`TIE_WINDOW` (the transcript's "interrupted by user").
7. **No evidence.** With no usable signal, ``previous`` is returned unchanged (nothing
   says it changed), or an ``unknown`` activity if there is none.

``waiting_for`` is carried from the winning signal; a permission prompt found on the pane
fills in a tool or command that the winning hook/status signal lacked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.models import (
    NOTHING_ASKED,
    Activity,
    ActivitySignal,
    ActivityState,
    SignalSource,
    WaitingFor,
)

TIE_WINDOW = 1.0
"""Seconds within which two signals count as simultaneous and source strength decides."""

STRENGTH: dict[SignalSource, int] = {
    SignalSource.RUNTIME: 5,
    SignalSource.HOOK: 4,
    SignalSource.STATUS_FILE: 3,
    SignalSource.TRANSCRIPT: 2,
    SignalSource.PANE: 1,
    SignalSource.ENGINE: 0,
    SignalSource.NONE: 0,
}
"""Source strength used to break ties, strongest first (hook > status_file > transcript > pane)."""

_PANE_OVERRIDABLE = frozenset({ActivityState.WORKING, ActivityState.WAITING_INPUT})
_TRANSCRIPT_OVERRIDES = frozenset({ActivityState.IDLE, ActivityState.ERROR, ActivityState.RETRYING})


def _newest(signals: Sequence[ActivitySignal]) -> ActivitySignal | None:
    """The newest signal; within the tie window, the one from the strongest source."""
    best: ActivitySignal | None = None
    for signal in signals:
        if best is None:
            best = signal
            continue
        if abs(signal.at - best.at) <= TIE_WINDOW:
            if STRENGTH[signal.source] > STRENGTH[best.source] or (
                STRENGTH[signal.source] == STRENGTH[best.source] and signal.at > best.at
            ):
                best = signal
        elif signal.at > best.at:
            best = signal
    return best


def _pick(signals: Sequence[ActivitySignal]) -> ActivitySignal | None:
    """Rules 1-4: the signal that decides the fused state."""
    usable = [s for s in signals if s.state is not ActivityState.UNKNOWN]
    exits = [
        s for s in usable if s.source is SignalSource.RUNTIME and s.state is ActivityState.EXITED
    ]
    if exits:
        return max(exits, key=lambda s: s.at)
    structured = [s for s in usable if s.source in (SignalSource.HOOK, SignalSource.STATUS_FILE)]
    transcript = _newest([s for s in usable if s.source is SignalSource.TRANSCRIPT])
    pane = _newest([s for s in usable if s.source is SignalSource.PANE])
    others = [
        s
        for s in usable
        if s.source in (SignalSource.RUNTIME, SignalSource.ENGINE, SignalSource.NONE)
    ]
    candidate = _newest(structured)
    if transcript is not None and (
        candidate is None
        or (transcript.at > candidate.at and transcript.state in _TRANSCRIPT_OVERRIDES)
    ):
        candidate = transcript
    if candidate is None:
        candidate = _newest(others)
    if pane is not None and (candidate is None or pane.at >= candidate.at):
        if candidate is None or pane.state is ActivityState.WAITING_INPUT:
            return _with_pane_details(pane, candidate)
        if candidate.state in _PANE_OVERRIDABLE and pane.state is not candidate.state:
            return pane
    return candidate


def _with_pane_details(pane: ActivitySignal, candidate: ActivitySignal | None) -> ActivitySignal:
    """A pane permission prompt, enriched with the candidate's tool/command when it had one."""
    if candidate is None or candidate.state is not ActivityState.WAITING_INPUT:
        return pane
    shown, asked = pane.waiting_for, candidate.waiting_for
    if shown is None or asked is None:
        return pane
    merged = WaitingFor(
        shown.kind or asked.kind, shown.tool or asked.tool, shown.command or asked.command
    )
    return ActivitySignal(pane.state, pane.source, pane.at, pane.detail, merged)


def fuse(signals: Sequence[ActivitySignal], previous: Activity | None, now: float) -> Activity:
    """One activity from this tick's signals and the previous fused activity (see module doc)."""
    winner = _pick(signals)
    if winner is None:
        if previous is not None:
            return previous
        return Activity(ActivityState.UNKNOWN, SignalSource.NONE, now)
    waiting_for = winner.waiting_for
    if winner.state is ActivityState.WAITING_INPUT and waiting_for is not None:
        waiting_for = _fill_from_pane(waiting_for, signals)
    if previous is not None and previous.state is winner.state:
        since = previous.since
    else:
        since = min(_began(winner, signals, now), now)
        if previous is not None:
            since = max(since, min(previous.since, now))
    return Activity(
        state=winner.state,
        source=winner.source,
        since=since,
        detail=_explained(winner, signals),
        waiting_for=waiting_for,
    )


def _began(winner: ActivitySignal, signals: Sequence[ActivitySignal], now: float) -> float:
    """Rule 5: when the evidence says the winning state began."""
    if winner.source is SignalSource.PANE:
        # What the other sources decide without the screen: if it is the same state (and
        # the same question), the screen only confirms what they dated.
        confirmed = _pick([s for s in signals if s.source is not SignalSource.PANE])
        if confirmed is None or not _same_reading(confirmed, winner):
            return now
        winner = confirmed
    return winner.began if winner.began is not None else winner.at


def _same_reading(signal: ActivitySignal, pane: ActivitySignal) -> bool:
    """Whether ``signal`` reports what the pane shows: the same state and, for a prompt,
    no other tool or command (a pane line may be cut, so a prefix agrees)."""
    if signal.state is not pane.state:
        return False
    asked, shown = signal.waiting_for or NOTHING_ASKED, pane.waiting_for or NOTHING_ASKED
    if asked.tool and shown.tool and asked.tool != shown.tool:
        return False
    said = " ".join(asked.command.split())
    seen = " ".join(shown.command.split())
    return not (said and seen) or said.startswith(seen) or seen.startswith(said)


def _explained(winner: ActivitySignal, signals: Sequence[ActivitySignal]) -> str:
    """The winner's detail, or a simultaneous agreeing signal's when the winner's is bare.

    A status file only says "idle"; the transcript line written in the same instant says
    why ("interrupted by user"), which is what the operator wants to read.
    """
    if winner.detail and winner.detail != winner.state.value:
        return winner.detail
    for signal in signals:
        if (
            signal is not winner
            and signal.state is winner.state
            and signal.detail
            and abs(signal.at - winner.at) <= TIE_WINDOW
        ):
            return signal.detail
    return winner.detail


def _fill_from_pane(waiting_for: WaitingFor, signals: Sequence[ActivitySignal]) -> WaitingFor:
    """Fill an empty tool/command of ``waiting_for`` from a pane permission prompt, if any."""
    if waiting_for.tool and waiting_for.command:
        return waiting_for
    for signal in signals:
        if (
            signal.source is SignalSource.PANE
            and signal.state is ActivityState.WAITING_INPUT
            and signal.waiting_for is not None
        ):
            shown = signal.waiting_for
            return replace(
                waiting_for,
                tool=waiting_for.tool or shown.tool,
                command=waiting_for.command or shown.command,
            )
    return waiting_for
