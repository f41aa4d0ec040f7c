"""The tmux runtime: every agent lives in its own detached tmux session.

Everything goes through the ``tmux`` binary with argv lists, never a shell: each libtmux
call forks tmux anyway, and the hot paths (one ``list-panes -a`` per tick, captures, pastes)
are cheaper and clearer as single batched invocations.

tmux re-parses its own argv, so two of its rules shape this module:

- an argument ending in ``;`` ends the tmux command (the ``;`` is dropped) unless written
  ``\\;``; :func:`_arg` escapes every argument that reaches tmux.
- start directories and buffer file paths are format-expanded (``#{...}``), so ``#`` is
  doubled in those.

Text is never typed with ``send-keys -l`` (the same ``;`` rule would eat a trailing
semicolon); it goes through a 0600 file, ``load-buffer`` and a bracketed ``paste-buffer``.

An operator who attaches from an 80x24 terminal shrinks the agent's window to 80x23, and
tmux keeps that size after the last client leaves (``window-size latest`` with no client).
Each session remembers the size it was made with (``@ao-tui-size``) and gets it back: at
once through a ``client-detached`` hook, and on the next listing of the panes for whatever
the hook cannot see (a client switched away to another session, sessions made before).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.inert import find_control
from core.slots import PaneInfo, SlotError

if TYPE_CHECKING:
    import asyncio

SOCKET_ENV = "AO_TUI_TMUX_SOCKET"
"""The environment variable naming the ``tmux -L`` socket ao-tui uses."""

TMUX_TIMEOUT = 15.0
"""Seconds before a tmux call counts as hung (a wedged server must not hang the engine)."""

# Session names become tmux targets and file-ish identifiers; tmux itself forbids '.' and
# ':', and ``#`` would be format-expanded, so only a plain alphabet is accepted.
_SESSION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_+=@-]{0,199}")
_SOCKET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=@-]{0,99}")

# The placeholder a new session runs until remain-on-exit is set: it waits on the pane's
# terminal forever and is replaced by ``respawn-pane -k``. Two elements, so no shell.
_PLACEHOLDER = ("cat", "-")

# One list-panes line: the server's pid, pane_id, pane_pid, pane_dead, pane_dead_status,
# session_name, pane_current_command, window_activity, pane_dead_time (when the agent
# exited, by tmux's clock; empty before tmux 3.3), session_attached, the window's size and
# the size the session was made with (SIZE_OPTION). Other tools' sessions on a shared
# server may have a tab in their name, so lines that do not parse are skipped instead of
# failing the whole tick.
_PANE_FORMAT = "\t".join(
    (
        "#{pid}",
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_dead}",
        "#{pane_dead_status}",
        "#{session_name}",
        "#{pane_current_command}",
        "#{window_activity}",
        "#{pane_dead_time}",
        "#{session_attached}",
        "#{window_width}x#{window_height}",
        "#{@ao-tui-size}",
    )
)
_PANE_FIELDS = 12

SIZE_OPTION = "@ao-tui-size"
"""The session option holding the window size a session was created with (``200x50``)."""
_SIZE = re.compile(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}")

_MAX_NUDGES = 3
"""How many times a dead pane without exit status gets the server to reap zombies."""

# stderr fragments meaning "there is no server to talk to", which is a state, not an error.
_NO_SERVER = (
    "no server running",
    "server exited unexpectedly",
    "lost server",
)
_NO_SOCKET = ("No such file or directory", "Connection refused")


def _arg(value: str) -> str:
    """Escape a trailing ``;`` so tmux keeps it as text instead of ending the command."""
    if value.endswith(";"):
        return value[:-1] + "\\;"
    return value


def _format_literal(value: str) -> str:
    """Escape a value tmux format-expands (start directories, buffer file paths)."""
    return _arg(value.replace("#", "##"))


def _no_server(stderr: str) -> bool:
    """Whether tmux's stderr says that no server is listening on the socket."""
    if any(fragment in stderr for fragment in _NO_SERVER):
        return True
    return "error connecting to" in stderr and any(f in stderr for f in _NO_SOCKET)


