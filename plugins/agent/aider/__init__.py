"""The Aider agent plugin and the readers of what Aider writes.

:mod:`.plugin` is the agent (launch, observe, deliver); :mod:`.reader` reads its chat
history, :mod:`.screen` its pane; :mod:`.typeahead` is the relay that types the task at
Aider's first prompt.
"""

from plugins.agent.aider.plugin import AiderAgent

__all__ = ["AiderAgent"]
