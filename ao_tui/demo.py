"""``ao-tui demo``: a throwaway sandbox where scripted demo agents work on a sample project.

Everything lives in one temporary directory: a git repository holding a tiny but real Python
project (its tests run with ``python -m unittest``), the sandbox's own ``AO_TUI_HOME``,
``CLAUDE_CONFIG_DIR`` and ``ao.config.yaml``, and its own tmux socket. Sessions are spawned
through the real engine with the ``demo`` agent, so the cockpit shows real tmux sessions,
worktrees, commits and activity detection, with no agent installed, no network and no
GitHub. The demo agent is labelled as such everywhere: its banner, the agent name ``demo``
and the ``[demo]`` tag on every session title.

The cockpit runs in this process, so :func:`build_demo` points this process's environment
(``AO_TUI_HOME``, ``AO_TUI_CONFIG``, ``AO_TUI_TMUX_SOCKET``, ``TMUX_TMPDIR``) at the
sandbox; :meth:`DemoSandbox.close` puts it back. A tmux socket already chosen through
``AO_TUI_TMUX_SOCKET`` is kept (the tests run on their own one); the sandbox then kills
only its own sessions on close, never a server it did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ao_tui.demo_operator import DemoOperator
from ao_tui.demo_watch import DemoWatcher
from core.config import load_config
from core.engine import Engine
from core.errors import EngineError
from core.git import run_git
from core.locations import Locations
from core.registry import Registry
from core.slots import SlotError

PROJECT_ID = "shop"
SESSION_PREFIX = "demo"
DEMO_AGENT = "demo"
SPEED_ENV = "AO_TUI_DEMO_SPEED"
"""Read by the demo agent (it cannot be imported here: ao_tui never names a plugin)."""
SOCKET_ENV = "AO_TUI_TMUX_SOCKET"
MAX_SOCKET_DIR = 60
"""tmux socket paths must fit in ~100 bytes; a longer sandbox path gets its own tmux dir."""
GIT_IDENTITY = (
    "-c",
    "user.name=ao-tui demo",
    "-c",
    "user.email=demo@ao-tui.invalid",
    "-c",
    "commit.gpgsign=false",
)
_ENV_KEYS = ("AO_TUI_HOME", "AO_TUI_CONFIG", SOCKET_ENV, "TMUX_TMPDIR")


@dataclass(frozen=True)
class DemoTask:
    """One session of the demo: its title, its task and the scenario its agent plays."""

    title: str
    task: str
    scenario: str

    def prompt(self) -> str:
        """The task with the scenario tag the demo agent reads."""
        return f"{self.task}\n\ndemo-scenario: {self.scenario}"


DEMO_TASKS: tuple[DemoTask, ...] = (
    DemoTask(
        "[demo] Document usage in the README",
        "Add a short Usage section to README.md showing how to fill a cart.",
        "exit",
    ),
    DemoTask(
        "[demo] Clamp discounts, clean build/",
        "apply_discount() returns negative prices above 100 %. Clamp it, add tests, and "
        "remove the stale build/ directory.",
        "permission",
    ),
    DemoTask(
        "[demo] Polish the cart module",
        "Work through shop/cart.py and shop/pricing.py: small helpers, tests and docs, "
        "one commit per improvement.",
        "long-work",
    ),
    DemoTask(
        "[demo] Add a price formatting helper",
        "Add format_price(cents) -> '$12.34' to shop/pricing.py with tests, and document it.",
        "commit-and-idle",
    ),
    DemoTask(
        "[demo] Speed up Cart.total_cents",
        "Cart.total_cents() is on the hot path of checkout; make it faster.",
        "failing-test",
    ),
    DemoTask(
        "[demo] Upgrade the test tooling",
        "Check whether the test setup needs upgrading and do it.",
        "error",
    ),
)
"""In spawn order: the quick one first (it ends in the Done zone), then one per zone."""

SAMPLE_PROJECT: dict[str, str] = {
    "README.md": (
        "# shop\n\n"
        "A tiny shop: carts, prices and discounts. This is the sample project of the\n"
        "ao-tui demo; the scripted demo agents edit and commit it.\n\n"
        "Run the tests with `python -m unittest`.\n"
    ),
    "CHANGELOG.md": "# Changelog\n\n## Unreleased\n\n- Start the project.\n",
    ".gitignore": "__pycache__/\n*.pyc\nbuild/\ndist/\n",
    "shop/__init__.py": (
        '"""A tiny shop: carts, prices and discounts (the ao-tui demo project)."""\n\n'
        '__version__ = "0.1.0"\n'
    ),
    "shop/cart.py": (
        '"""A shopping cart that knows its lines and its total."""\n\n'
        "from __future__ import annotations\n\n"
        "from dataclasses import dataclass, field\n\n\n"
        "@dataclass\n"
        "class Line:\n"
        '    """One product in the cart."""\n\n'
        "    name: str\n"
        "    unit_cents: int\n"
        "    quantity: int = 1\n\n\n"
        "@dataclass\n"
        "class Cart:\n"
        '    """The products a customer is about to buy."""\n\n'
        "    lines: list[Line] = field(default_factory=list)\n\n"
        "    def add(self, name: str, unit_cents: int, quantity: int = 1) -> None:\n"
        '        """Put ``quantity`` of a product in the cart."""\n'
        "        self.lines.append(Line(name, unit_cents, quantity))\n\n"
        "    def total_cents(self) -> int:\n"
        '        """What the whole cart costs, in cents."""\n'
        "        return sum(line.unit_cents * line.quantity for line in self.lines)\n"
    ),
    "shop/pricing.py": (
        '"""Discounts."""\n\n\n'
        "def apply_discount(cents: int, percent: int) -> int:\n"
        '    """``cents`` reduced by ``percent`` per cent, rounded down."""\n'
        "    return cents - cents * percent // 100\n"
    ),
    "tests/__init__.py": "",
    "tests/test_cart.py": (
        '"""The cart adds up its lines."""\n\n'
        "import unittest\n\n"
        "from shop.cart import Cart\n\n\n"
        "class CartTest(unittest.TestCase):\n"
        "    def test_total_counts_quantities(self) -> None:\n"
        "        cart = Cart()\n"
        '        cart.add("apple", 50, quantity=3)\n'
        '        cart.add("pear", 80)\n'
        "        self.assertEqual(cart.total_cents(), 230)\n\n"
        "    def test_empty_cart_is_free(self) -> None:\n"
        "        self.assertEqual(Cart().total_cents(), 0)\n"
    ),
    "tests/test_pricing.py": (
        '"""Discounts take a share off."""\n\n'
        "import unittest\n\n"
        "from shop.pricing import apply_discount\n\n\n"
        "class PricingTest(unittest.TestCase):\n"
        "    def test_ten_percent_off(self) -> None:\n"
        "        self.assertEqual(apply_discount(1000, 10), 900)\n"
    ),
}
"""The sample project: a package, its tests (``python -m unittest``), a README, a changelog."""


class DemoError(EngineError):
    """The sandbox could not be built; the message says what to do."""


def write_sample_project(repo: Path, extra: Mapping[str, str] | None = None) -> None:
    """Write the sample project (and the ``extra`` files) into ``repo``; commit it on
    ``main``."""
    repo.mkdir(parents=True, exist_ok=True)
    for relative, text in {**SAMPLE_PROJECT, **(extra or {})}.items():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    _git(repo, "init", "--quiet")
    # `git init -b` needs git 2.28; setting HEAD works with any version.
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "--no-verify", "-m", "Start the shop project")


def _git(repo: Path, *args: str) -> None:
    """Run git in ``repo`` with the demo's identity; :class:`DemoError` on failure."""
    try:
        run_git(args, cwd=repo, config=GIT_IDENTITY)
    except SlotError as exc:
        raise DemoError(f"the demo sandbox could not be built: {exc}") from exc


