"""Codex CLI (npm ``@openai/codex``): the agent plugin and the reader of its rollouts."""

from plugins.agent.codex.plugin import CodexAgent

__all__ = ["CodexAgent"]