def restore_size_commands(name: str, size: str) -> list[str]:
    """tmux commands (argv, ``;``-separated) giving session ``name``'s window ``size`` back.

    ``resize-window`` pins the window (``window-size manual``); unsetting the option again
    lets the next client that attaches size it, as before.
    """
    width, _, height = size.partition("x")
    target = f"={name}:"
    return [
        "resize-window", "-t", target, "-x", width, "-y", height, ";",
        "set-option", "-wu", "-t", target, "window-size",
    ]  # fmt: skip


def same_server(tmux_env: str, socket_path: str) -> bool:
    """Whether ``$TMUX`` (``socket,pid,session``) names the server at ``socket_path``."""
    mine = tmux_env.split(",", 1)[0]
    if not mine:
        return False
    return os.path.realpath(mine) == os.path.realpath(socket_path)


POPUP_TITLE = " {name} · prefix d comes back "
"""The popup's border title: which session, and how to leave it."""


def popup_argv(socket_path: str, name: str) -> list[str]:
    """The argv opening session ``name`` of the server at ``socket_path`` in a full-size
    popup of the operator's own tmux (the one ``$TMUX`` names); blocks until it closes."""
    return [
        "tmux", "display-popup", "-E", "-w", "100%", "-h", "100%",
        "-T", POPUP_TITLE.format(name=name), "--",
        "tmux", "-S", socket_path, "attach-session", "-t", f"={name}",
    ]  # fmt: skip


def validate_session_name(name: str) -> str:
    """Return ``name`` if it is a safe tmux session name; raise :class:`SlotError` if not."""
    if not _SESSION_NAME.fullmatch(name):
        raise SlotError(
            f"invalid tmux session name {name!r}: use 1-200 letters, digits, '_', '-', '+', "
            "'=' or '@' (tmux forbids '.' and ':'; paths and whitespace are refused)"
        )
    return name