def config_text(repo: Path, claude_dir: Path, speed: float) -> str:
    """The sandbox's ``ao.config.yaml``: one project, the demo agent, its environment."""
    return (
        "# ao-tui demo sandbox: scripted demo agents on a throwaway sample project.\n"
        "projects:\n"
        f"  {PROJECT_ID}:\n"
        f"    path: {json.dumps(str(repo))}\n"
        "    defaultBranch: main\n"
        f"    sessionPrefix: {SESSION_PREFIX}\n"
        f"    agent: {DEMO_AGENT}\n"
        f"    ci: {{command: {json.dumps(ci_command())}, timeout: 120}}\n"
        "    env:\n"
        f"      CLAUDE_CONFIG_DIR: {json.dumps(str(claude_dir))}\n"
        f"      {SPEED_ENV}: {json.dumps(repr(float(speed)))}\n"
        "# Reactions: ao-tui acts on its own. A failing CI is sent back to the agent that\n"
        "# broke it, which fixes it and commits (ci-failed: the default, written out here).\n"
        "# The quick demo agent exits on purpose once its work is done: say so, do not\n"
        "# restore it as if it had died (agent-exited restores by default).\n"
        "reactions:\n"
        "  ci-failed: {auto: true, action: send-to-agent, retries: 2, escalateAfter: 2}\n"
        "  agent-exited: {action: notify}\n"
        "# No agent review here (`ao-tui demo --night` shows one): the quick demo's green\n"
        "# heads wait for you.\n"
        "  agent-review: {auto: false}\n"
    )


