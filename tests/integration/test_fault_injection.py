"""The real CLI killed with SIGKILL at many points of spawn, kill, restore and merge.

One world (a git repo, the shell agent, local SCM, real tmux on a private socket) goes
through every named crash point the engine has (:mod:`core.faults`; the process kills
itself there) and then through a sweep of kills after a delay, which land wherever the
process happens to be (between or inside git and tmux calls; children it started run to
their end, as they do when a process is killed with ``kill -9``). After each kill:

- the database passes ``PRAGMA integrity_check``;
- every piece of uncommitted work written before still exists (in its worktree, as a
  commit on its branch, or merged into the base);
- every artifact (worktree, branch, tmux session, state folder) is owned by a row or
  reported by ``doctor``;
- ``doctor --fix`` leaves a world ``doctor`` has nothing to say about, in which every
  artifact has a row.

At the end, ``restore`` and ``kill`` work on every session doctor adopted. Two probes kill
git itself (holding a worktree's ``index.lock``; working in a merge's scratch worktree):
what git leaves must be cleared by ``doctor --fix`` with no work lost.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs a real tmux"),
]

SPAWN_POINTS = ["spawn.allocated", "spawn.manifest", "spawn.worktree", "spawn.started"]
SPAWN_POINTS += ["spawn.recorded"]
KILL_POINTS = ["kill.marked", "kill.stopped", "kill.saved", "kill.removed", "kill.recorded"]
RESTORE_POINTS = ["restore.marked", "restore.reopened", "restore.work-back", "restore.started"]
RESTORE_POINTS += ["restore.recorded"]
MERGE_POINTS = ["merge.marked", "merge.landed", "merge.noted", "merge.stopped", "merge.saved"]
MERGE_POINTS += ["merge.recorded"]
OFFSETS = [0.0, 0.01, 0.03, 0.08]
"""Seconds after an operation visibly began (its session folder or its mark appeared) at
which the sweep kills the CLI: wherever it is then, between or inside git and tmux calls."""


@dataclass
class Point:
    """One kill: where, and what held afterwards."""

    name: str
    failures: list[str] = field(default_factory=list)
    gitops: list[str] = field(default_factory=list)
    """What git itself left at this kill (a stale index.lock, a merge scratch worktree),
    which doctor --fix must clear."""
    fixed: list[str] = field(default_factory=list)
    """What doctor --fix did (its actions), to show the sweep exercised it."""
    died: bool = False
    """Whether the kill came before the command ended on its own."""


@dataclass
class World:
    """The repo, the state dir and the environment every CLI call runs with."""

    root: Path
    repo: Path
    home: Path
    env: dict[str, str]
    works: list[tuple[str, str, str]] = field(default_factory=list)
    """(branch, file name, content) of every uncommitted file written into a session."""
    adopted: set[str] = field(default_factory=set)
    points: list[Point] = field(default_factory=list)

    def ao(
        self,
        *args: str,
        fault: str = "",
        kill_when: Callable[[], bool] | None = None,
        offset: float = 0.0,
        group: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI. With ``fault`` it dies at that named point. With ``kill_when`` it is
        killed ``offset`` seconds after that condition first holds: the process alone (what
        it started, git, runs on, as after ``kill -9``) or, with ``group``, together with
        its children (git killed in the middle of its work)."""
        env = dict(self.env)
        if fault:
            env["AO_TUI_FAULT_POINT"] = fault
        proc = subprocess.Popen(
            [sys.executable, "-m", "ao_tui", *args],
            cwd=self.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, to wait for its children
        )
        while kill_when is not None and proc.poll() is None:
            if kill_when():
                time.sleep(offset)
                if group:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.0005)
        out, err = proc.communicate(timeout=120)
        _wait_group(proc.pid)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def marked(self, sid: str, operation: str) -> bool:
        """Whether the session's manifest says ``operation`` runs (it has begun)."""
        try:
            data = json.loads((self.home / "sessions" / sid / "session.json").read_text())
        except (OSError, ValueError):
            return False
        return bool(data.get("operation") == operation)

    def new_session_dir(self) -> Callable[[], bool]:
        """A condition: a session folder that is not there now has appeared (a spawn began)."""
        before = set((self.home / "sessions").iterdir())
        return lambda: bool(set((self.home / "sessions").iterdir()) - before)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.repo, env=self.env, capture_output=True, text=True
        )
        return proc.stdout if proc.returncode == 0 else ""

    def tmux_sessions(self) -> dict[str, bool]:
        """Session name to whether its pane's process is alive."""
        proc = subprocess.run(
            ["tmux", "-L", self.env["AO_TUI_TMUX_SOCKET"], "list-panes", "-a", "-F",
             "#{session_name}\t#{pane_dead}"],
            env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        found: dict[str, bool] = {}
        for line in proc.stdout.splitlines():
            name, _, dead = line.partition("\t")
            found.setdefault(name, dead != "1")
        return found

    def rows(self) -> dict[str, dict[str, Any]]:
        with sqlite3.connect(self.home / "state.db") as db:
            db.row_factory = sqlite3.Row
            return {r["id"]: dict(r) for r in db.execute("SELECT * FROM sessions")}

    def artifact_ids(self) -> dict[str, list[str]]:
        """Session id to what carries it, found without ao-tui's help."""
        found: dict[str, list[str]] = {}
        for path in sorted((self.home / "worktrees" / "app").glob("app-*")):
            found.setdefault(path.name, []).append("worktree")
        for path in sorted((self.home / "sessions").glob("app-*")):
            found.setdefault(path.name, []).append("state folder")
        for branch in self.git("branch", "--list", "ao/*", "--format=%(refname:short)").split():
            sid = "-".join(branch.removeprefix("ao/").split("-")[:2])
            found.setdefault(sid, []).append("branch")
        for name in self.tmux_sessions():
            if name.startswith("ao-app-"):
                found.setdefault(name.removeprefix("ao-"), []).append("tmux")
        return found


def _wait_group(pgid: int, timeout: float = 60.0) -> None:
    """Wait until no live process is left in ``pgid`` (zombies do not count: nothing reaps
    orphans in some containers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A repo with a config for a shell agent that waits; a private home, HOME and tmux."""
    root = tmp_path_factory.mktemp("faults")
    repo = root / "repo"
    repo.mkdir()
    tmux_dir = Path("/tmp") / f"ao-tmux-{uuid.uuid4().hex[:8]}"
    tmux_dir.mkdir(mode=0o700)
    (root / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "AO_TUI_CONFIG")}
    env.update(
        AO_TUI_HOME=str(root / "home"),
        AO_TUI_TMUX_SOCKET=f"aofault-{uuid.uuid4().hex[:8]}",
        TMUX_TMPDIR=str(tmux_dir),
        TMPDIR=str(root / "tmp"),
        HOME=str(root / "user-home"),
        GIT_AUTHOR_NAME="ao test",
        GIT_AUTHOR_EMAIL="ao@test.invalid",
        GIT_COMMITTER_NAME="ao test",
        GIT_COMMITTER_EMAIL="ao@test.invalid",
        PYTEST_CURRENT_TEST=os.environ.get("PYTEST_CURRENT_TEST", "fault injection"),
    )
    w = World(root, repo, root / "home", env)
    w.git("init", "-q", "-b", "main")
    (repo / "README.md").write_text("# faults\n")
    (repo / "ao.config.yaml").write_text(
        f"projects:\n  app:\n    path: {repo}\n    defaultBranch: main\n"
        "    sessionPrefix: app\n    agent: shell\n    scm: local\n"
        "    agentConfig:\n      command: 'sleep 600'\n"
    )
    (repo / ".git" / "info" / "exclude").write_text("ao.config.yaml\n")
    w.git("add", "README.md")
    w.git("commit", "-q", "-m", "initial")
    _sweep(w)
    yield w
    subprocess.run(
        ["tmux", "-L", env["AO_TUI_TMUX_SOCKET"], "kill-server"], env=env, capture_output=True
    )
    shutil.rmtree(tmux_dir, ignore_errors=True)


