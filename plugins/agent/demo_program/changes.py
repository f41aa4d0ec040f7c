"""The edits the demo agent makes to the sample project, each a named, scripted change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# -- the scripted work on the sample project ---------------------------------------------------

Rewrite = Callable[[str | None], str | None]
"""A file's new text from its current text (None: missing); None when it does not fit."""


@dataclass(frozen=True)
class FileEdit:
    """One file a change writes."""

    path: str
    rewrite: Rewrite


@dataclass(frozen=True)
class PlannedEdit:
    """A file edit worked out against the worktree: the text before (None: new) and after."""

    path: str
    old: str | None
    new: str


@dataclass(frozen=True)
class Change:
    """One scripted improvement of the sample project, committed on its own."""

    intent: str
    """What the agent says before starting it."""
    message: str
    """The commit message."""
    edits: tuple[FileEdit, ...]
    run_tests: bool = True
    test_after_commit: bool = False

    def plan(self, root: Path) -> list[PlannedEdit] | None:
        """Every edit against the files in ``root``, or None when the change does not fit."""
        planned: list[PlannedEdit] = []
        for edit in self.edits:
            target = root / edit.path
            try:
                old = target.read_text(encoding="utf-8") if target.exists() else None
            except (OSError, UnicodeDecodeError):
                return None
            new = edit.rewrite(old)
            if new is None:
                return None
            planned.append(PlannedEdit(edit.path, old, new))
        return planned


def append_once(marker: str, addition: str) -> Rewrite:
    """Append ``addition`` to an existing file that does not contain ``marker`` yet."""

    def rewrite(text: str | None) -> str | None:
        if text is None or marker in text:
            return None
        return text.rstrip("\n") + "\n" + addition

    return rewrite


def create_file(content: str) -> Rewrite:
    """Create a file that does not exist yet."""
    return lambda text: content if text is None else None


def replace_once(old: str, new: str) -> Rewrite:
    """Replace the first ``old`` of an existing file."""
    return lambda text: text.replace(old, new, 1) if text is not None and old in text else None


def changelog_entry(line: str) -> Rewrite:
    """Add ``- line`` under the changelog's first heading (creating the file if needed)."""

    def rewrite(text: str | None) -> str:
        if not text:
            return f"# Changelog\n\n## Unreleased\n\n- {line}\n"
        head, sep, tail = text.partition("## Unreleased\n")
        if not sep:
            return text.rstrip("\n") + f"\n\n## Unreleased\n\n- {line}\n"
        return f"{head}{sep}\n- {line}" + ("\n" if not tail.startswith("\n") else "") + tail

    return rewrite


def new_test_module(
    path: str, docstring: str, *, imports: str, case: str, methods: str
) -> FileEdit:
    """A new unittest module at ``path``: its docstring, one import line, one TestCase.

    ``methods`` is the class body, indented. The sample project runs its tests with
    ``python -m unittest``, so this is the only shape a test file takes.
    """
    text = (
        f'"""{docstring}"""\n\n'
        "import unittest\n\n"
        f"{imports}\n\n\n"
        f"class {case}(unittest.TestCase):\n"
        f"{methods}"
    )
    return FileEdit(path, create_file(text))


def change_with_test(
    *, intent: str, message: str, edit: FileEdit, test: FileEdit, changelog: str
) -> Change:
    """A change of the code (``edit``) that adds a test for it and a changelog line."""
    return Change(
        intent=intent,
        message=message,
        edits=(edit, test, FileEdit("CHANGELOG.md", changelog_entry(changelog))),
    )


GOOD_TOTAL = "        return sum(line.unit_cents * line.quantity for line in self.lines)\n"
FAST_TOTAL = (
    "        # Faster: skip the multiplication (quantities are almost always 1).\n"
    "        return sum(line.unit_cents for line in self.lines)\n"
)
DISCOUNT_LINE = "    return cents - cents * percent // 100\n"

