"""The reconciler: one tick turns runtime facts and agent signals into recorded state.

A tick makes one batched tmux call (``list-panes -a``) for every session, asks each agent
plugin for its signals, fuses them, and writes a session only when something a user would
see has changed — each change is one event in the log, so followers see changes only.

PRs are refreshed in the same tick through the project's SCM plugin: one ``heads`` call
(one ``git for-each-ref``) per repository, git work only for a new pair of head and base
commits (the plugin caches the rest), and CI started in the background for a new head.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from core.activity.fusion import fuse
from core.activity.starts import of_this_start
from core.ci_events import KIND as CI_FAILED
from core.ci_events import ci_failed_data
from core.locations import Locations
from core.manifest import read_manifest
from core.models import (
    ACTIVE_LIFECYCLES,
    Activity,
    ActivitySignal,
    ActivityState,
    Event,
    Lifecycle,
    Role,
    Session,
    SessionPR,
    SignalSource,
)
from core.plugin_failures import PLUGIN_FAILURES
from core.redact import redact
from core.scm import Scm, ScmNotReadyError, ScmTarget, ScmUnavailableError
from core.slots import Agent, AgentContext, PaneInfo, Runtime
from core.store import Store
from core.zones import zone_of

if TYPE_CHECKING:
    from core.config import Config
    from core.store import SessionChanges


_AGENT_RECORDS = frozenset({SignalSource.HOOK, SignalSource.STATUS_FILE, SignalSource.TRANSCRIPT})
"""Signals the agent writes itself (a pane's capture time says nothing of its progress)."""
PR_INTERVAL = 3.0
"""Seconds between two refreshes of every session's PR state by the timer tick."""


@dataclass(frozen=True)
class ReconcilerDeps:
    """What a tick reads and writes through; the engine hands in its own.

    Plugins and the config are asked for on each use: a config reload may change them
    under a long-running reconciler.
    """

    store: Store
    locations: Locations
    clock: Callable[[], float]
    config: Callable[[], Config]
    runtime: Callable[[], Runtime]
    agent: Callable[[str], Agent]
    context: Callable[[Session], AgentContext]
    """What an agent plugin needs to know about a session."""
    scm: Callable[[str], Scm]
    """The SCM plugin of a project, by project id."""
    scm_target: Callable[[Session], ScmTarget]
    """What the SCM plugin needs to know about a session's branch."""


class Reconciler:
    """Runs ticks over one store; keeps nothing a crash would need (the store has it)."""

    def __init__(self, deps: ReconcilerDeps) -> None:
        """Reconcile the sessions of ``deps.store`` with the plugins ``deps`` gives."""
        self.deps = deps
        self.orphans: set[str] = set()
        """tmux sessions named like ours that no record owns (seen in the last tick)."""
        self._prs_at = float("-inf")
        self.last_signal: dict[str, float] = {}
        """When each session's agent last wrote one of its own records (hook, status file,
        transcript), as seen by this process: what tells a stuck agent from a busy one."""

    def tick(self, only: str | None = None, *, pr_interval: float = 0.0) -> list[Event]:
        """Reconcile every live-ish session (or just ``only``); the events it recorded.

        PR state is refreshed too, unless it was less than ``pr_interval`` seconds ago (the
        timer loop passes :data:`PR_INTERVAL`; an explicit call wants it fresh).
        """
        deps = self.deps
        events, sessions, now = self._observe(only)
        # PR state costs git calls and changes on the scale of commits and CI runs, not
        # hook events: a timer loop refreshes it every PR_INTERVAL seconds only.
        if only is None and now - self._prs_at < pr_interval:
            return events
        self._prs_at = now if only is None else self._prs_at
        if events:  # activity changed above, and the zone in a pr event depends on it
            sessions = deps.store.list_sessions()
        live = [
            s
            for s in sessions
            if (only is None or s.id == only)
            and (s.lifecycle in ACTIVE_LIFECYCLES or s.lifecycle is Lifecycle.EXITED)
        ]
        # A timer loop must not wait on a host's network; an explicit call wants it fresh.
        events.extend(self.refresh_prs(live, wait=pr_interval <= 0))
        return events

    def observe(self, session_id: str) -> list[Event]:
        """Reconcile the agent state (activity, lifecycle) of one session, nothing else.

        What ``send`` and ``respond`` read before acting: no PR refresh, so no waiting on
        a host and no CI run started on the operator's behalf.
        """
        return self._observe(session_id)[0]

    def _observe(self, only: str | None) -> tuple[list[Event], list[Session], float]:
        """The agent-state part of a tick: its events, the sessions read before it, its time."""
        deps = self.deps
        panes = deps.runtime().list_panes()
        sessions = deps.store.list_sessions()
        known = {s.tmux for s in sessions}
        self.orphans = {name for name in panes if name.startswith("ao-") and name not in known}
        events: list[Event] = []
        now = deps.clock()
        for session in sessions:
            if only is not None and session.id != only:
                continue
            if (
                session.lifecycle not in ACTIVE_LIFECYCLES
                and session.lifecycle is not Lifecycle.EXITED
            ):
                continue
            event = self._reconcile(session, panes.get(session.tmux), now)
            if event is not None:
                events.append(event)
        return events, sessions, now

    def refresh_prs(self, sessions: list[Session], *, wait: bool) -> list[Event]:
        """Refresh the ``pr`` of ``sessions``; one ``heads`` call per repository.

        ``wait`` is passed to the plugin's ``prefetch``: False never blocks on a host.
        """
        deps = self.deps
        by_project: dict[str, list[Session]] = {}
        for session in sessions:
            # The orchestrator and reviewers deliver no work: their branch is never a PR
            # (a reviewer's starts at its author's head), so no CI, review or merge on it.
            if session.role is Role.WORKER:
                by_project.setdefault(session.project, []).append(session)
        events: list[Event] = []
        for project_id, group in by_project.items():
            project = deps.config().projects.get(project_id)
            if project is None:
                continue
            try:
                scm = deps.scm(project_id)
                targets = [deps.scm_target(s) for s in group]
                names = [t.branch for t in targets] + [t.base for t in targets]
                heads = scm.heads(project.path, names)
                scm.prefetch(targets, deps.store, wait=wait)
            except PLUGIN_FAILURES:
                continue  # a broken repo or plugin must not stop the agents' tick
            for session in group:
                if _stopped_on_purpose(deps.locations, session):
                    # A merge, kill or restore owns the session until it records what it
                    # did: a head it makes on the way (a merge's WIP save) is not news, and
                    # a CI run started on it would find its worktree gone.
                    continue
                try:
                    written = self._refresh_pr(scm, session, heads)
                except ScmNotReadyError:
                    continue  # the first answer is on its way: keep what the store has
                except ScmUnavailableError as exc:
                    written = self._pr_problem(session, str(exc))
                except PLUGIN_FAILURES:
                    continue
                events.extend(written)
        return events

    def _refresh_pr(self, scm: Scm, session: Session, heads: dict[str, str]) -> list[Event]:
        deps = self.deps
        target = deps.scm_target(session)
        head = heads.get(target.branch)
        base_head = heads.get(target.base)
        if not head or not base_head:
            return []
        pr = scm.status(target, deps.store, head, base_head)
        # Once per head: the store refuses a second run of the same sha.
        new_head = pr is not None and pr.ci == "none" and target.ci is not None
        if new_head and scm.start_ci(target, deps.store, head):
            pr = scm.status(target, deps.store, head, base_head)
        new = None if pr is None else pr.to_session_pr()
        failed = ci_failed_data(session.pr, pr)
        return self._write_pr(session, new, head if pr is None else pr.head_sha, failed)

    def _pr_problem(self, session: Session, problem: str) -> list[Event]:
        """Record that the host could not be asked: the last known PR (if any) says why."""
        known = session.pr or SessionPR("unknown")
        new = replace(known, problem=problem, mergeable=False)
        if new.state == "unknown":
            new = replace(new, blockers=(f"SCM unavailable: {problem}",))
        return self._write_pr(session, new, known.head_sha)

    def _write_pr(
        self,
        session: Session,
        new: SessionPR | None,
        head: str,
        ci_failed: dict[str, Any] | None = None,
    ) -> list[Event]:
        """Store ``new`` as the session's PR and log a ``pr`` event, unless nothing changed;
        with ``ci_failed``, a ``ci-failed`` event too, in the same transaction."""
        deps = self.deps
        if new == session.pr:
            return []
        after = replace(session, pr=new)
        data = {
            "state": "none" if new is None else new.state,
            "previous": "none" if session.pr is None else session.pr.state,
            "ci": None if new is None else new.ci,
            "review": None if new is None else new.review,
            "blockers": [] if new is None else list(new.blockers),
            "problem": None if new is None else new.problem or None,
            "head_sha": head,
            "zone": zone_of(after).value,
            "previous_zone": zone_of(session).value,
        }
        expect = _snapshot(session)
        more: list[tuple[str, dict[str, Any]]] = []
        if ci_failed is not None:
            # Told once per failing run: when another process (a CLI `ci --wait`) stored
            # this change first, the PR is no longer the one read and nothing is written.
            expect["pr"] = session.pr
            more.append((CI_FAILED, ci_failed))
        written = deps.store.update_session_if(
            session.id, expect, pr=new, event=("pr", data), more_events=more
        )
        if written is None:
            return []
        now = deps.clock()
        return [Event(0, now, session.id, kind, d) for kind, d in [("pr", data), *more]]

    def _reconcile(self, session: Session, pane: PaneInfo | None, now: float) -> Event | None:
        deps = self.deps
        extra_updates: dict[str, Any] = {}
        if pane is None or pane.dead:
            if _stopped_on_purpose(deps.locations, session):
                return None  # a kill, merge or restore under way records what it did
            reason = _exit_reason(pane)
            lifecycle = Lifecycle.EXITED
            # Dated by the runtime's record of the exit when it keeps one: an agent that
            # died while no process watched has been gone that long, not since this tick.
            died = now if pane is None or pane.dead_at is None else pane.dead_at
            signals = [ActivitySignal(ActivityState.EXITED, SignalSource.RUNTIME, died, reason)]
        else:
            lifecycle = Lifecycle.RUNNING
            reason = "running"
            try:
                agent = deps.agent(session.agent)
                runtime = deps.runtime()
                observation = agent.observe(
                    deps.context(session), pane, lambda: runtime.capture(pane.pane_id)
                )
            except Exception as exc:
                # One session's unreadable files (or a plugin bug they trigger) must not
                # stop the tick for the fleet: this session says why it cannot be read.
                signals = [unreadable_signal(exc, now)]
            else:
                # A restored session's files still hold what the killed process wrote.
                signals = of_this_start(observation.signals, session.extra)
                records = [s.at for s in signals if s.source in _AGENT_RECORDS]
                if records:
                    seen = self.last_signal.get(session.id, 0.0)
                    self.last_signal[session.id] = max(seen, *records)
                extra_updates = {
                    k: v for k, v in observation.extra.items() if session.extra.get(k) != v
                }
        activity = fuse(signals, session.activity, now)
        changed_activity = _visible(activity) != _visible(session.activity)
        changed_lifecycle = lifecycle is not session.lifecycle
        fields: SessionChanges = {}
        if extra_updates:
            fields["extra"] = {**session.extra, **extra_updates}
        if pane is not None and pane.pane_id != session.pane_id:
            fields["pane_id"] = pane.pane_id
        if not (changed_activity or changed_lifecycle):
            if fields:
                deps.store.update_session_if(session.id, _snapshot(session), **fields)
            return None
        before_zone = zone_of(session)
        after = replace(session, activity=activity, lifecycle=lifecycle)
        data = {
            "state": activity.state.value,
            "previous": session.activity.state.value,
            "source": activity.source.value,
            "detail": activity.detail,
            "waiting_for": None if activity.waiting_for is None else activity.waiting_for.to_json(),
            "lifecycle": lifecycle.value,
            "zone": zone_of(after).value,
            "previous_zone": before_zone.value,
        }
        kind = "lifecycle" if changed_lifecycle else "activity"
        fields["activity"] = activity
        if changed_lifecycle:
            fields["lifecycle"], fields["lifecycle_reason"] = lifecycle, reason
        written = deps.store.update_session_if(
            session.id, _snapshot(session), event=(kind, data), **fields
        )
        return None if written is None else Event(0, now, session.id, kind, data)


def _stopped_on_purpose(locations: Locations, session: Session) -> bool:
    """Whether an operation that stops the agent (kill, merge, restore) runs on it now.

    Its agent is gone because the operator asked for it: recording "exited" meanwhile would
    put the session in Needs you, with a toast and a bell, for the second it takes.
    """
    manifest = read_manifest(locations.session_dir(session.id))
    return manifest is not None and manifest.in_progress and manifest.operation != "spawn"


def unreadable_signal(exc: BaseException, now: float) -> ActivitySignal:
    """The signal of a session whose agent signals could not be read at all."""
    detail = f"ao-tui cannot read this agent's signals: {type(exc).__name__}: "
    return ActivitySignal(ActivityState.ERROR, SignalSource.ENGINE, now, detail + _one_line(exc))


def _one_line(exc: BaseException) -> str:
    return redact(" ".join(str(exc).split()))[:200] or "(no message)"


def _snapshot(session: Session) -> SessionChanges:
    """What must still hold for a tick's decision about ``session`` to be written."""
    return {"lifecycle": session.lifecycle, "attempt": session.attempt}


def _visible(activity: Activity) -> tuple[ActivityState, str, str]:
    """What a user sees of an activity; ``since`` moving alone is not a change."""
    return (activity.state, activity.detail, repr(activity.waiting_for))


def _exit_reason(pane: PaneInfo | None) -> str:
    if pane is None:
        return "tmux session gone"
    if pane.dead_status is not None:
        return exit_reason_of(pane.dead_status)
    return "agent exited"


def exit_reason_of(status: int) -> str:
    """The recorded reason of an agent that exited with ``status``."""
    return f"agent exited with status {status}"
