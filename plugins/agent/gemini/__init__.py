"""The Gemini CLI agent plugin (npm ``@google/gemini-cli``)."""

from plugins.agent.gemini.plugin import GeminiAgent

__all__ = ["GeminiAgent"]
