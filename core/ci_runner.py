"""Background CI runs: a detached process runs the command and writes the outcome to the store.

The reconciler must never wait on CI, and a CLI call that starts a run exits long before
the run ends, so each run is its own process (``python -m core.ci_runner SPEC``) in its
own session: it outlives whoever started it, runs the command's argv (an argv list handed to
``Popen``; the local SCM makes it ``["sh", "-c", <ci.command>]``) in its own process group
with the environment the spec gives, keeps the whole output as a log (owner-only, in the
session's private dir), and records passing/failing with the useful excerpt of the log,
masked and bounded (:mod:`core.ci_excerpt`). When the run ends — passing, failing or timed
out — every process it started is ended (:mod:`core.ci_reaper`), even one that left the
group.

The run's environment reaches the runner through its stdin, never through the spec file:
it holds the project's ``env:`` (tokens), which must not rest on disk.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import BinaryIO

from core.ci_excerpt import bound_excerpt, read_log_end
from core.ci_reaper import MARKER_ENV, become_subreaper, end_run, new_marker
from core.redact import env_secrets

EXCERPT_MAX_LINES = 60
TAIL_LINES = 40
_KILL_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL for a run that timed out."""

_MARKERS = re.compile(
    r"(^|\W)(FAIL|FAILED|ERROR|Error|Traceback|AssertionError|Exception|panicked|error)(\W|$)"
)
_PYTEST_FAILURES = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
_PYTEST_SUMMARY = re.compile(r"^=+ short test summary info =+$")


@dataclass(frozen=True)
class RunSpec:
    """Everything the detached runner needs; written as JSON next to the log."""

    database: str
    run_id: int
    argv: list[str]
    cwd: str
    log_path: str
    timeout: int
    header: list[str]
    env: dict[str, str] | None = None
    """The whole environment of the command; None: this process's (tests, older specs)."""


