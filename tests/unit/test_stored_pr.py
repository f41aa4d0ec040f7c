"""A session's PR in the store: typed on the way in and out, the same JSON as before.

Rows are written and read through a real SQLite file; old rows are written as raw JSON
text, exactly as the dict-based code wrote them, so the upgrade path is what is tested.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ao_tui.cli import session_json
from core.models import ReviewThread, SessionPR
from core.scm import CheckRun, PRInfo
from core.store import Store, StoreError
from core.store_health import RECOVER_HINT
from tests.unit.test_store import make_session

THREAD = ReviewThread("src/a.py", 3, "mira", "Keep the old redirect.", "https://x/1", 2)

PRINFO = PRInfo(
    head_sha="h" * 40,
    base_sha="b" * 40,
    ahead=2,
    behind=1,
    ci="failing",
    review="changes_requested",
    number=12,
    url="https://github.com/o/r/pull/12",
    checks=(CheckRun("tests", "failing", "h" * 40),),
    threads=(THREAD,),
    problem="GitHub rate limit reached",
)

THREAD_JSON = {
    "path": "src/a.py",
    "line": 3,
    "author": "mira",
    "body": "Keep the old redirect.",
    "url": "https://x/1",
    "replies": 2,
}

# What PRInfo.to_json wrote for PRINFO before the record existed (the keys of every
# stored row since the first version, in the order that code built them).
PRINFO_JSON = {
    "state": "ci_failed",
    "number": 12,
    "url": "https://github.com/o/r/pull/12",
    "ci": "failing",
    "review": "changes_requested",
    "mergeable": False,
    "blockers": ["CI failing", "changes requested"],
    "notes": ["behind base by 1 commit"],
    "head_sha": "h" * 40,
    "base_sha": "b" * 40,
    "ahead": 2,
    "behind": 1,
    "conflicts": [],
    "threads": [THREAD_JSON],
    "problem": "GitHub rate limit reached",
}

# What is written today: each thread also says whether a bot started it and the host's id
# for it (null when the host gave none).
STORED_JSON = {
    **PRINFO_JSON,
    "threads": [{**THREAD_JSON, "bot": False, "id": None}],
}

# The two shorter shapes the dict-based reconciler and doctor --fix wrote.
UNKNOWN_JSON = {
    "state": "unknown",
    "ci": "none",
    "review": "pending",
    "problem": "no GitHub token",
    "mergeable": False,
    "blockers": ["SCM unavailable: no GitHub token"],
}
RECOVERED_JSON = {
    "state": "merged",
    "mergeable": False,
    "blockers": [],
    "merged_sha": None,
    "notes": ["uncommitted work was saved as 1234567890 on ao/app-1-t"],
}


def _store_with_row(tmp_path: Path, pr_text: str | None) -> Store:
    """A store holding app-1, its ``pr`` column set to ``pr_text`` by another program."""
    path = tmp_path / "s.db"
    store = Store(path)
    store.insert_session(make_session("app-1"), event=("spawned", {}))
    other = sqlite3.connect(path)
    other.execute("UPDATE sessions SET pr=? WHERE id='app-1'", (pr_text,))
    other.commit()
    other.close()
    return store


def _pr(store: Store) -> SessionPR:
    session = store.get_session("app-1")
    assert session is not None and session.pr is not None
    return session.pr


def _column(store: Store) -> str:
    other = sqlite3.connect(store.path)
    (text,) = other.execute("SELECT pr FROM sessions WHERE id='app-1'").fetchone()
    other.close()
    return str(text)


def test_the_record_is_stored_as_the_json_written_before_and_reads_back_equal(
    tmp_path: Path,
) -> None:
    pr = PRINFO.to_session_pr()
    store = _store_with_row(tmp_path, None)
    store.update_session("app-1", pr=pr)
    assert json.loads(_column(store)) == STORED_JSON
    assert _column(store) == json.dumps(STORED_JSON, sort_keys=True)
    assert store.get_session("app-1").pr == pr  # type: ignore[union-attr]
    merged = pr.as_merged("m" * 40, ["worktree removed"])
    store.update_session("app-1", pr=merged)
    assert json.loads(_column(store)) == {
        **STORED_JSON,
        "state": "merged",
        "blockers": [],
        "notes": ["worktree removed"],
        "merged_sha": "m" * 40,
    }
    assert store.get_session("app-1").pr == merged  # type: ignore[union-attr]


def test_rows_written_before_the_record_existed_read_with_their_facts(tmp_path: Path) -> None:
    full = _store_with_row(tmp_path / "full", json.dumps(PRINFO_JSON, sort_keys=True))
    assert full.get_session("app-1").pr == PRINFO.to_session_pr()  # type: ignore[union-attr]

    unknown = _store_with_row(tmp_path / "unknown", json.dumps(UNKNOWN_JSON, sort_keys=True))
    pr = _pr(unknown)
    assert pr == SessionPR(
        "unknown", problem="no GitHub token", blockers=("SCM unavailable: no GitHub token",)
    )
    assert (pr.ahead, pr.behind, pr.head_sha, pr.threads) == (None, None, "", ())

    recovered = _store_with_row(tmp_path / "rec", json.dumps(RECOVERED_JSON, sort_keys=True))
    pr = _pr(recovered)
    assert (pr.state, pr.merged_sha, pr.ci, pr.review) == ("merged", None, "none", "pending")
    assert pr.notes == ("uncommitted work was saved as 1234567890 on ao/app-1-t",)


def test_status_json_prints_the_same_pr_object_as_before(tmp_path: Path) -> None:
    """``status --json``'s ``pr`` for each stored shape, as the dict-based code printed it."""
    keys = ("state", "number", "url", "ci", "review", "mergeable", "blockers", "problem")
    for name, stored in (("full", PRINFO_JSON), ("unknown", UNKNOWN_JSON)):
        store = _store_with_row(tmp_path / name, json.dumps(stored, sort_keys=True))
        printed = session_json(store.get_session("app-1"))["pr"]  # type: ignore[arg-type]
        before = {key: stored.get(key, [] if key == "blockers" else None) for key in keys}
        assert json.dumps(printed) == json.dumps(before), name