def ci_command() -> str:
    """The sample project's CI: its unittest suite, with this interpreter (stdlib only)."""
    return shlex.join([sys.executable, "-m", "unittest", "-q"])


@dataclass
class DemoSandbox:
    """A built demo: its directory, config and engine; :meth:`close` undoes all of it."""

    root: Path
    config_path: Path
    engine: Engine
    tmux_socket: str
    tmux_tmpdir: str | None
    """``TMUX_TMPDIR`` of the sandbox's tmux server (None: tmux's default)."""
    owns_tmux_server: bool
    """True when the sandbox started its own tmux server (then close kills it)."""
    saved_env: dict[str, str | None] = field(default_factory=dict)
    extra_dirs: list[Path] = field(default_factory=list)
    closed: bool = False
    operator: DemoOperator | None = None
    """The scripted operator thread (approves and merges), once sessions are spawned."""
    watcher: DemoWatcher | None = None
    """The engine loop with the reactions, when no cockpit runs it (see :meth:`watch`)."""

    @property
    def home(self) -> Path:
        """The sandbox's ``AO_TUI_HOME``."""
        return self.engine.locations.home

    def watch(self) -> DemoWatcher:
        """Reconcile and react on the sandbox in a background thread, as the cockpit does
        when it runs: for a demo with no cockpit. :meth:`close` stops it."""
        if self.watcher is None:
            self.watcher = DemoWatcher(self.engine)
            self.watcher.start()
        return self.watcher

    def reuse_command(self, verb: str | None = "status") -> str:
        """The shell line that runs ``ao-tui VERB`` (None: the cockpit) on the sandbox's
        sessions from another terminal."""
        env = [f"AO_TUI_HOME={shlex.quote(str(self.home))}"]
        env.append(f"{SOCKET_ENV}={shlex.quote(self.tmux_socket)}")
        if self.tmux_tmpdir:
            env.append(f"TMUX_TMPDIR={shlex.quote(self.tmux_tmpdir)}")
        config = ["--config", shlex.quote(str(self.config_path))]
        return " ".join([*env, "ao-tui", *config, *([verb] if verb else [])])

    def close(self, keep: bool = False) -> str:
        """Kill the sandbox's tmux sessions (or server) and remove every file, unless
        ``keep``; restore this process's environment either way. Says what was done."""
        if self.closed:
            return "demo sandbox already closed"
        self.closed = True
        if self.watcher is not None:
            self.watcher.stop()
        if self.operator is not None:
            self.operator.stop()
        if keep:
            message = (
                f"demo sandbox kept in {self.root}; its sessions keep running\n"
                f"  see it:     {self.reuse_command()}\n"
                f"  cockpit:    {self.reuse_command(None)}\n"
                f"  remove it:  tmux -L {shlex.quote(self.tmux_socket)} kill-server; "
                f"rm -rf {shlex.quote(str(self.root))}"
            )
        else:
            self._stop_sessions()
            message = f"demo sandbox removed ({self.root})"
        self.engine.store.close()
        _restore_env(self.saved_env)
        if not keep:
            for directory in (self.root, *self.extra_dirs):
                _remove_tree(directory)
        return message

    def _stop_sessions(self) -> None:
        """Kill the sandbox's tmux sessions (its whole server if it started it), then wait
        for their agents to finish their exit hooks, so nothing writes into removed dirs."""
        names = {session.tmux for session in self.engine.list()}
        try:
            panes = self.engine.runtime.list_panes()
        except Exception:
            panes = {}  # cleanup goes on whatever tmux says: the files must still go
        pids = [pane.pane_pid for name, pane in panes.items() if name in names and not pane.dead]
        if self.owns_tmux_server:
            env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
            if self.tmux_tmpdir:
                env["TMUX_TMPDIR"] = self.tmux_tmpdir
            subprocess.run(
                ["tmux", "-L", self.tmux_socket, "kill-server"],
                env=env,
                capture_output=True,
                timeout=15,
                check=False,
            )
        else:
            for name in names:
                try:
                    self.engine.runtime.kill(name)
                except Exception:
                    pass  # keep going: the other sessions must still be stopped
        _wait_for_exit(pids, timeout=5.0)


