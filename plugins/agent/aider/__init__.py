"""Aider: the reader of its chat history (the agent plugin itself comes later)."""

__all__: list[str] = []
