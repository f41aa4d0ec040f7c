"""Every CI output of the hostile corpus (tests/fixtures/hostile/ci/) through every path
that stores or shows CI output: no secret comes out, no excerpt exceeds its bounds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ao_tui.screens.ci import read_log_tail
from core.ci_excerpt import LINE_CHARS, MAX_BYTES, MAX_LINES
from core.scm import CheckRun
from plugins.github.logs import job_excerpt, save_log
from tests.integration.test_ci_secrets import run_ci

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "hostile" / "ci"
INPUTS = sorted(p for p in CORPUS.iterdir() if p.is_file())
LEAK = "LEAK"
ENV_SECRET = "LEAK-no-shape-value-5c1e"
"""The secret of env-secret-literal.log: it has no known shape, only a secret name."""

COPY_AND_FAIL = (
    "import shutil, sys; shutil.copyfileobj(open(sys.argv[1], 'rb'), sys.stdout.buffer); "
    "sys.stdout.flush(); sys.exit(1)"
)


def within_bounds(excerpt: str) -> bool:
    lines = excerpt.split("\n")
    return (
        len(excerpt.encode()) <= MAX_BYTES
        and len(lines) <= MAX_LINES
        and all(len(line) <= LINE_CHARS for line in lines)
    )


def test_the_corpus_is_there() -> None:
    assert len(INPUTS) >= 15


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_no_secret_of_the_corpus_comes_out(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORPUS_DEPLOY_TOKEN", ENV_SECRET)
    text = path.read_bytes().decode("utf-8", errors="replace")

    found = run_ci(tmp_path, [sys.executable, "-c", COPY_AND_FAIL, str(path)])
    assert found.state == "failing" and found.excerpt
    assert LEAK not in found.excerpt, found.excerpt
    assert within_bounds(found.excerpt)

    lines, _size = read_log_tail(Path(found.log_path), 1 << 22)
    shown = "\n".join(lines)
    assert LEAK not in shown, shown
    assert shown.count("KEEPME") == text.count("KEEPME")  # the rest of each line stays

    check = CheckRun("ci", "failing", excerpt=text, log_path=found.log_path).to_json()
    assert LEAK not in check["excerpt"] and within_bounds(check["excerpt"])

    github = job_excerpt(text, log_path="/state/github-job-1.log")
    assert LEAK not in github and within_bounds(github)
    saved = tmp_path / "github-job-1.log"
    save_log(saved, text)
    assert LEAK not in saved.read_text(encoding="utf-8")
