"""The scripted work of the night workers, one set of files each so their branches never
conflict: ``night-ci`` (a red first commit, fixed when CI says so), ``night-review`` (a
green commit that leaves a ``TODO(demo)`` for the reviewer to find) and ``night-stuck``
(red, and every "fix" it tries stays red)."""

from __future__ import annotations

from plugins.agent.demo_program.changes import (
    Change,
    FileEdit,
    append_once,
    create_file,
    new_test_module,
    replace_once,
)
from plugins.agent.demo_program.fleet import TODO_MARKER

# -- night-ci: item_count() counts lines, its test counts items ----------------------------------

COUNT_LINES = "    return len(cart.lines)\n"
COUNT_ITEMS = "    return sum(line.quantity for line in cart.lines)\n"

BUGGY_ITEM_COUNT = Change(
    intent="I'll add item_count() for the cart badge, with a test.",
    message="Add item_count() for the cart badge",
    edits=(
        FileEdit(
            "shop/cart.py",
            append_once(
                "def item_count",
                "\n\ndef item_count(cart: Cart) -> int:\n"
                '    """How many items the cart holds."""\n' + COUNT_LINES,
            ),
        ),
        new_test_module(
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
    ),
    test_after_commit=True,
)
FIX_ITEM_COUNT = Change(
    intent="CI is right: item_count() counts lines, not items. Counting quantities instead.",
    message="Count quantities in item_count()",
    edits=(FileEdit("shop/cart.py", replace_once(COUNT_LINES, COUNT_ITEMS)),),
)

# -- night-review: format_price() with a TODO left in -------------------------------------------

TODO_LINE = f'    # {TODO_MARKER}: negative amounts print as "$-1.95"; handle the sign.\n'
PLAIN_RETURN = '    return f"${cents // 100}.{cents % 100:02d}"\n'
SIGNED_RETURN = (
    '    sign, cents = ("-", -cents) if cents < 0 else ("", cents)\n'
    '    return f"{sign}${cents // 100}.{cents % 100:02d}"\n'
)
PRICE_WITH_TODO = Change(
    intent="I'll add format_price() to shop/pricing.py, with a test.",
    message="Add format_price() for showing prices",
    edits=(
        FileEdit(
            "shop/pricing.py",
            append_once(
                "def format_price",
                "\n\ndef format_price(cents: int) -> str:\n"
                '    """``1234`` as ``"$12.34"``."""\n' + TODO_LINE + PLAIN_RETURN,
            ),
        ),
        new_test_module(
            "tests/test_format_price.py",
            "format_price() shows cents as dollars.",
            imports="from shop.pricing import format_price",
            case="FormatPriceTest",
            methods=(
                "    def test_dollars_and_cents(self) -> None:\n"
                '        self.assertEqual(format_price(1234), "$12.34")\n'
            ),
        ),
    ),
)
RESOLVE_TODO = Change(
    intent=f"The review is right: I left a {TODO_MARKER}. Handling the sign, with a test.",
    message="Handle negative amounts in format_price()",
    edits=(
        FileEdit("shop/pricing.py", replace_once(TODO_LINE + PLAIN_RETURN, SIGNED_RETURN)),
        FileEdit(
            "tests/test_format_price.py",
            append_once(
                "test_negative",
                "\n    def test_negative(self) -> None:\n"
                '        self.assertEqual(format_price(-195), "-$1.95")\n',
            ),
        ),
    ),
)

# -- night-stuck: add_tax() is a cent off, whatever it tries --------------------------------------

TAX_TRIES = (
    "    return cents + cents * rate_percent // 100\n",
    "    return int(cents * (100 + rate_percent) / 100)\n",
    "    return cents * (100 + rate_percent) // 100\n",
)
"""The bodies the stuck worker tries in turn: each rounds down, and its test wants 1069."""

TAX_FILE = "shop/tax.py"
ADD_TAX = Change(
    intent="I'll add add_tax() in a new shop/tax.py, with a test.",
    message="Add add_tax() for checkout",
    edits=(
        FileEdit(
            TAX_FILE,
            create_file(
                '"""Sales tax."""\n\n\n'
                "def add_tax(cents: int, rate_percent: int) -> int:\n"
                '    """``cents`` with ``rate_percent`` per cent of tax, rounded half up."""\n'
                + TAX_TRIES[0]
            ),
        ),
        new_test_module(
            "tests/test_tax.py",
            "add_tax() rounds half a cent up.",
            imports="from shop.tax import add_tax",
            case="TaxTest",
            methods=(
                "    def test_rounds_half_up(self) -> None:\n"
                "        self.assertEqual(add_tax(999, 7), 1069)\n"
            ),
        ),
    ),
    test_after_commit=True,
)


def tax_retry(text: str | None) -> Change | None:
    """The stuck worker's next "fix" of ``shop/tax.py`` (its current ``text``); None once
    it has no idea left (or the file is not its own)."""
    tried = next((n for n, body in enumerate(TAX_TRIES) if text and body in text), None)
    if tried is None or tried + 1 >= len(TAX_TRIES):
        return None
    return Change(
        intent="Still a cent off; trying another way to round.",
        message=f"Round add_tax() differently (try {tried + 2})",
        edits=(FileEdit(TAX_FILE, replace_once(TAX_TRIES[tried], TAX_TRIES[tried + 1])),),
        test_after_commit=True,
    )
