"""The orchestrator session: the project's own agent that spawns and watches the workers.

:mod:`.instructions` renders its standing instructions (``instructions.md``, shipped with
the package) with the project's specifics; :mod:`.control` makes sure it exists and runs
(``ao-tui start``) or stops it (``ao-tui stop``), never touching a worker.
"""
