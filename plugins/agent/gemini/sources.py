"""How Gemini CLI's hook, transcript and screen readings are read together.

Two moments where one source alone misleads, corrected the same way for a live session
(:mod:`.plugin`) and for ``ao-tui inspect transcript`` (:mod:`plugins.agent.inspect`).
"""

from __future__ import annotations

from dataclasses import replace

from core.models import ActivitySignal, ActivityState


def agreed(hook: ActivitySignal | None, transcript: ActivitySignal | None) -> ActivitySignal | None:
    """The hook's signal, saying how a turn ended in the transcript's words.

    Gemini fires ``AfterAgent`` for a turn cut short by an interrupt (with the partial
    answer) or an API error (``[no response text]``) too, and records why in the
    transcript, a moment before or after. Its ``prompt_response`` also garbles an answer
    that streamed in pieces (``Hello from the stand-in.  from  the  stand-in.``), where the
    transcript holds the answer as written.
    """
    if (
        hook is not None
        and transcript is not None
        and hook.state is ActivityState.IDLE
        and transcript.state in (ActivityState.IDLE, ActivityState.ERROR)
        and abs(hook.at - transcript.at) <= 1.0
    ):
        hook = replace(hook, state=transcript.state, detail=transcript.detail)
    return hook


def until_drawn(signal: ActivitySignal, screen: ActivitySignal | None) -> ActivitySignal:
    """A hook's approval, held as "working" until the approval box is on screen.

    Gemini fires the Notification hook a moment before it draws the box, and a key pressed
    in between is lost: an operator answering the board at once would answer nothing.
    """
    if signal.state is not ActivityState.WAITING_INPUT:
        return signal
    if screen is not None and screen.state is ActivityState.WAITING_INPUT:
        return signal
    return replace(signal, state=ActivityState.WORKING, waiting_for=None)