class TmuxRuntime:
    """The ``tmux`` runtime plugin: sessions on the ao-tui socket (or the default server).

    ``socket_name`` (a ``tmux -L`` name) wins, then ``AO_TUI_TMUX_SOCKET`` from ``environ``;
    with neither, the user's default server is used — except under pytest, where that is
    refused so that no test can ever touch the operator's own tmux.
    """

    name = "tmux"

    def __init__(
        self, socket_name: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        """Pick the tmux server; ``environ`` (default: this process's) is what tmux runs in."""
        source = os.environ if environ is None else environ
        # TMUX would make tmux refuse nesting and point clients at the enclosing server.
        self._env = {k: v for k, v in source.items() if k not in ("TMUX", "TMUX_PANE")}
        socket = socket_name or source.get(SOCKET_ENV) or None
        under_pytest = "PYTEST_CURRENT_TEST" in source or "PYTEST_CURRENT_TEST" in os.environ
        if socket is None and under_pytest:
            raise SlotError(
                f"refusing the default tmux server under pytest; set {SOCKET_ENV} "
                "or pass socket_name"
            )
        if socket is not None and not _SOCKET_NAME.fullmatch(socket):
            raise SlotError(f"invalid tmux socket name {socket!r}: a plain name, no '/'")
        self.socket_name = socket
        """The ``tmux -L`` socket name, or None for the user's default server."""
        self._nudges: dict[tuple[int, int], int] = {}
        self._activity: dict[str, int] = {}
        """Pane id to its window's last output (whole epoch seconds), as last listed."""
        self._listed_at = 0.0
        """When that listing was asked for (epoch seconds)."""
        self._pids: tuple[dict[str, int], int] = ({}, 0)
        """Live sessions' pane pids and the server's pid, as last listed."""
        self._listeners: list[Callable[[Mapping[str, int], int], None]] = []
        self._listeners_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------

    def _base(self) -> list[str]:
        """``tmux`` plus the socket selection."""
        return ["tmux", "-L", self.socket_name] if self.socket_name else ["tmux"]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run one tmux client invocation; raise :class:`SlotError` on failure if ``check``."""
        try:
            proc = subprocess.run(
                [*self._base(), *args],
                env=self._env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TMUX_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise SlotError("tmux is not installed: no `tmux` on PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise SlotError(
                f"tmux {args[0]} did not answer within {TMUX_TIMEOUT:.0f}s; the server may be hung"
            ) from exc
        if check and proc.returncode != 0:
            raise SlotError(f"tmux {args[0]} failed: {_stderr(proc) or 'no error message'}")
        return proc

    # -- Runtime protocol -----------------------------------------------------------------

    def create(
        self, name: str, cwd: Path, argv: Sequence[str], *, width: int = 200, height: int = 50
    ) -> PaneInfo:
        """Start detached session ``name`` running ``argv`` in ``cwd``; its pane stays on exit.

        ``argv`` needs two or more elements: tmux hands a single-element command to
        ``sh -c``, and no shell may ever see our arguments.
        """
        validate_session_name(name)
        argv = list(argv)
        if len(argv) < 2:
            raise SlotError(
                f"tmux would run the one-element command {argv!r} through a shell; "
                "pass at least two argv elements (e.g. a launcher and its plan file)"
            )
        if width < 1 or height < 1:
            raise SlotError(f"invalid pane size {width}x{height}")
        # tmux silently falls back to $HOME when the start directory is missing, which
        # would run an agent outside its worktree.
        if not cwd.is_dir():
            raise SlotError(f"cannot start {name!r} in {cwd}: no such directory")
        target = f"={name}:"
        directory = _format_literal(str(cwd))
        size = f"{width}x{height}"
        # A hook's command is one argument, parsed by tmux when it runs.
        restore = " ".join(restore_size_commands(name, size))
        # The session starts on a placeholder that never exits, remain-on-exit is set, and
        # only then is the real command respawned in: a process that exits at once still
        # leaves a dead pane with its exit status. One client call, so nothing interleaves.
        proc = self._run(
            "new-session", "-d", "-s", name, "-c", directory,
            "-x", str(width), "-y", str(height), "--", *_PLACEHOLDER, ";",
            "set-option", "-w", "-t", target, "remain-on-exit", "on", ";",
            "set-option", "-t", target, SIZE_OPTION, size, ";",
            "set-hook", "-t", target, "client-detached", restore, ";",
            "respawn-pane", "-k", "-t", target, "-c", directory, "--", *map(_arg, argv), ";",
            "display-message", "-p", "-t", target, "-F", "#{pane_id}\t#{pane_pid}",
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            err = _stderr(proc)
            if "duplicate session" in err:
                raise SlotError(f"tmux session {name!r} already exists; kill it or use another")
            # A half-made session (e.g. the respawn failed) must not linger.
            self.kill(name)
            raise SlotError(f"could not start tmux session {name!r}: {err or 'unknown error'}")
        pane_id, _, pid = proc.stdout.decode().strip().partition("\t")
        return PaneInfo(session_name=name, pane_id=pane_id, pane_pid=int(pid), dead=False)

    def kill(self, name: str) -> None:
        """Kill session ``name``; a missing session or server is not an error."""
        validate_session_name(name)
        proc = self._run("kill-session", "-t", f"={name}", check=False)
        err = _stderr(proc)
        if proc.returncode != 0 and not (_no_server(err) or "can't find session" in err):
            raise SlotError(f"could not kill tmux session {name!r}: {err}")

    def list_panes(self) -> dict[str, PaneInfo]:
        """Every session's first pane, keyed by session name, in one call; {} if no server.

        ``dead_status`` is None while alive, after a death by signal, and for the moment
        between the pane's terminal closing and tmux reaping the process.
        """
        panes, server_pid = self._list_panes_once()
        # tmux can miss a SIGCHLD (measured with 3.3a: 1 pane in 100 to 1 in 3, depending on
        # timing; tmux/tmux#311 blames libutempter's handler): the pane shows dead, its
        # process stays a zombie and the exit status never arrives. Any later SIGCHLD makes
        # the server reap every zombie, so a dead pane without status is nudged a few
        # times, then taken as a death by signal. Counts are kept only for panes still in
        # that state.
        unknown = {
            (server_pid, p.pane_pid) for p in panes.values() if p.dead and p.dead_status is None
        }
        self._nudges = {key: self._nudges.get(key, 0) for key in unknown}
        stuck = [key for key, count in self._nudges.items() if count < _MAX_NUDGES]
        if stuck and server_pid > 0:
            for key in stuck:
                self._nudges[key] += 1
            try:
                os.kill(server_pid, signal.SIGCHLD)
            except OSError:
                return panes
            panes, _ = self._list_panes_once()
        return panes

    def _list_panes_once(self) -> tuple[dict[str, PaneInfo], int]:
        """One ``list-panes -a`` call: the panes and the server's pid (0 if no server)."""
        asked_at = time.time()
        proc = self._run("list-panes", "-a", "-F", _PANE_FORMAT, check=False)
        if proc.returncode != 0:
            err = _stderr(proc)
            self._activity, self._listed_at = {}, asked_at
            # "no current target": the server is exiting with its last session (measured
            # right after killing it, on a loaded machine): there are no panes.
            if _no_server(err) or "no current target" in err:
                self._listed({}, 0)
                return {}, 0
            raise SlotError(f"tmux list-panes failed: {err}")
        panes: dict[str, PaneInfo] = {}
        activity: dict[str, int] = {}
        server_pid = 0
        resized: dict[str, str] = {}
        for line in proc.stdout.decode(errors="replace").splitlines():
            fields = line.split("\t")
            if len(fields) != _PANE_FIELDS or not (fields[0].isdigit() and fields[2].isdigit()):
                continue
            server, pane_id, pid, dead, status, session, command, active, died = fields[:9]
            attached, shown_size, made_size = fields[9:]
            server_pid = int(server)
            if active.isdigit():
                activity[pane_id] = int(active)
            if session in panes:
                continue
            if attached == "0" and _SIZE.fullmatch(made_size) and shown_size != made_size:
                resized[session] = made_size
            panes[session] = PaneInfo(
                session_name=session,
                pane_id=pane_id,
                pane_pid=int(pid),
                dead=dead == "1",
                current_command=command,
                dead_status=int(status) if status.lstrip("-").isdigit() else None,
                dead_at=float(died) if dead == "1" and died.isdigit() else None,
            )
        # The map first: a reader that sees the new time must see the new map.
        self._activity = activity
        self._listed_at = asked_at
        self._listed({name: p.pane_pid for name, p in panes.items() if not p.dead}, server_pid)
        if resized:
            self._restore_sizes(resized)
        return panes, server_pid

    def _listed(self, pids: dict[str, int], server_pid: int) -> None:
        """Tell the watches (:meth:`watch`) which processes the new listing found."""
        with self._listeners_lock:
            self._pids = (pids, server_pid)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(pids, server_pid)

    def _subscribe(self, listener: Callable[[Mapping[str, int], int], None]) -> Callable[[], None]:
        """Call ``listener`` with the last listing's processes, then with each new one."""
        with self._listeners_lock:
            self._listeners.append(listener)
            pids, server_pid = self._pids
        listener(pids, server_pid)

        def unsubscribe() -> None:
            with self._listeners_lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def watch(self, wake: Callable[[str | None], None], stop: asyncio.Event) -> None:
        """Wake the moment a listed agent's process or the tmux server exits (see
        :mod:`plugins.runtime.tmux_watch`); returns at once where that cannot be watched."""
        # Imported here: the headless verbs that only list panes need no event loop.
        from plugins.runtime.tmux_watch import watch_exits

        await watch_exits(self._subscribe, wake, stop)

    def _restore_sizes(self, sizes: dict[str, str]) -> None:
        """Give windows no client looks at their size back, in one tmux call.

        Best effort: a session that went away meanwhile only makes this call fail, and the
        next listing tries again.
        """
        commands: list[str] = []
        for name, size in sizes.items():
            if _SESSION_NAME.fullmatch(name):
                commands += [*restore_size_commands(name, size), ";"]
        if commands:
            self._run(*commands[:-1], check=False)

    def quiet_since(self, pane_id: str, since: float) -> bool:
        """Whether pane ``pane_id`` has shown no output since ``since`` (epoch seconds).

        Answered from the last :meth:`list_panes` (the reconcile tick lists every second),
        without a tmux call: True only when that listing was asked for after ``since`` and
        the pane's window had its last output in an earlier whole second. Output after the
        listing shows in the next one. False whenever it cannot tell.
        """
        active = self._activity.get(pane_id)
        return active is not None and self._listed_at >= since and active < int(since)

    def capture(self, target: str, *, ansi: bool = False) -> str:
        """The visible screen of pane ``target`` (with SGR escapes if ``ansi``)."""
        args = ["capture-pane", "-p", "-t", _arg(target)]
        if ansi:
            args.append("-e")
        return self._run(*args).stdout.decode(errors="replace")

    def paste(self, target: str, text: str) -> None:
        """Paste ``text`` into pane ``target`` as one bracketed paste, byte-for-byte.

        ``-r`` keeps newlines as LF: tmux would otherwise turn them into CR, which an agent
        without bracketed paste mode reads as Enter in the middle of the message.

        Text holding a control character other than newline and tab (or a byte that is not
        UTF-8) is refused with :class:`SlotError`, whoever the caller: ``ESC [ 2 0 1 ~``
        would end the paste early and the rest would arrive as typed keys (CR as Enter).
        """
        found = find_control(text)
        if found is not None:
            raise SlotError(
                f"refusing to paste into tmux pane {target}: the text has {found.describe()} "
                f"at {found.where()}, which could end the paste or act as a key press; "
                "clean or neutralise the text first (core.inert)"
            )
        if not text:
            return  # tmux cannot load an empty buffer, and there is nothing to deliver
        in_mode = self._run("display-message", "-p", "-t", _arg(target), "-F", "#{pane_in_mode}")
        if in_mode.stdout.strip() == b"1":
            # The paste itself reaches the agent in any mode, but the Enter that follows
            # would be taken by copy mode. Modes without copy-mode commands refuse this,
            # which is harmless.
            self._run("send-keys", "-X", "-t", _arg(target), "cancel", check=False)
        buffer = f"ao-tui-{uuid.uuid4().hex}"
        import tempfile  # only when writing: it loads shutil and random (~5 ms)

        fd, name = tempfile.mkstemp(prefix="ao-tui-paste-")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8", errors="surrogateescape"))
            proc = self._run(
                "load-buffer", "-b", buffer, _format_literal(name), ";",
                "paste-buffer", "-p", "-r", "-d", "-b", buffer, "-t", _arg(target),
                check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                self._run("delete-buffer", "-b", buffer, check=False)
                raise SlotError(f"could not paste into tmux pane {target}: {_stderr(proc)}")
        finally:
            Path(name).unlink(missing_ok=True)

    def send_keys(self, target: str, *keys: str) -> None:
        """Press the named ``keys`` (``Enter``, ``Escape``, ``C-c``, ``1``) in pane ``target``."""
        if not keys:
            return
        self._run("send-keys", "-t", _arg(target), *map(_arg, keys))

    def attach_argv(self, name: str, *, inside_tmux: bool) -> list[str]:
        """The argv putting the operator's terminal on session ``name``.

        Outside tmux this is ``attach-session``. Inside tmux it is ``switch-client`` when the
        operator's tmux is this same server. When it is another one (a private
        ``AO_TUI_TMUX_SOCKET``), no client of it can be switched, and a client nested in a
        pane would leave the operator's ``prefix d`` to the outer tmux: the session opens
        in a popup of the operator's tmux instead (run that argv with ``TMUX`` kept), where
        ``prefix d`` detaches the inner client and closes the popup.
        """
        validate_session_name(name)
        target = f"={name}"
        if not inside_tmux:
            return [*self._base(), "attach-session", "-t", target]
        socket = self.socket_path()
        if socket is None or same_server(os.environ.get("TMUX", ""), socket):
            return [*self._base(), "switch-client", "-t", target]
        return popup_argv(socket, name)

    def socket_path(self) -> str | None:
        """The path of this runtime's tmux socket (None: no server answers)."""
        proc = self._run("display-message", "-p", "#{socket_path}", check=False)
        path = proc.stdout.decode(errors="replace").strip()
        return path if proc.returncode == 0 and path else None

    # -- helpers for tests and health checks ----------------------------------------------

    def has_server(self) -> bool:
        """Whether a tmux server is listening on this runtime's socket."""
        proc = self._run("list-sessions", "-F", "#{session_name}", check=False)
        if proc.returncode == 0:
            return True
        if _no_server(_stderr(proc)):
            return False
        raise SlotError(f"tmux list-sessions failed: {_stderr(proc)}")

    def kill_server(self) -> None:
        """Kill this runtime's tmux server and every session on it (no server: no error)."""
        proc = self._run("kill-server", check=False)
        if proc.returncode != 0 and not _no_server(_stderr(proc)):
            raise SlotError(f"tmux kill-server failed: {_stderr(proc)}")


def _stderr(proc: subprocess.CompletedProcess[bytes]) -> str:
    """tmux's error output as one line of text."""
    return " ".join(proc.stderr.decode(errors="replace").split())
