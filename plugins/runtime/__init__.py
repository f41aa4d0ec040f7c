"""Runtime plugins: where agent processes live."""

from plugins.runtime.tmux import TmuxRuntime

__all__ = ["TmuxRuntime"]
