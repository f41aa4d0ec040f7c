"""The local tracker reads tasks from a Markdown or YAML file; every problem names file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.tracker import Issue, TrackerError, TrackerTarget, normalize_key, task_prompt
from plugins.tracker.local import LocalTracker

MARKDOWN = """\
# Tasks for the widgets app

Intro text that is not a task.

## 12. Fix the flaky login test
It fails one run in ten on CI.

```sh
## not a heading: inside a code fence
pytest tests/test_login.py
```

### Notes
Still part of task 12.

## Add dark mode

## [x] T-3: Ship the release notes
Done already.

## #40 Rename the settings page
"""


def target(repo: Path, path: str = "TASKS.md") -> TrackerTarget:
    return TrackerTarget("app", repo, path)


def write(repo: Path, name: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    (repo / name).write_bytes(data)


def test_markdown_headings_are_tasks(tmp_path: Path) -> None:
    write(tmp_path, "TASKS.md", MARKDOWN)
    tracker = LocalTracker()
    tasks = {t.key: t for t in tracker.issues(target(tmp_path))}
    assert list(tasks) == ["12", "2", "40"]  # T-3 is done; "Add dark mode" is task 2
    twelve = tasks["12"]
    assert twelve.title == "Fix the flaky login test"
    assert "## not a heading: inside a code fence" in twelve.body
    assert "Still part of task 12." in twelve.body
    assert twelve.where == "TASKS.md:5"
    assert tasks["2"].title == "Add dark mode"
    assert tasks["40"].title == "Rename the settings page"
    done = tracker.issue(target(tmp_path), "t-3")
    assert (done.key, done.state, done.body) == ("T-3", "closed", "Done already.")


def test_unknown_task_lists_the_ids_there_are(tmp_path: Path) -> None:
    write(tmp_path, "TASKS.md", MARKDOWN)
    with pytest.raises(TrackerError) as info:
        LocalTracker().issue(target(tmp_path), "99")
    assert str(info.value).startswith("TASKS.md has no task '99' (tasks: 12, 2, T-3, 40)")


def test_yaml_tasks_list_and_mapping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "tasks.yaml",
        "tasks:\n"
        "  - id: 7\n"
        "    title: Speed up the importer\n"
        "    body: |\n"
        "      Profile it first.\n"
        "    labels: [perf]\n"
        "  - title: Write the changelog\n"
        "    done: true\n",
    )
    tracker = LocalTracker()
    found = tracker.issues(target(tmp_path, "tasks.yaml"))
    assert [(t.key, t.title, t.labels, t.where) for t in found] == [
        ("7", "Speed up the importer", ("perf",), "tasks.yaml:2")
    ]
    assert tracker.issue(target(tmp_path, "tasks.yaml"), "2").state == "closed"
    write(tmp_path, "list.yml", "- title: One\n- title: Two\n")
    assert [t.key for t in tracker.issues(target(tmp_path, "list.yml"))] == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("TASKS.md", "## 3. One\n## 3. Two\n", "TASKS.md:2: task id '3' is used twice (first"),
        ("TASKS.md", "## 4.   \n", "TASKS.md:1: task heading has no title"),
        ("TASKS.md", b"## ok\n\xff\xfe\n", "TASKS.md:2: not UTF-8 text"),
        ("t.yaml", "- title: a\n  colour: red\n", "t.yaml:2: unknown task key 'colour'"),
        ("t.yaml", "- id: 1\n  title: a\n- id: 1\n  title: b\n", "t.yaml:3: task id '1' is"),
        ("t.yaml", "- body: no title\n", "t.yaml:1: task 1 has no 'title'"),
        ("t.yaml", "- title: a\n  labels: bug\n", "t.yaml:2: labels must be a list"),
        ("t.yaml", "- title: a\n  id: 'has space'\n", "t.yaml:2: issue 'has space' is not"),
        ("t.yaml", "title: a\n", "t.yaml:1: expected a list of tasks"),
        ("t.yaml", "- title: [unclosed\n", "t.yaml:2:1: "),
        ("t.yaml", "- title: a\n  title: b\n", "t.yaml:2:3: "),
    ],
)
def test_bad_task_files_name_file_and_line(
    tmp_path: Path, name: str, text: str | bytes, message: str
) -> None:
    write(tmp_path, name, text)
    with pytest.raises(TrackerError) as info:
        LocalTracker().issues(target(tmp_path, name))
    assert str(info.value).startswith(message), str(info.value)


def test_missing_task_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(TrackerError) as info:
        LocalTracker().issues(target(tmp_path))
    assert "task file TASKS.md not found" in str(info.value)
    assert "tracker.path" in str(info.value)


@pytest.mark.parametrize(("ref", "key"), [("42", "42"), ("#42", "42"), (" T-3 ", "T-3")])
def test_issue_keys_are_normalised(ref: str, key: str) -> None:
    assert normalize_key(ref) == key


@pytest.mark.parametrize("ref", ["", "#", "4 2", "../etc", "$(id)", "x" * 50, "42;rm"])
def test_hostile_issue_refs_are_refused(ref: str) -> None:
    with pytest.raises(TrackerError):
        normalize_key(ref)


def test_prompt_carries_title_body_source_and_note() -> None:
    issue = Issue("12", "Fix login", "It fails.", None, ("bug",), "open", "TASKS.md:5")
    assert task_prompt(issue, "start with the test") == (
        "Resolve issue #12: Fix login\n(TASKS.md:5)\nLabels: bug\n\nIt fails.\n\n"
        "Operator's note: start with the test"
    )
