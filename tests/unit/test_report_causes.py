"""Failure causes and token prices of the morning report, one rule at a time."""

from __future__ import annotations

import pytest

from core.config_report import ReportConfig
from core.report.causes import classify
from core.report.cost import usage_of


@pytest.mark.parametrize(
    ("texts", "key", "cause"),
    [
        (["API Error: 401 authentication_error"], "agent-stuck", "auth"),
        (["Invalid API key · Please run /login"], "", "auth"),
        (["API error (retry 3/10): overloaded"], "agent-stuck", "API"),
        (["429 Rate limited"], "", "API"),
        (["its tmux session is gone"], "", "tmux gone"),
        (["CI still failing after 2 fixes: test_login"], "ci-failed", "CI"),
        (["the branch conflicts with main"], "merge-conflicts", "conflict"),
        (["2 unresolved threads"], "changes-requested", "review"),
        (["agent exited with status 137"], "", "exit 137"),
        (["no progress for 15m"], "", "unknown"),
        ([], "", "unknown"),
    ],
)
def test_classify(texts: list[str], key: str, cause: str) -> None:
    assert classify(texts, key)[0] == cause


def test_the_text_that_named_the_cause_is_the_evidence() -> None:
    texts = ["no progress for 15m", "API Error: 401 unauthorized"]
    assert classify(texts, "agent-stuck") == ("auth", "API Error: 401 unauthorized")
    assert classify(["no progress for 15m"], "agent-stuck") == ("stuck", "no progress for 15m")


def test_price_lookup_exact_then_longest_part_then_default() -> None:
    config = ReportConfig.model_validate(
        {"pricing": {"Sonnet": {"input": 1, "output": 2}, "x-sonnet-9": {"input": 7, "output": 8}}}
    )
    assert config.price_of("x-sonnet-9").input == 7
    assert config.price_of("y-sonnet-4-5").input == 1  # the config's entry replaces the default
    assert config.price_of("y-opus-4").input == 15  # a default entry
    assert config.price_of("mystery").input == 3  # ``default``


def test_a_negative_price_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"pricing\.m\.input"):
        ReportConfig.model_validate({"pricing": {"m": {"input": -1, "output": 2}}})


def test_usage_reported_cost_wins_then_split_counts_are_priced() -> None:
    config = ReportConfig()
    assert usage_of({"tokens": 100, "cost_usd": 0.5}, config).cost_usd == 0.5
    bare = usage_of({"tokens": 100}, config)
    assert (bare.tokens, bare.cost_usd) == (100, None)  # no split: no honest price
    split = usage_of(
        {
            "tokens": {"input": 1_000_000, "output": 0, "cache_read": 1_000_000},
            "model": "z-haiku",
        },
        config,
    )
    assert split.tokens == 2_000_000
    assert split.cost_usd == pytest.approx(0.8 + 0.08)
    assert split.estimated
    assert usage_of({}, config).tokens is None
