"""How the scripted orchestrator and reviewer read ao-tui: the backlog, hand-offs, tasks and
diffs, tolerantly (other parts of ao-tui own those texts and may reword them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from plugins.agent.demo_program.fleet import (
    AddedLine,
    CliRun,
    added_lines,
    ao_tui_argv,
    handoff,
    is_cap_refusal,
    review_author,
    spawned_id,
    unworked_issues,
)
from plugins.agent.demo_program.night_changes import ADD_TAX, TAX_TRIES, tax_retry


def test_unworked_issues_are_the_open_ones_no_live_session_has() -> None:
    status = [
        {"id": "demo-orchestrator", "role": "orchestrator", "issue": None},
        {"id": "demo-1", "issue": "2", "lifecycle": "running"},
        {"id": "demo-2", "issue": "4", "lifecycle": "merged"},  # over: #4 is free again
    ]
    issues = [
        {"key": "1", "title": "a", "state": "open", "session": None},
        {"key": "2", "title": "b", "state": "open", "session": None},
        {"key": "3", "title": "c", "state": "open", "session": "demo-9"},
        {"key": "4", "title": "d", "state": "open"},
        {"key": "5", "title": "e", "state": "closed"},
        {"title": "no key"},
        "not an object",
    ]
    assert unworked_issues(status, issues) == ["1", "4"]
    # Other shapes: wrapped arrays, `number` instead of `key`, garbage.
    assert unworked_issues({"sessions": []}, {"issues": [{"number": 7}]}) == ["7"]
    assert unworked_issues(None, "oops") == []


def test_a_refused_spawn_tells_the_cap_from_a_duplicate() -> None:
    cap = CliRun(("spawn",), 4, "", "ao-tui: project shop is at its cap of 3 sessions (...)")
    duplicate = CliRun(("spawn",), 4, "", "ao-tui: demo-1 already works on issue #1")
    assert is_cap_refusal(cap) and not is_cap_refusal(duplicate)
    assert not is_cap_refusal(CliRun(("spawn",), 1, "", "cap"))
    assert spawned_id(CliRun(("spawn",), 0, '{"id": "demo-4", "issue": "2"}', "")) == "demo-4"
    assert spawned_id(CliRun(("spawn",), 0, "demo-5  demo-5/x  (attach: …)", "")) == "demo-5"


def test_a_hand_off_names_the_session_and_the_reaction_in_many_wordings() -> None:
    structured = (
        "ao-tui tier 2: reaction ci-failed spent its budget on a worker.\n"
        "session: demo-3\nkey: ci-failed\nattempts: 2 of 2\nexcerpt:\n  FAIL: test_tax\n"
        'You may: ao-tui send demo-3 "…", ao-tui kill demo-3, ao-tui escalate demo-3 "why"'
    )
    found = handoff(structured, "demo-orchestrator")
    assert found is not None and (found.session_id, found.key) == ("demo-3", "ci-failed")
    assert "demo-3" in found.why() and "ci-failed" in found.why()
    prose = "The agent in app-12 gave up after 3 attempts at merge-conflicts; please escalate."
    found = handoff(prose, "app-orchestrator")
    assert found is not None and (found.session_id, found.key) == ("app-12", "merge-conflicts")
    bare = handoff("Budget spent for Session `x-7`.", "")
    assert bare is not None and (bare.session_id, bare.key) == ("x-7", "")
    # Not hand-offs: no escalation words, or no session but the orchestrator itself.
    assert handoff("please look at demo-3 when you can", "demo-orchestrator") is None
    assert handoff("escalate when needed", "demo-orchestrator") is None
    assert handoff("budget spent on demo-orchestrator-1", "demo-orchestrator-1") is None


def test_a_reviewer_finds_the_author_and_not_itself() -> None:
    assert review_author("Review this diff.\nAuthor: demo-2 at abc123\n", "demo-5") == "demo-2"
    assert review_author("Review the head of demo-5 (session demo-5 is you)", "demo-5") == ""
    assert review_author("You are demo-6. Review demo-2's change at 1a2b3c.", "demo-6") == "demo-2"
    assert review_author("review it", "demo-6") == ""


def test_added_lines_carry_their_file_and_new_line_number() -> None:
    diff = (
        "diff --git a/shop/pricing.py b/shop/pricing.py\n"
        "index 1..2 100644\n"
        "--- a/shop/pricing.py\n"
        "+++ b/shop/pricing.py\n"
        "@@ -3,4 +3,7 @@ def apply_discount\n"
        "     return x\n"
        "-    old\n"
        "+\n"
        "+def format_price(cents):\n"
        "+    # TODO(demo): sign\n"
        "     tail\n"
        "diff --git a/tests/t.py b/tests/t.py\n"
        "new file mode 100644\n"
        "--- /dev/null\n"
        "+++ b/tests/t.py\n"
        "@@ -0,0 +1,2 @@\n"
        "+import unittest\n"
        "++++ not a header\n"
    )
    assert added_lines(diff) == [
        AddedLine("shop/pricing.py", 4, ""),
        AddedLine("shop/pricing.py", 5, "def format_price(cents):"),
        AddedLine("shop/pricing.py", 6, "    # TODO(demo): sign"),
        AddedLine("tests/t.py", 1, "import unittest"),
        AddedLine("tests/t.py", 2, "+++ not a header"),
    ]
    assert added_lines("") == [] and added_lines("+no header\n") == []


def test_the_stuck_worker_tries_each_rounding_once_then_gives_up() -> None:
    planned = ADD_TAX.edits[0].rewrite(None)
    assert planned is not None and TAX_TRIES[0] in planned
    text: str | None = planned
    messages = []
    while (retry := tax_retry(text)) is not None:
        messages.append(retry.message)
        text = retry.edits[0].rewrite(text)
    assert len(messages) == len(TAX_TRIES) - 1
    assert text is not None and TAX_TRIES[-1] in text
    assert tax_retry(None) is None and tax_retry("someone else's file") is None


def test_without_an_ao_tui_on_path_this_interpreter_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ao_tui_argv() == [sys.executable, "-m", "ao_tui"]
    script = tmp_path / "ao-tui"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert ao_tui_argv() == [str(script)]


# The texts as the tier-2 and agent-review parts of ao-tui word them (their helpers' branches
# at the time of writing); the parsing must not depend on more than the session and the key.
TIER2_HANDOFF = """\
ao-tui hands you session demo-3 (project shop): the reaction ci-failed could not clear it \
on its own.
Why: CI still failing after 2 fixes: (failures=1), test_rounds_half_up
Task: #3 Add sales tax at checkout (agent-stuck? no)
Branch: ao/demo-3-3-add-sales-tax-at-checkout
Tried: 2 fixes sent to the agent

