"""Reactions: what the engine does on its own when a session needs something.

A reaction watches one condition of a session (CI failing, review threads, conflicts, an
exited or stuck agent, a green and approved PR) through the change feed, and answers it in
three tiers: the agent gets the facts and retries within its budget; the project's
orchestrator session, when one runs, gets a structured summary and time to act; the
operator gets the session in Needs you with the reason in words.

- :mod:`core.reactions.rules`: the effective settings of each key, and where each came from.
- :mod:`core.reactions.ledger`: episodes, attempts and sends, persisted before acting.
- :mod:`core.reactions.facts`: what each key's condition is right now.
- :mod:`core.reactions.messages`: what the agent is sent (third-party text made inert).
- :mod:`core.reactions.reactor`: the decisions, one session at a time.
- :mod:`core.reactions.handoff`: tier 2, the orchestrator's turn, and when it ends.
- :mod:`core.reactions.loop`: the reactor run on the change feed, in the lease holder.
"""
