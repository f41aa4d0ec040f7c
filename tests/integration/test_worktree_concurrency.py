"""Many processes changing one repository's worktrees at once (real git, real processes).

Concurrent spawns failed now and then (2 of 64) with "could not open .../gitdir": one
process's ``git worktree prune`` deleted the half-made registration of another's ``git
worktree add``. Every worktree change now runs under one lock per repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import plugins.repo_lock
from core.slots import SlotError
from plugins.repo_lock import LOCK_NAME
from plugins.workspace import WorktreeWorkspace
from tests.conftest import run_git
from tests.support.engine import recorder_command, write_config

ROOT = Path(__file__).resolve().parents[2]

# Each worker creates and removes worktrees in a loop (create prunes first, remove prunes
# after), as concurrent spawns and kills do; it prints the failures it met as JSON.
WORKER = """
import json, sys
from pathlib import Path
from core.slots import SlotError
from plugins.workspace import WorktreeWorkspace

repo, out, me, rounds = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
workspace = WorktreeWorkspace()
failures = []
for n in range(rounds):
    path = out / f"w{me}-{n}"
    try:
        workspace.create(repo, path, f"ao/w{me}-{n}", "main")
        workspace.remove(repo, path)
    except SlotError as exc:
        failures.append(str(exc))
print(json.dumps(failures))
"""

WORKERS = 16
ROUNDS = 12
"""Without the lock, 16 workers x 8 rounds met 1-3 failures per run on a 2-core machine;
16 x 12 makes a clean run without the lock unlikely."""


def test_concurrent_worktree_changes_in_one_repository_never_collide(
    git_repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "worktrees"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(git_repo), str(out), str(n), str(ROUNDS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WORKERS)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
    failures = [failure for stdout, _ in results for failure in json.loads(stdout)]
    assert failures == []
    # every worktree came and went: only the main one is registered, every branch exists
    assert run_git(git_repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    branches = run_git(git_repo, "branch", "--format=%(refname:short)").split()
    assert len(branches) == 1 + WORKERS * ROUNDS


def test_sixteen_concurrent_spawns_all_succeed_with_distinct_ids(
    git_repo: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, git_repo, command=recorder_command(tmp_path / "rec.bin"))
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ao_tui",
                "--config",
                str(config),
                "spawn",
                "--prompt",
                f"parallel task number {n}",
                "--json",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(16)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in results]
    ids = sorted((json.loads(out)["id"] for out, _ in results), key=lambda i: int(i[4:]))
    assert ids == [f"app-{n}" for n in range(1, 17)]
    registered = run_git(git_repo, "worktree", "list", "--porcelain").count("worktree ")
    assert registered == 17


def test_a_stuck_lock_holder_gives_a_clear_error_after_a_bounded_wait(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process holds the repository's worktree lock and does not let go.
    lock = git_repo / ".git" / LOCK_NAME
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from core.file_lock import hold\n"
            "with hold(Path(sys.argv[1]), timeout=5, on_timeout=RuntimeError):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(lock),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        monkeypatch.setattr(plugins.repo_lock, "LOCK_WAIT", 1.0)
        started = time.monotonic()
        with pytest.raises(SlotError) as caught:
            WorktreeWorkspace().create(git_repo, tmp_path / "wt", "ao/t-1", "main")
        assert 0.9 < time.monotonic() - started < 10
        assert str(caught.value) == (
            f"process {holder.pid} has been changing the worktrees of {git_repo} for over 1s "
            f"(it holds {lock}); retry when it has finished"
        )
        assert not (tmp_path / "wt").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the dead holder's lock: the next change goes through
    WorktreeWorkspace().create(git_repo, tmp_path / "wt", "ao/t-1", "main")
