"""The ``local`` tracker: tasks written in a Markdown or YAML file in the repository.

Markdown (``TASKS.md``): every level-2 heading is a task, its body is the text up to the
next heading of level 1 or 2. A heading may start with an id (``## 12. Fix the login``,
``## #12 Fix…``, ``## T-3: Fix…``); without one the task's id is its position among the
tasks (1, 2, …). ``## [x] …`` marks a task done (closed)::

    ## 1. Fix the flaky login test
    It fails one run in ten on CI; see tests/test_login.py.

YAML (``tasks.yaml``): a list of tasks, or ``{tasks: [...]}``; each has ``title`` and may
have ``id``, ``body``, ``labels`` and ``done``::

    - id: 12
      title: Fix the flaky login test
      body: It fails one run in ten.

The file is read on each call (it is small and the operator edits it while agents run), and
every problem names the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.inert import inert
from core.tracker import Issue, TrackerError, TrackerTarget, normalize_key
from core.yaml_marks import MarkedDocument, YamlError, load_marked

_MAX_BYTES = 5_000_000
_HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_DONE = re.compile(r"^\[(?P<mark>[ xX])\]\s+")
_ID = re.compile(r"^#?(?P<key>(?:[A-Za-z]+-)?[0-9]+)(?:[.:)](?:\s+|$)|\s+|$)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _inside(target: TrackerTarget) -> Path:
    """The task file, refused when it resolves outside the repository (``..``, a symlink).

    Its text becomes an agent's prompt: it must be the repository's, never a file the
    path happens to reach (a symlink to ``~/.ssh``, another checkout).
    """
    repo = target.repo.resolve()
    path = (repo / target.path).resolve()
    if not path.is_relative_to(repo):
        raise TrackerError(
            f"tracker.path {target.path!r} resolves to {str(path)!r}, outside the repository "
            f"{str(repo)!r}; point tracker.path at a file inside the repository"
        )
    return path


class LocalTracker:
    """Tasks from a file in the repository (no network)."""

    name = "local"

    def issues(self, target: TrackerTarget, *, limit: int = 100) -> Sequence[Issue]:
        """The open tasks in file order, at most ``limit``."""
        return [task for task in self._tasks(target) if task.state == "open"][:limit]

    def issue(self, target: TrackerTarget, key: str) -> Issue:
        """Task ``key`` from the file; the error lists the ids the file has."""
        tasks = self._tasks(target)
        for task in tasks:
            if task.key.lower() == key.lower():
                return task
        known = ", ".join(task.key for task in tasks[:20]) or "none"
        raise TrackerError(
            f"{target.path} has no task {key!r} (tasks: {known}); add a '## {key}. Title' "
            f"heading to {target.path}, or pick one of those"
        )

    def _tasks(self, target: TrackerTarget) -> list[Issue]:
        path = _inside(target)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise TrackerError(
                f"task file {target.path} not found in {target.repo}; create it (one "
                "'## Title' heading per task) or set tracker.path in the config"
            ) from None
        except OSError as exc:
            raise TrackerError(f"cannot read task file {path}: {exc.strerror}") from None
        if len(raw) > _MAX_BYTES:
            raise TrackerError(f"task file {target.path} is over {_MAX_BYTES // 1_000_000} MB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise TrackerError(
                f"{target.path}:{line}: not UTF-8 text; save the file as UTF-8"
            ) from None
        if path.suffix.lower() in (".yaml", ".yml"):
            return _yaml_tasks(text, target.path)
        return _markdown_tasks(text, target.path)


def _markdown_tasks(text: str, name: str) -> list[Issue]:
    """Level-2 headings and their bodies; code fences are not headings."""
    tasks: list[Issue] = []
    seen: dict[str, int] = {}
    current: dict[str, Any] | None = None
    body: list[str] = []
    fenced = False

    def close() -> None:
        if current is not None:
            tasks.append(Issue(**current, body=inert("\n".join(body)).strip()))

    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None or len(heading.group("level")) > 2:
            if current is not None:
                body.append(line)
            continue
        close()
        current, body = None, []
        if len(heading.group("level")) == 1:
            continue
        title = heading.group("text")
        state = "open"
        done = _DONE.match(title)
        if done:
            state = "open" if done.group("mark") == " " else "closed"
            title = title[done.end() :]
        explicit = _ID.match(title)
        if explicit:
            key, title = explicit.group("key"), title[explicit.end() :].strip()
        else:
            key = str(len(tasks) + 1)
        if not title:
            raise TrackerError(f"{name}:{number}: task heading has no title; write '## Title'")
        if key.lower() in seen:
            raise TrackerError(
                f"{name}:{number}: task id {key!r} is used twice (first at line "
                f"{seen[key.lower()]}); give each task its own id"
            )
        seen[key.lower()] = number
        title = inert(title, one_line=True)  # anyone with a commit may have written it
        current = {"key": key, "title": title, "state": state, "where": f"{name}:{number}"}
    close()
    return tasks


def _yaml_tasks(text: str, name: str) -> list[Issue]:
    try:
        document = load_marked(text)
    except YamlError as exc:
        first = exc.problems[0]
        raise TrackerError(f"{name}:{first.line}:{first.column}: {first.message}") from None
    if document is None:
        return []
    items = document.data
    prefix: tuple[str | int, ...] = ()
    if isinstance(items, dict) and "tasks" in items:
        items, prefix = items["tasks"], ("tasks",)
    if not isinstance(items, list):
        line = document.value_mark(prefix).line
        raise TrackerError(
            f"{name}:{line}: expected a list of tasks (each with a title), or 'tasks:' holding one"
        )
    tasks: list[Issue] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = (*prefix, index)
        tasks.append(_yaml_task(document, item, path, index, name, seen))
    return tasks


def _yaml_task(
    document: MarkedDocument,
    item: Any,
    path: tuple[str | int, ...],
    index: int,
    name: str,
    seen: dict[str, int],
) -> Issue:
    line = document.value_mark(path).line

    def where(field: str) -> str:
        return f"{name}:{document.value_mark((*path, field)).line}"

    if not isinstance(item, dict):
        raise TrackerError(f"{name}:{line}: a task must be a mapping with a 'title'")
    unknown = sorted(set(item) - {"id", "title", "body", "labels", "done", "url"})
    if unknown:
        raise TrackerError(
            f"{where(unknown[0])}: unknown task key {unknown[0]!r} "
            "(allowed: id, title, body, labels, done, url)"
        )
    title = item.get("title")
    if not isinstance(title, str) or not title.strip():
        raise TrackerError(f"{name}:{line}: task {index + 1} has no 'title'")
    raw_key = item.get("id", index + 1)
    if isinstance(raw_key, bool) or not isinstance(raw_key, int | str):
        raise TrackerError(f"{where('id')}: task id must be a number or a word like T-3")
    try:
        key = normalize_key(str(raw_key))
    except TrackerError as exc:
        raise TrackerError(f"{where('id')}: {exc}") from None
    if key.lower() in seen:
        raise TrackerError(
            f"{where('id')}: task id {key!r} is used twice (first at line {seen[key.lower()]})"
        )
    seen[key.lower()] = line
    labels = item.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise TrackerError(f"{where('labels')}: labels must be a list of words")
    body = item.get("body", "")
    if not isinstance(body, str):
        raise TrackerError(f"{where('body')}: body must be text")
    url = item.get("url")
    return Issue(
        key=key,
        title=inert(title.strip(), one_line=True),
        body=inert(body),
        url=inert(url, one_line=True) if isinstance(url, str) else None,
        labels=tuple(inert(label, one_line=True) for label in labels),
        state="closed" if item.get("done") is True else "open",
        where=f"{name}:{line}",
    )
