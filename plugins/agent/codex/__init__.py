"""Codex CLI: the reader of its rollout files (the agent plugin itself comes later)."""

__all__: list[str] = []
