"""The engine lease: who holds it is recorded and checked, and a follower takes it over.

Real files, real ``flock`` and real processes: a holder in another process is a small
Python program that takes the lease and sleeps, so it can be SIGKILLed like a cockpit.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.lease import EngineLease, LeaseHolder, read_holder, wait_for_lease
from core.store_health import StoreError

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """\
import sys, time
from pathlib import Path
from core.lease import EngineLease
lease = EngineLease(Path(sys.argv[1]), kind=sys.argv[2])
assert lease.acquire()
print("HELD", flush=True)
time.sleep(600)
"""


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return tmp_path / "state" / "engine.lock"


def hold_elsewhere(lock: Path, kind: str = "daemon") -> subprocess.Popen[str]:
    """A process that holds the lease until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), kind],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
    return proc


@pytest.fixture
def holder_process(lock: Path) -> Iterator[subprocess.Popen[str]]:
    proc = hold_elsewhere(lock)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_the_holder_is_named_and_nobody_once_it_lets_go(lock: Path) -> None:
    assert read_holder(lock) is None  # no file yet
    lease = EngineLease(lock, kind="cockpit")
    assert lease.acquire() and lease.held
    record = json.loads(lock.read_text())
    assert record["pid"] == os.getpid() and record["kind"] == "cockpit" and record["started"]
    seen = read_holder(lock)
    assert seen is not None and (seen.kind, seen.pid) == ("cockpit", os.getpid())
    assert seen.since is not None and abs(seen.since - time.time()) < 5
    assert seen.describe() == f"cockpit (pid {os.getpid()})"
    assert lease.holder() == seen
    other = EngineLease(lock, kind="daemon")
    assert not other.acquire()
    assert other.holder() == seen
    lease.release()
    assert read_holder(lock) is None  # the record stays, but nobody holds the lock
    assert other.acquire()
    other.release()


def test_a_holder_in_another_process_is_named(
    lock: Path, holder_process: subprocess.Popen[str]
) -> None:
    seen = read_holder(lock)
    assert seen == LeaseHolder("daemon", holder_process.pid, seen.since if seen else None)
    assert not EngineLease(lock).acquire()


def test_a_reused_pid_is_not_taken_for_the_holder(lock: Path) -> None:
    lease = EngineLease(lock, kind="cockpit")
    assert lease.acquire()
    try:
        # This process now runs under the recorded pid, but started at another time: the
        # pid was reused, the recorded process is gone. Someone holds the lease; who is
        # unknown.
        record = {"pid": os.getpid(), "started": "1", "kind": "daemon", "since": 1.0}
        lock.write_text(json.dumps(record))
        assert read_holder(lock) == LeaseHolder("unknown")
        assert read_holder(lock) is not None
        assert "pid unknown" in LeaseHolder("unknown").describe()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        gone = {"pid": int(dead.stdout), "started": "5", "kind": "daemon", "since": 1.0}
        lock.write_text(json.dumps(gone))
        assert read_holder(lock) == LeaseHolder("unknown")
    finally:
        lease.release()


HOSTILE_RECORDS = [
    "",
    "not json at all",
    "9" * 40,  # a "pid" that would overflow kill()
    "[" * 5000,  # nesting that would crash a plain json.loads
    '{"pid": true, "kind": "daemon"}',
    '{"pid": -1, "kind": "daemon"}',
    '{"pid": 99999999999999, "kind": "daemon"}',
    '{"pid": "1", "kind": "daemon"}',
    "[1, 2, 3]",
    '{"pid": %d, "started": 7, "kind": "\\u001b[31mevil", "since": "x"}',
    '{"pid": %d, "kind": "daemon", "since": NaN}',
    "\x00\xff\xfe garbage",
]


@pytest.mark.parametrize("text", HOSTILE_RECORDS)
def test_a_hostile_record_never_raises_nor_names_a_stranger(lock: Path, text: str) -> None:
    lease = EngineLease(lock, kind="cockpit")
    assert lease.acquire()
    try:
        lock.write_bytes(text.replace("%d", str(os.getpid())).encode("utf-8", "surrogateescape"))
        seen = read_holder(lock)
        assert seen is not None  # the lock is held, whatever the file says
        assert seen.kind in ("unknown", "daemon")
        described = seen.describe()
        assert "\x1b" not in described and "evil" not in described
    finally:
        lease.release()


def test_a_lock_file_system_without_flock_is_a_clear_error(
    lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fcntl

    def no_locks(fd: int, op: int) -> None:
        # Mocked: an NFS mount without lock support is not available in a test.
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(StoreError, match="flock: set AO_TUI_HOME to a local directory"):
        EngineLease(lock).acquire()
    assert read_holder(lock) is None


async def test_a_follower_takes_over_within_two_seconds_of_a_sigkill(lock: Path) -> None:
    """Issue 9 item 5: the kernel drops the lock of a killed holder; the next try takes it."""
    proc = hold_elsewhere(lock, kind="cockpit")
    follower = EngineLease(lock, kind="cockpit")
    told: list[LeaseHolder | None] = []
    stop = asyncio.Event()
    waiting = asyncio.create_task(wait_for_lease(follower, stop, on_holder=told.append))
    try:
        await asyncio.sleep(0.5)
        assert not waiting.done()
        [seen] = told
        assert seen is not None and (seen.kind, seen.pid) == ("cockpit", proc.pid)
        killed = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(waiting, 2.0) is True
        took = time.monotonic() - killed
        assert took < 2.0, took
        assert follower.held and read_holder(lock) == follower.holder()
    finally:
        stop.set()
        proc.kill()
        proc.wait(timeout=10)
        follower.close()


async def test_a_stopped_wait_takes_nothing(lock: Path) -> None:
    holder = EngineLease(lock, kind="daemon")
    assert holder.acquire()
    follower = EngineLease(lock, kind="cockpit")
    stop = asyncio.Event()
    waiting = asyncio.create_task(wait_for_lease(follower, stop, poll=0.02))
    await asyncio.sleep(0.1)
    stop.set()
    holder.release()
    assert await asyncio.wait_for(waiting, 2.0) is False
    assert not follower.held and read_holder(lock) is None
    # A closed lease refuses even an attempt that was already on its way in a thread.
    follower.close()
    assert not follower.acquire() and read_holder(lock) is None