def quit_message(keep: bool) -> str:
    """What the demo's cockpit says as it quits: what happens to the sandbox next."""
    if keep:
        return (
            "ao-tui demo: quitting; --keep leaves the sandbox and its sessions running "
            "(how to reach them below)"
        )
    return (
        "ao-tui demo: quitting; removing the demo sandbox and its sessions "
        "(`ao-tui demo --keep` keeps them)"
    )


def _wait_for_exit(pids: list[int], timeout: float) -> None:
    """Wait until none of ``pids`` runs any more; past ``timeout`` (a loaded machine, an
    agent ignoring its hang-up) end what is left of their process groups, so no demo agent
    writes into the sandbox after it is removed."""
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.05)
    for pid in pids:
        # Each pane's first process leads its own process group (tmux makes it so): these
        # are the sandbox's own agents, and only they are in those groups.
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _alive(pid)]
        if pids:
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].split(" ", 1)[0] != "Z"


def _remove_tree(directory: Path) -> None:
    """Remove ``directory``; retry once, since an exiting agent may still be writing."""
    for _ in range(2):
        shutil.rmtree(directory, ignore_errors=True)
        if not directory.exists():
            return
        time.sleep(0.2)


def _restore_env(saved: dict[str, str | None]) -> None:
    """Put back the environment variables :func:`build_demo` changed."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@contextmanager
def hangup_exits(stop: Callable[[], object] | None = None) -> Iterator[None]:
    """While inside, SIGHUP and SIGTERM end the program in an orderly way.

    Their default action ends the process on the spot, which would leave the sandbox's
    tmux server, demo agents and files behind when the operator's terminal closes. Inside
    a running event loop (the cockpit) ``stop`` is scheduled on it, so the app shuts down
    as if quit; anywhere else the signal raises SystemExit, so ``finally`` blocks run.
    Only the first signal acts: a closing terminal sends SIGHUP more than once (tmux to
    the pane's process group, the kernel as the pty hangs up), and a second SystemExit
    raised inside the cleanup the first one started would cut it short.
    """
    received: list[int] = []

    def leave(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or stop is None:
            raise SystemExit(128 + signum)
        loop.call_soon_threadsafe(stop)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sandbox_root(root: Path | None) -> Path:
    """A new temp dir, or ``root`` if it is new or empty (it will be removed on close)."""
    if root is None:
        return Path(tempfile.mkdtemp(prefix="ao-tui-demo-")).resolve()
    root = root.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        raise DemoError(f"{root} is not empty; give the demo a new or empty directory")
    root.mkdir(parents=True, exist_ok=True)
    return root


def build_demo(root: Path | None = None, *, sessions: int = 6, speed: float = 1.0) -> DemoSandbox:
    """Build a demo sandbox in ``root`` (default: a new temp dir) and spawn ``sessions``
    demo sessions on it, their scripts running ``speed`` times faster than real time.

    The first session does a quick change and exits; a scripted operator then merges it
    (Done) and approves another once its CI is green (Ready to merge), so every zone fills
    within seconds. The session whose change breaks the tests is left to the reactions: a
    cockpit (or :meth:`DemoSandbox.watch`) sends its agent the failing CI, and it fixes it.
    Anything that fails halfway is undone before the error propagates.
    """
    if sessions < 1:
        raise DemoError("a demo needs at least one session")
    if speed <= 0:
        raise DemoError("the demo speed must be positive")
    root = _sandbox_root(root)
    saved: dict[str, str | None] = {key: os.environ.get(key) for key in _ENV_KEYS}
    extra_dirs: list[Path] = []
    try:
        sandbox = _prepare(root, speed, saved, extra_dirs)
    except BaseException:
        _restore_env(saved)
        for directory in (root, *extra_dirs):
            _remove_tree(directory)
        raise
    try:
        _spawn_sessions(sandbox, sessions, speed)
    except BaseException:
        sandbox.close()
        raise
    return sandbox


ConfigText = Callable[[Path, Path, float], str]
"""The sandbox's config from its repository, its ``CLAUDE_CONFIG_DIR`` and the speed."""


def _prepare(
    root: Path,
    speed: float,
    saved: dict[str, str | None],
    extra_dirs: list[Path],
    *,
    config: ConfigText = config_text,
    files: Mapping[str, str] | None = None,
) -> DemoSandbox:
    """Files, environment and engine of a new sandbox (nothing started yet): ``config``
    writes its config, ``files`` are added to the sample project."""
    repo = root / PROJECT_ID
    write_sample_project(repo, files)
    claude_dir = root / "claude"
    claude_dir.mkdir()
    home = root / "home"
    config_path = root / "ao.config.yaml"
    config_path.write_text(config(repo, claude_dir, speed), encoding="utf-8")

    socket = os.environ.get(SOCKET_ENV) or ""
    owns_server = not socket
    tmux_tmpdir = os.environ.get("TMUX_TMPDIR")
    if owns_server:
        socket = f"ao-tui-demo-{uuid.uuid4().hex[:8]}"
        if len(str(root)) <= MAX_SOCKET_DIR:
            tmux_dir = root / "tmux"
            tmux_dir.mkdir(mode=0o700)
        else:
            tmux_dir = Path(tempfile.mkdtemp(prefix="ao-tui-demo-tmux-"))
            extra_dirs.append(tmux_dir)
        tmux_tmpdir = str(tmux_dir)
        os.environ[SOCKET_ENV] = socket
        os.environ["TMUX_TMPDIR"] = tmux_tmpdir
    os.environ["AO_TUI_HOME"] = str(home)
    os.environ["AO_TUI_CONFIG"] = str(config_path)

    registry = Registry()
    if DEMO_AGENT not in registry.names("agent"):
        raise DemoError(
            "the demo agent plugin is not installed (no `agent:demo` entry point); "
            "reinstall ao-tui, e.g. `pip install -e .` in a source checkout"
        )
    loaded = load_config(config_path, known_agents=registry.names("agent"))
    engine = Engine(loaded.config, locations=Locations(home), registry=registry)
    return DemoSandbox(
        root=root,
        config_path=config_path,
        engine=engine,
        tmux_socket=socket,
        tmux_tmpdir=tmux_tmpdir,
        owns_tmux_server=owns_server,
        saved_env=saved,
        extra_dirs=extra_dirs,
    )


def _spawn_sessions(sandbox: DemoSandbox, count: int, speed: float) -> None:
    """Spawn ``count`` sessions through the engine, then start the scripted operator.

    The operator merges the quick session once its agent exits with green CI (Done) and
    approves the commit-and-idle one once its CI is green (Ready to merge).
    """
    engine = sandbox.engine
    firsts: dict[str, str] = {}
    for index in range(count):
        task = DEMO_TASKS[index % len(DEMO_TASKS)]
        round_ = index // len(DEMO_TASKS)
        title = task.title if round_ == 0 else f"{task.title} #{round_ + 1}"
        session = engine.spawn(PROJECT_ID, task.prompt(), title=title, force=True)
        firsts.setdefault(task.scenario, session.id)
    sandbox.operator = DemoOperator(
        engine,
        merge_id=firsts.get("exit"),
        approve_id=firsts.get("commit-and-idle"),
        timeout=max(60.0, 120.0 / speed),
    )
    sandbox.operator.start()
