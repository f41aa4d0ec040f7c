"""ao-tui's bundled plugins, one module per plugin, grouped by slot.

Core never imports these by name: they are found through the ``ao_tui.plugins`` entry
points declared in ``pyproject.toml``.
"""

__all__: list[str] = []