def _sweep(w: World) -> None:
    started = time.monotonic()
    n = 0

    def name() -> str:
        nonlocal n
        n += 1
        return f"task number {n}"

    for point in SPAWN_POINTS:
        _crash(w, point, ["spawn", "-p", name()], fault=point)
    for point in KILL_POINTS:
        sid = _running_subject(w, name())
        _write_work(w, sid, "kill")
        _crash(w, point, ["kill", sid], fault=point)
    for point in RESTORE_POINTS:
        sid = _stopped_subject(w, name())
        _crash(w, point, ["restore", sid], fault=point)
    for point in MERGE_POINTS:
        sid = _mergeable_subject(w, name())
        _crash(w, point, ["merge", sid, "--yes", "--force"], fault=point)
    merged = w.ao("merge", _mergeable_subject(w, name()), "--yes", "--force")
    assert merged.returncode == 0, merged.stderr  # one merge that runs to its end
    for offset in OFFSETS:
        ms = f"{offset * 1000:.0f} ms"
        _crash(
            w, f"spawn, {ms} in", ["spawn", "-p", name()], when=w.new_session_dir(), offset=offset
        )
        sid = _running_subject(w, name())
        _write_work(w, sid, f"kill{ms}")
        _crash(w, f"kill, {ms} in", ["kill", sid], when=_mark(w, sid, "kill"), offset=offset)
        sid = _stopped_subject(w, name())
        _crash(
            w, f"restore, {ms} in", ["restore", sid], when=_mark(w, sid, "restore"), offset=offset
        )
        sid = _mergeable_subject(w, name())
        args = ["merge", sid, "--yes", "--force"]
        _crash(w, f"merge, {ms} in", args, when=_mark(w, sid, "merge"), offset=offset)
    _use_adopted(w)
    # git itself killed while it holds a worktree's index.lock...
    sid = _running_subject(w, name())
    _write_work(w, sid, "group-kill", files=4000)  # enough for git to hold the lock a while
    locks = w.repo / ".git" / "worktrees" / sid
    _crash(w, "kill, git killed holding index.lock", ["kill", sid],
           when=_lasting(lambda: (locks / "index.lock").exists()), group=True)  # fmt: skip
    # ... and while a merge works in its scratch worktree.
    sid = _mergeable_subject(w, name())
    scratch = w.root / "tmp"
    in_scratch = "ao-tui-merge-*/ao-tui-merge-*/.git"  # see plugins/scratch_worktrees.py
    _crash(w, "merge, git killed in the scratch worktree", ["merge", sid, "--yes", "--force"],
           when=lambda: any(scratch.glob(in_scratch)), group=True)  # fmt: skip
    w.points.append(Point(f"took {time.monotonic() - started:.0f}s"))


