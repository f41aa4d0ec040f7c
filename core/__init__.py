"""The ao-tui engine: sessions, state, activity detection and the plugin slots.

Nothing in this package imports Textual or Rich (tests/unit/test_import_hygiene.py proves it),
so the headless CLI, the daemon and scripts load only what they need.
"""

__all__: list[str] = []