You own it now. Within 10m (by 03:12) do one of these:
- ao-tui send demo-3 "what to do": guide its agent
- ao-tui kill demo-3, then ao-tui spawn --issue N: start the task again
- ao-tui escalate demo-3 "why": hand it to the human
If you do none of them by then, the human is told.
"""
REVIEW_TASK = """\
Review the changes of session demo-2 (branch ao/demo-2-2-show-prices) at commit 1a2b3c4d5e \
against main. You review; you do not change code.

The diff: `ao-tui diff demo-2` (or `git diff main...1a2b3c4d5e`).
  ao-tui review comment demo-2 --file PATH --line N "what is wrong and how to fix it"
"""


def test_the_tier2_hand_off_and_the_review_task_as_ao_tui_words_them() -> None:
    found = handoff(TIER2_HANDOFF, "demo-orchestrator")
    assert found is not None and (found.session_id, found.key) == ("demo-3", "ci-failed")
    assert review_author(REVIEW_TASK, "demo-7") == "demo-2"
    # The key the hand-off names as its reaction wins over others its facts mention.
    other = TIER2_HANDOFF.replace("reaction ci-failed", "reaction merge-conflicts")
    found = handoff(other, "demo-orchestrator")
    assert found is not None and found.key == "merge-conflicts"