def _lasting(check: Callable[[], bool], seconds: float = 0.02) -> Callable[[], bool]:
    """``check``, true only once it has held for ``seconds``: a ``git status`` takes the
    index lock for a moment too, and a kill then would find it gone; ``git add`` of
    thousands of files holds it for long."""
    since: list[float] = []

    def held() -> bool:
        if not check():
            since.clear()
            return False
        if not since:
            since.append(time.monotonic())
        return time.monotonic() - since[0] >= seconds

    return held


def _status(w: World) -> dict[str, dict[str, Any]]:
    proc = w.ao("status", "--json")
    assert proc.returncode == 0, proc.stderr
    return {s["id"]: s for s in json.loads(proc.stdout)}


def _running_subject(w: World, title: str) -> str:
    """A running session: one doctor adopted as running, else a new one."""
    for sid, row in sorted(w.rows().items()):
        if row["lifecycle"] == "running" and sid in w.adopted:
            w.adopted.discard(sid)
            return sid
    proc = w.ao("spawn", "-p", title, "--json")
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout)["id"])


def _stopped_subject(w: World, title: str) -> str:
    """A killed session with saved work on its branch."""
    sid = _running_subject(w, title)
    _write_work(w, sid, "restore")
    proc = w.ao("kill", sid)
    assert proc.returncode == 0, proc.stderr
    return sid


def _mergeable_subject(w: World, title: str) -> str:
    """A running session with a commit ahead of main and uncommitted work on top."""
    sid = _running_subject(w, title)
    worktree = Path(w.rows()[sid]["worktree"])
    (worktree / f"{sid}-feature.txt").write_text(f"feature of {sid}\n")
    w.git("add", "-A", cwd=worktree)
    w.git("commit", "-q", "-m", f"feature of {sid}", cwd=worktree)
    _write_work(w, sid, "merge")
    return sid


def _write_work(w: World, sid: str, tag: str, files: int = 0) -> None:
    row = w.rows()[sid]
    name, content = f"work-{sid}-{tag}.txt", f"uncommitted work of {sid} before {tag}\n"
    (Path(row["worktree"]) / name).write_text(content)
    w.works.append((row["branch"], name, content))
    bulk = Path(row["worktree"]) / f"bulk-{tag}"
    if files:  # enough files that git add and commit take a while
        bulk.mkdir()
        for i in range(files):
            (bulk / f"{i}.txt").write_text(f"{i}\n" * 50)


def _mark(w: World, sid: str, operation: str) -> Callable[[], bool]:
    return lambda: w.marked(sid, operation)


def _crash(
    w: World,
    label: str,
    args: list[str],
    *,
    fault: str = "",
    when: Callable[[], bool] | None = None,
    offset: float = 0.0,
    group: bool = False,
) -> None:
    point = Point(label)
    w.points.append(point)
    proc = w.ao(*args, fault=fault, kill_when=when, offset=offset, group=group)
    if fault and proc.returncode != -signal.SIGKILL:
        point.failures.append(f"did not die at {fault}: rc {proc.returncode} {proc.stderr}")
    point.died = proc.returncode == -signal.SIGKILL
    _check(w, point)


