"""Sending one outbox row: the notifier it names, its options, the send, and what the
outcome does to the row (sent; back off and retry; or fail, keeping the reason).

- A notifier error that may pass (``retry``: a 5xx, a timeout, a refused connection)
  backs off exponentially with jitter (:func:`back_off`), or waits the receiver's own
  ``Retry-After`` when it gave one (429, 503). After :data:`MAX_ATTEMPTS` the row fails.
- One that will not (a 4xx other than 429: a bad URL or token) fails the row at once.
- A notifier that is not configured, not installed, or whose options are wrong (an unset
  ``${VAR}``) fails the row with the fix named: waiting will not help; ``notify retry``
  after the fix sends it.

Nothing secret reaches a row: the reason is the notifier's own message (which must name
no secret), with every option value and URL of that notifier masked anyway.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.config_notify import BUILT_IN_NOTIFIERS, expand_options
from core.faults import fault_point
from core.notify.model import Notification, NotifierError
from core.notify.outbox import Outbox, Row
from core.redact import MASK, redact

BASE_DELAY = 5.0
"""Seconds before the first retry; each later one waits twice as long."""
MAX_DELAY = 15 * 60.0
"""The longest back-off between two attempts."""
MAX_ATTEMPTS = 12
"""Attempts before a row that keeps failing is given up (about two hours of trying)."""
MAX_RETRY_AFTER = 3600.0
"""A receiver's ``Retry-After`` longer than this is capped (a typo must not mute a day)."""

Outcome = Literal["sent", "retry", "failed", "skipped"]
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


@dataclass(frozen=True)
class Target:
    """A notifier ready to send: its plugin instance and its expanded options."""

    plugin: Any
    options: dict[str, Any]


def back_off(attempts: int, *, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: exponential, capped, with
    jitter (between half and all of it), so a fleet of rows does not retry in step."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return float(delay * (0.5 + rng() / 2))


def resolve(
    name: str, config: Any, registry: Any, environ: Mapping[str, str] | None = None
) -> Target:
    """The notifier ``name`` of ``config``: raises :class:`NotifierError` (no retry) naming
    the fix when it is not defined, not installed or its options are wrong."""
    env = os.environ if environ is None else environ
    entry = config.notifiers.get(name)
    if entry is not None:
        plugin_name, raw = entry.plugin, entry.options()
    elif name in BUILT_IN_NOTIFIERS:
        plugin_name, raw = name, {}
    else:
        raise NotifierError(
            f"no notifier named {name!r} in the config any more; define it under `notifiers:` "
            "and run `ao-tui notify retry` on the row",
            retry=False,
        )
    options, problems = expand_options(name, raw, env)
    if problems:
        raise NotifierError("; ".join(problems), retry=False)
    try:
        plugin = registry.get("notifier", plugin_name)
    except Exception as exc:  # not installed, or refused by its slot's interface
        raise NotifierError(f"notifier {name!r}: {exc}", retry=False) from None
    wrong = plugin.check(options)
    if wrong:
        raise NotifierError(f"notifier {name!r}: {'; '.join(wrong)}", retry=False)
    return Target(plugin, options)


def send_now(target: Target, notification: Notification, key: str) -> None:
    """Hand ``notification`` to the notifier; an unexpected failure of the plugin (a bug,
    an error it did not wrap) is a :class:`NotifierError` that may pass, secrets masked."""
    try:
        target.plugin.send(notification, target.options, key=key)
    except NotifierError as exc:
        raise NotifierError(
            scrub(str(exc), target.options), retry=exc.retry, retry_after=exc.retry_after
        ) from None
    except Exception as exc:
        text = scrub(f"{type(exc).__name__}: {exc}", target.options)
        raise NotifierError(text, retry=True) from None


def deliver(
    outbox: Outbox,
    row: Row,
    config: Any,
    registry: Any,
    *,
    rng: Callable[[], float] = random.random,
) -> Outcome:
    """Send ``row`` once and record what became of it. The row is marked ``sending``
    before the send and its outcome after: a crash in between leaves ``sending``, which
    is sent again with the same key."""
    claimed = outbox.claim(row)
    if claimed is None:
        return "skipped"
    fault_point("notify.claimed")
    try:
        target = resolve(claimed.notifier, config, registry)
        send_now(target, claimed.notification, claimed.key)
    except NotifierError as exc:
        reason = str(exc)
        if not exc.retry:
            outbox.fail(claimed.id, reason)
            return "failed"
        if claimed.attempts >= MAX_ATTEMPTS:
            outbox.fail(claimed.id, f"gave up after {claimed.attempts} attempts: {reason}")
            return "failed"
        if exc.retry_after is not None:
            wait = min(MAX_RETRY_AFTER, max(0.0, exc.retry_after))
            reason = f"{reason} (the receiver asked to wait {wait:g}s)"
        else:
            wait = back_off(claimed.attempts, rng=rng)
        outbox.back_off(claimed.id, outbox.clock() + wait, reason)
        return "retry"
    fault_point("notify.sent")
    outbox.sent(claimed.id)
    return "sent"


def scrub(text: str, options: Mapping[str, Any]) -> str:
    """``text`` with every option value of the notifier (URLs, tokens, secrets) and any
    URL masked: what a notifier's error may quote is stored and shown."""
    values = sorted(
        {str(v) for v in _leaves(options) if isinstance(v, str) and len(v) >= 4},
        key=len,
        reverse=True,
    )
    for value in values:
        text = text.replace(value, MASK)
    return redact(_URL.sub("<url>", text))


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
