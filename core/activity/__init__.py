"""Knowing what an agent is doing: the generic readers, and the fusion of their signals.

Sources, strongest first: the agent's hooks, its status file, its transcript read
incrementally, and the pane. The readers of each agent's own file formats live in that
agent's plugin package; here are the parts every agent shares: the tailer
(:mod:`~core.activity.tailer`), JSONL folding (:mod:`~core.activity.jsonl`), the file
watcher (:mod:`~core.activity.watch`), which signals belong to the current start
(:mod:`~core.activity.starts`), the agent-agnostic screen reading
(:mod:`~core.activity.pane`) and :func:`~core.activity.fusion.fuse`, which turns this tick's
signals into one :class:`~core.models.Activity`.
"""
