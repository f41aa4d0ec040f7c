"""ao-tui's front ends: the headless command line (``cli``) and the Textual cockpit (``app``).

Both drive :class:`core.engine.Engine`; neither names a plugin module, they get plugins
from :mod:`core.registry` (tests/unit/test_layers.py keeps it so).
"""

__all__: list[str] = []
