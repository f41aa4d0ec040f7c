"""The hostile-input corpus (tests/fixtures/hostile/<kind>/): one input per file."""

from __future__ import annotations

from pathlib import Path

import pytest

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"


def hostile(kind: str) -> list[tuple[str, str]]:
    """``(name, text)`` of every input of ``kind``; invalid UTF-8 kept as surrogate escapes."""
    files = sorted(p for p in (HOSTILE / kind).iterdir() if not p.name.startswith("."))
    return [(p.stem, p.read_bytes().decode("utf-8", errors="surrogateescape")) for p in files]


def hostile_params(kind: str) -> list[object]:
    """The inputs of ``kind`` as pytest parameters named after their files."""
    return [pytest.param(text, id=name) for name, text in hostile(kind)]