def launch(spec: RunSpec) -> subprocess.Popen[bytes]:
    """Start the runner for ``spec`` detached from this process; returns at once."""
    spec_path = Path(spec.log_path).with_suffix(".json")
    spec_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    on_disk = {key: value for key, value in asdict(spec).items() if key != "env"}
    on_disk["env_on_stdin"] = spec.env is not None
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(on_disk, handle)
    proc = subprocess.Popen(
        [sys.executable, "-m", "core.ci_runner", str(spec_path)],
        stdin=subprocess.PIPE if spec.env is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    if proc.stdin is not None:
        try:
            proc.stdin.write(json.dumps(spec.env).encode())
            proc.stdin.close()
        except OSError:
            # The runner died before reading it; the run shows as lost after its timeout.
            pass
    # Reap it when it ends so a long-lived engine leaves no zombies behind.
    threading.Thread(target=proc.wait, daemon=True, name=f"ci-reaper-{spec.run_id}").start()
    return proc


def run(spec: RunSpec, *, adopt: bool = False) -> tuple[bool, int | None, str]:
    """Run the command of ``spec`` to the end or the timeout; (passed, exit code, excerpt).

    The excerpt is masked (known credential shapes and the values of the run's secret-named
    variables) and bounded; the log on disk keeps everything, readable by its owner only.
    ``adopt`` (the detached runner process only) makes this process the subreaper of the
    run, so the run's orphans are found as its descendants.
    """
    log_path = Path(spec.log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_path.parent.chmod(0o700)  # the log is the raw output: secrets and all
    marker = new_marker(spec.run_id)
    env = {**(os.environ if spec.env is None else spec.env), MARKER_ENV: marker}
    adopted = adopt and become_subreaper()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a log left by an older version keeps its mode on open
    with os.fdopen(fd, "wb") as log:
        for line in spec.header:
            log.write(f"# {line}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        except OSError as exc:
            message = f"could not start {spec.argv[0]!r}: {exc.strerror or exc}"
            log.write(f"{message}\n".encode())
            return False, None, _safe(message, env, log_path)
        timed_out = False
        code: int | None = None
        try:
            code = proc.wait(timeout=spec.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        finally:
            # Whatever the outcome, nothing the run started may outlive it.
            root = os.getpid() if adopted else None
            end_run(marker, group=proc.pid, root=root, adopted=adopted)
        if timed_out:
            message = f"timed out after {spec.timeout}s"
            log.write(f"\n# {message}: the run was killed\n".encode())
            log.flush()
            tail = excerpt(read_log_end(log_path))
            return False, None, _safe(f"{message}\n{tail}".rstrip(), env, log_path)
    passed = code == 0
    text = read_log_end(log_path)
    found = excerpt(text) if not passed else "\n".join(_body(text).splitlines()[-10:])
    if not passed:
        found = f"exit status {code}\n{found}".rstrip()
    return passed, code, _safe(found, env, log_path)


def _safe(text: str, env: dict[str, str], log_path: Path) -> str:
    """``text`` as it may be stored and printed: masked with the run's secrets, bounded."""
    return bound_excerpt(text, secrets=env_secrets(env), log_path=str(log_path))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End the run and every process it started (they share its process group)."""
    for sig, wait in ((signal.SIGTERM, _KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _body(text: str) -> str:
    """The log without our ``# `` header lines."""
    lines = text.splitlines()
    start = 0
    while start < len(lines) and lines[start].startswith("# "):
        start += 1
    return "\n".join(lines[start:])


def excerpt(log: str, *, max_lines: int = EXCERPT_MAX_LINES) -> str:
    """The useful part of a failing log: what failed, with a few lines of context.

    pytest's FAILURES section (plus its short summary) is the best answer when present;
    otherwise every error-looking line with 3 lines before and 6 after; otherwise the
    last lines, where most tools print their verdict.
    """
    lines = _body(log).splitlines()
    if not lines:
        return ""
    start = next((i for i, line in enumerate(lines) if _PYTEST_FAILURES.match(line)), None)
    if start is not None:
        section = lines[start:]
        summary = next((i for i, line in enumerate(section) if _PYTEST_SUMMARY.match(line)), None)
        if len(section) <= max_lines:
            return "\n".join(section)
        if summary is not None:
            tail = section[summary : summary + 15]
            return "\n".join([*section[: max_lines - len(tail) - 1], "…", *tail])
        return "\n".join(section[:max_lines])
    hits = [i for i, line in enumerate(lines) if _MARKERS.search(line)]
    if not hits:
        return "\n".join(lines[-TAIL_LINES:])
    windows: list[tuple[int, int]] = []
    for i in hits:
        lo, hi = max(0, i - 3), min(len(lines), i + 7)
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
        else:
            windows.append((lo, hi))
    out: list[str] = []
    for lo, hi in windows:
        if out:
            out.append("…")
        out.extend(lines[lo:hi])
    if len(out) > max_lines:
        out = [*out[: max_lines - 1], "…"]
    return "\n".join(out)


def main(argv: Sequence[str]) -> int:
    """Entry point of the detached runner: run the spec, record the outcome."""
    from core.store import Store

    fields = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    on_stdin = bool(fields.pop("env_on_stdin", False))
    spec = RunSpec(**fields)
    try:
        env = _read_env(sys.stdin.buffer) if on_stdin else None
    except (ValueError, AttributeError) as exc:
        # Without its environment the run must not go ahead with this process's.
        passed, code, found = False, None, bound_excerpt(f"the CI runner got no environment: {exc}")
    else:
        try:
            passed, code, found = run(replace(spec, env=env), adopt=True)
        except Exception as exc:  # the store must never be left saying "running"
            passed, code, found = False, None, bound_excerpt(f"the CI runner failed: {exc}")
    database = Path(spec.database)
    if not database.exists():
        # The state was removed while the run went on (a demo sandbox quit, a home
        # deleted): there is nothing to record into, and opening the store would make an
        # empty database where none should be.
        Path(argv[0]).unlink(missing_ok=True)
        return 0
    store = Store(database)
    try:
        store.finish_ci_run(spec.run_id, passed=passed, exit_code=code, excerpt=found)
    finally:
        store.close()
    Path(argv[0]).unlink(missing_ok=True)
    return 0


def _read_env(stream: BinaryIO) -> dict[str, str]:
    """The run's environment as :func:`launch` wrote it: one JSON object of strings."""
    data = json.loads(stream.read())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return {str(key): str(value) for key, value in data.items()}


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