def _check(w: World, point: Point) -> None:
    """Every invariant after one kill; then doctor --fix, and the invariants after it."""
    with sqlite3.connect(w.home / "state.db") as db:
        checked = db.execute("PRAGMA integrity_check").fetchall()
    if checked != [("ok",)]:
        point.failures.append(f"integrity_check: {checked}")
    _check_work(w, point)
    # What git itself left (a killed git's index.lock, a killed merge's scratch worktree):
    # doctor --fix must clear it, and nothing may be lost meanwhile.
    point.gitops += _git_leftovers(w)
    artifacts, rows = w.artifact_ids(), w.rows()
    fixed = w.ao("doctor", "--fix", "--json")
    try:
        report = json.loads(fixed.stdout)
    except ValueError:
        point.failures.append(f"doctor --fix printed no JSON: {fixed.stdout} {fixed.stderr}")
        return
    reported = {
        c["finding"]["session"] for c in report["checks"] if c.get("finding") is not None
    } | {
        c["name"].removeprefix("session ")
        for c in report["checks"]
        if c["name"].startswith("session ")
    }
    unreported = {
        sid: what for sid, what in artifacts.items() if sid not in rows and sid not in reported
    }
    if unreported:
        point.failures.append(f"artifacts with no row that doctor did not report: {unreported}")
    for result in report["fixed"]:
        point.fixed.append(result["action"])
        if result["action"] == "adopted":
            w.adopted.add(result["session"])
        if not result["ok"]:
            point.failures.append(f"doctor --fix could not: {result}")
    if report["remaining"]:
        point.failures.append(f"doctor still reports after --fix: {report['remaining']}")
    after_rows = w.rows()
    orphans = {sid: what for sid, what in w.artifact_ids().items() if sid not in after_rows}
    if orphans:
        point.failures.append(f"artifacts with no row after doctor --fix: {orphans}")
    left = _git_leftovers(w)
    if left:
        point.failures.append(f"git leftovers after doctor --fix: {left}")
    _check_work(w, point)


def _check_work(w: World, point: Point) -> None:
    for branch, name, content in w.works:
        sid = "-".join(branch.removeprefix("ao/").split("-")[:2])
        worktree = w.home / "worktrees" / "app" / sid
        if (worktree / name).is_file() and (worktree / name).read_text() == content:
            continue
        if content in (w.git("show", f"{branch}:{name}"), w.git("show", f"main:{name}")):
            continue
        point.failures.append(f"work lost: {name} of {branch}")


def _git_leftovers(w: World) -> list[str]:
    left = [str(p) for p in (w.repo / ".git").glob("**/index.lock")]
    for line in w.git("worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree ") and "ao-tui-merge-" in line:
            left.append(line)
    left += [str(p) for p in (w.root / "tmp").glob("ao-tui-merge-*")]
    return left


def _use_adopted(w: World) -> None:
    """Every session doctor adopted takes kill and restore like any other."""
    point = Point("kill and restore on every adopted session")
    w.points.append(point)
    rows = _status(w)
    adopted = sorted(
        sid for sid, row in rows.items() if row["lifecycle"] not in ("merged",) and _adopted(w, sid)
    )
    if not adopted:
        point.failures.append("no session was adopted: the sweep proves nothing about it")
    for sid in adopted:
        if rows[sid]["lifecycle"] != "killed":
            proc = w.ao("kill", sid)
            if proc.returncode != 0:
                point.failures.append(f"kill {sid}: {proc.stderr.strip()}")
        proc = w.ao("restore", sid)
        if proc.returncode != 0:
            point.failures.append(f"restore {sid}: {proc.stderr.strip()}")
    _check(w, point)


def _adopted(w: World, sid: str) -> bool:
    with sqlite3.connect(w.home / "state.db") as db:
        row = db.execute(
            "SELECT 1 FROM events WHERE session_id=? AND kind='adopted'", (sid,)
        ).fetchone()
    return row is not None


def test_every_invariant_holds_at_every_kill_point(world: World) -> None:
    kills = [p for p in world.points if not p.name.startswith("took")]
    held = [p for p in kills if not p.failures]
    fixes: dict[str, int] = {}
    for action in (a for p in kills for a in p.fixed):
        fixes[action] = fixes.get(action, 0) + 1
    left_by_git = sum(1 for p in kills if p.gitops)
    summary = (
        f"{len(held)}/{len(kills)} kill points held ({left_by_git} left git leftovers that "
        f"doctor --fix cleared); doctor --fix did {fixes} ({world.points[-1].name})"
    )
    print(summary)
    for p in kills:
        print(f"  {p.name}: died {p.died}, fixed {p.fixed}, git left {p.gitops}")
        for failure in p.failures:
            print(f"    FAILED: {failure}")
    assert len(kills) >= 30, summary
    assert fixes.get("adopted") and fixes.get("removed") and fixes.get("killed"), summary
    assert not [(p.name, p.failures) for p in kills if p.failures], summary
    # The two probes that kill git itself must leave what they aim at, or they prove nothing.
    assert any("index.lock" in x for p in kills for x in p.gitops), summary
    assert any("merge-" in x for p in kills for x in p.gitops), summary
