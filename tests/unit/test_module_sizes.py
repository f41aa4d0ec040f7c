"""No product module grows past 600 lines: a module that big hides its design (issue 10 §7).

The cockpit App is the one accepted outlier; any other module that grows past the limit
is split along its seams, never added here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 600
OUTLIERS = {
    "ao_tui/app.py",  # the App: the one accepted big module
}


def _sizes() -> dict[str, int]:
    return {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for package in ("ao_tui", "core", "plugins")
        for path in (ROOT / package).rglob("*.py")
    }


def test_no_module_is_over_600_lines() -> None:
    over = {name: lines for name, lines in _sizes().items() if lines > LIMIT}
    assert set(over) <= OUTLIERS, {n: over[n] for n in set(over) - OUTLIERS}


def test_the_outliers_are_still_outliers() -> None:
    # An outlier that now fits leaves the list, so it cannot grow back unnoticed.
    sizes = _sizes()
    assert {name for name in OUTLIERS if sizes.get(name, 0) <= LIMIT} == set()