def test_a_guarded_write_matches_a_row_an_older_version_wrote_with_fewer_keys(
    tmp_path: Path,
) -> None:
    """The reconciler's ci-failed write expects the PR it read; an old row's text differs
    from today's encoding of the same PR, and the write must still go through (once)."""
    store = _store_with_row(tmp_path, json.dumps(UNKNOWN_JSON))  # unsorted, fewer keys
    read = store.get_session("app-1")
    assert read is not None
    failing = PRINFO.to_session_pr()
    written = store.update_session_if("app-1", {"pr": read.pr}, pr=failing)
    assert written is not None and written.pr == failing
    # The row moved on: the same expectation no longer matches, nothing is written.
    assert store.update_session_if("app-1", {"pr": read.pr}, pr=None) is None
    assert store.get_session("app-1").pr == failing  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{not json", "Expecting property name"),
        ("[1, 2]", "pr: expected an object, got list"),
        ('{"state": "purple"}', "pr.state: 'purple' is not one of open, draft"),
        ('{"state": "open", "ahead": "3"}', "pr.ahead: expected a whole number, got str"),
        ('{"state": "open", "mergeable": "yes"}', "pr.mergeable: expected true or false"),
        ('{"state": "open", "blockers": "CI failing"}', "pr.blockers: expected a list of text"),
        ('{"state": "open", "threads": [{"body": 7}]}', "thread.body: expected text, got int"),
        ('{"state": "open", "threads": {}}', "pr.threads: expected a list, got dict"),
        ('{"state": "open", "threads": [{"bot": "yes"}]}', "thread.bot: expected true or false"),
        ('{"state": "open", "threads": [{"id": 7}]}', "thread.id: expected text, got int"),
        ("[" * 100_000 + "]" * 100_000, "pr: nested too deeply"),
    ],
    ids=[
        "not-json",
        "list",
        "state",
        "ahead",
        "mergeable",
        "blockers",
        "thread",
        "threads",
        "thread-bot",
        "thread-id",
        "deep",
    ],
)
def test_a_garbled_pr_is_a_damaged_session_named_with_its_field(
    tmp_path: Path, text: str, said: str
) -> None:
    """One line naming the file, the session and the field, and how to recover (exit 7)."""
    store = _store_with_row(tmp_path, text)
    for read in (store.list_sessions, lambda: store.get_session("app-1")):
        with pytest.raises(StoreError) as raised:
            read()
        message = str(raised.value)
        assert message.startswith(f"{store.path}: session 'app-1' is damaged (")
        assert said in message and RECOVER_HINT in message and "\n" not in message
