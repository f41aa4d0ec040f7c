"""``python -m plugins.agent.demo_program``: run the demo agent (see :mod:`.program`)."""

from plugins.agent.demo_program.program import main

raise SystemExit(main())