FORMAT_PRICE = change_with_test(
    intent="I'll add a format_price() helper to shop/pricing.py, with a test.",
    message="Add format_price() for showing prices",
    edit=FileEdit(
        "shop/pricing.py",
        append_once(
            "def format_price",
            "\n\ndef format_price(cents: int) -> str:\n"
            '    """``1234`` as ``"$12.34"``."""\n'
            '    return f"${cents // 100}.{cents % 100:02d}"\n',
        ),
    ),
    test=new_test_module(
        "tests/test_format_price.py",
        "format_price() shows cents as dollars.",
        imports="from shop.pricing import format_price",
        case="FormatPriceTest",
        methods=(
            "    def test_dollars_and_cents(self) -> None:\n"
            '        self.assertEqual(format_price(1234), "$12.34")\n\n'
            "    def test_pads_cents(self) -> None:\n"
            '        self.assertEqual(format_price(905), "$9.05")\n'
        ),
    ),
    changelog="Add `format_price()`.",
)
CLAMP_DISCOUNT = change_with_test(
    intent="apply_discount() goes negative above 100 %; I'll clamp it and test the bounds.",
    message="Clamp discounts to 0-100 %",
    edit=FileEdit(
        "shop/pricing.py",
        replace_once(DISCOUNT_LINE, "    percent = max(0, min(percent, 100))\n" + DISCOUNT_LINE),
    ),
    test=new_test_module(
        "tests/test_discount_bounds.py",
        "Discounts stay between nothing off and everything off.",
        imports="from shop.pricing import apply_discount",
        case="DiscountBoundsTest",
        methods=(
            "    def test_more_than_everything_off_is_free(self) -> None:\n"
            "        self.assertEqual(apply_discount(1000, 150), 0)\n\n"
            "    def test_negative_discount_changes_nothing(self) -> None:\n"
            "        self.assertEqual(apply_discount(1000, -5), 1000)\n"
        ),
    ),
    changelog="Discounts are clamped to 0-100 %.",
)
ITEM_COUNT = change_with_test(
    intent="I'll add item_count() so the header can show how many items are in the cart.",
    message="Add item_count() for the cart badge",
    edit=FileEdit(
        "shop/cart.py",
        append_once(
            "def item_count",
            "\n\ndef item_count(cart: Cart) -> int:\n"
            '    """How many items the cart holds, quantities included."""\n'
            "    return sum(line.quantity for line in cart.lines)\n",
        ),
    ),
    test=new_test_module(
        "tests/test_item_count.py",
        "item_count() counts quantities, not lines.",
        imports="from shop.cart import Cart, item_count",
        case="ItemCountTest",
        methods=(
            "    def test_counts_quantities(self) -> None:\n"
            "        cart = Cart()\n"
            '        cart.add("apple", 50, quantity=3)\n'
            '        cart.add("pear", 80)\n'
            "        self.assertEqual(item_count(cart), 4)\n"
        ),
    ),
    changelog="Add `item_count()`.",
)
README_USAGE = Change(
    intent="I'll document how to use the package in the README.",
    message="Document usage in the README",
    edits=(
        FileEdit(
            "README.md",
            append_once(
                "## Usage",
                "\n## Usage\n\n"
                "```python\n"
                "from shop.cart import Cart\n\n"
                "cart = Cart()\n"
                'cart.add("apple", 50, quantity=3)\n'
                "print(cart.total_cents())  # 150\n"
                "```\n",
            ),
        ),
    ),
    run_tests=False,
)
BREAK_TOTAL = Change(
    intent="Cart.total_cents() multiplies on every line; I'll make it faster.",
    message="Speed up Cart.total_cents()",
    edits=(FileEdit("shop/cart.py", replace_once(GOOD_TOTAL, FAST_TOTAL)),),
    test_after_commit=True,
)
FIX_TOTAL = Change(
    intent="The 'optimisation' ignored quantities; I'll revert it and run the tests.",
    message="Count quantities in Cart.total_cents() again",
    edits=(FileEdit("shop/cart.py", replace_once(FAST_TOTAL, GOOD_TOTAL)),),
)
GENERAL_CHANGES: tuple[Change, ...] = (ITEM_COUNT, FORMAT_PRICE, CLAMP_DISCOUNT, README_USAGE)
"""What any turn may pick up next, in order, once the ones it prefers are done."""


def review_note(number: int) -> Change:
    """The change used when nothing else fits: a changelog line, which always does."""
    return Change(
        intent="Everything on my list is done; I'll record this review pass in the changelog.",
        message=f"Record review pass {number} in the changelog",
        edits=(
            FileEdit("CHANGELOG.md", changelog_entry(f"Reviewed the code (demo pass {number}).")),
        ),
        run_tests=False,
    )
