"""One HTTP POST for a notifier, and what its failure means: retry now, later, or never.

Every notifier sends through :func:`post`, so they all share one mapping:

- 2xx: delivered;
- 429 and 503: retry, after the receiver's ``Retry-After`` (seconds or an HTTP date) when it
  gives one;
- other 5xx, a timeout, a dropped connection, a refused connection, an unresolvable host:
  retry (a receiver that is down may come back);
- 401 and 403: never retry, and name the fix (a token or URL that is wrong stays wrong);
- other 4xx and 3xx: never retry, with the receiver's own one-line reason.

Messages name the receiver by host and port only: a webhook URL's path (Slack's, Discord's,
an ntfy topic) is a secret, and so are tokens and header values; the receiver's reason is
scrubbed of them, redacted, made inert and cut to one line before it is quoted.

Every request carries the notification's idempotency key in ``Idempotency-Key`` and
``X-Ao-Idempotency-Key``, so a receiver can tell a resend after a crash from a new message.
"""

from __future__ import annotations

import email.utils
import functools
import math
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.inert import inert
from core.notify.model import NotifierError
from core.redact import MASK, redact

DEFAULT_TIMEOUT = 10.0
"""Seconds a receiver has to answer, unless the notifier's ``timeout`` option says less."""
MAX_TIMEOUT = 60.0
"""No ``timeout`` option may hold the outbox longer than this."""
KEY_HEADERS = ("Idempotency-Key", "X-Ao-Idempotency-Key")
"""The headers that carry the idempotency key on every request."""
USER_AGENT = "ao-tui-notifier"
_REASON_MAX = 160
_RETRY_STATUSES = (429, 503)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context every request verifies with (the CA bundle, and
    ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set, as httpx reads them).

    Built once: a client made with the default builds its own, parsing the whole CA
    bundle each time; over a daemon's thousands of sends that churn left the soak's RSS
    several MB higher (tests/bench/bench_soak.py). An ``SSLContext`` may be shared by
    threads.
    """
    return httpx.create_ssl_context(trust_env=True)


@dataclass(frozen=True)
class Receiver:
    """Who a request goes to, in the words its errors use."""

    name: str
    """What the person knows it as: ``Slack``, ``the webhook``, ``the OpenClaw gateway``."""
    url: str
    """Where to POST (a secret: only its host and port ever appear in a message)."""
    auth_fix: str
    """What to do when it answers 401 or 403: ``set token to ...``."""
    gone_fix: str = "check the URL"
    """What to do when it answers 404 or 410 (the webhook was deleted, the URL is wrong)."""
    not_running: str = ""
    """The message for a refused connection ("" for ``nothing is listening at host:port``)."""
    secrets: tuple[str, ...] = ()
    """Values that must not appear in a message (tokens, header values), besides the URL."""
    retry_after_body: Callable[[httpx.Response], float | None] | None = None
    """Reads a retry delay from a 429/503 body (Discord's ``retry_after``) when the header
    has none."""


def where(url: str) -> str:
    """``host:port`` of ``url`` (the port only when written), never its path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def url_problems(option: str, value: object, *, required: bool = True) -> list[str]:
    """What is wrong with an option that must be an http(s) URL, never quoting the value."""
    if value is None or value == "":
        return [f"{option} is missing; set it to the receiver's http(s) URL"] if required else []
    if not isinstance(value, str):
        return [f"{option} must be a URL string, not {type(value).__name__}"]
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        return [f"{option} must start with https:// or http:// (it has no usable scheme)"]
    try:
        _ = parts.port
    except ValueError:
        return [f"{option} has a port that is not a number"]
    if not parts.hostname:
        return [f"{option} has no host name"]
    if any(c.isspace() for c in value.strip()):
        return [f"{option} contains a space; URL-encode it"]
    return []


def timeout_of(options: Mapping[str, Any]) -> float:
    """The ``timeout`` option in seconds, bounded to (0, MAX_TIMEOUT]; the default if unset."""
    value = options.get("timeout")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return DEFAULT_TIMEOUT
    return min(float(value), MAX_TIMEOUT)


def timeout_problems(options: Mapping[str, Any]) -> list[str]:
    """What is wrong with the ``timeout`` option (seconds, a positive number up to 60)."""
    value = options.get("timeout")
    if value is None:
        return []
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if not ok or not math.isfinite(float(value)) or float(value) > MAX_TIMEOUT:
        return [f"timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}"]
    return []


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from now: delay-seconds or an HTTP date (a date in
    the past is 0); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def post(
    receiver: Receiver,
    *,
    key: str,
    timeout: float,
    json_body: bytes | None = None,
    text_body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST one notification to ``receiver`` and return its 2xx answer, or raise
    :class:`NotifierError` saying why not and whether to retry (see the module doc)."""
    sent: dict[str, str] = {"User-Agent": USER_AGENT}
    sent.update(headers or {})
    if json_body is not None:
        sent["Content-Type"] = "application/json"
    for name in KEY_HEADERS:
        sent[name] = key
    body = json_body if json_body is not None else (text_body or b"")
    try:
        # trust_env stays on: an operator behind a proxy needs HTTPS_PROXY honoured.
        with httpx.Client(timeout=timeout, follow_redirects=False, verify=tls_context()) as client:
            response = client.post(receiver.url, content=body, headers=sent, params=params)
    except httpx.TimeoutException as exc:
        raise _timed_out(receiver, timeout, exc) from None
    except httpx.ConnectError as exc:
        raise _unreachable(receiver, exc) from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
        raise NotifierError(
            f"{receiver.name} at {where(receiver.url)} dropped the connection before answering",
            retry=True,
        ) from None
    except httpx.HTTPError as exc:
        raise NotifierError(
            f"could not reach {receiver.name} at {where(receiver.url)} ({type(exc).__name__})",
            retry=True,
        ) from None
    if 200 <= response.status_code < 300:
        return response
    raise status_error(receiver, response)


def status_error(receiver: Receiver, response: httpx.Response) -> NotifierError:
    """The error for a non-2xx answer (see the module doc for the mapping)."""
    status = response.status_code
    at = f"{receiver.name} at {where(receiver.url)}"
    reason = _reason(receiver, response)
    said = f"HTTP {status}{': ' + reason if reason else ''}"
    if status in _RETRY_STATUSES:
        after = parse_retry_after(response.headers.get("retry-after"))
        if after is None and receiver.retry_after_body is not None:
            after = receiver.retry_after_body(response)
        wait = f"; it asks to wait {after:g}s" if after is not None else ""
        busy = "is rate-limiting" if status == 429 else "is unavailable"
        return NotifierError(f"{at} {busy} ({said}){wait}", retry=True, retry_after=after)
    if status >= 500:
        return NotifierError(f"{at} failed ({said}); will retry", retry=True)
    if status in (401, 403):
        return NotifierError(
            f"{at} refused the credentials ({said}): {receiver.auth_fix}", retry=False
        )
    if status in (404, 410):
        return NotifierError(
            f"{at} has no such endpoint ({said}): {receiver.gone_fix}", retry=False
        )
    if 300 <= status < 400:
        return NotifierError(
            f"{at} answered with a redirect ({said}); set the URL to the final address",
            retry=False,
        )
    return NotifierError(f"{at} rejected the notification ({said})", retry=False)


def _timed_out(receiver: Receiver, timeout: float, exc: httpx.TimeoutException) -> NotifierError:
    """A timeout: connecting, or waiting for the answer (the message says which)."""
    doing = "to accept the connection" if isinstance(exc, httpx.ConnectTimeout) else "to answer"
    return NotifierError(
        f"{receiver.name} at {where(receiver.url)} took longer than {timeout:g}s {doing}",
        retry=True,
    )


def _unreachable(receiver: Receiver, exc: httpx.ConnectError) -> NotifierError:
    """A connection that could not be made: refused, unresolvable, or otherwise."""
    cause = _root_cause(exc)
    if isinstance(cause, ConnectionRefusedError) or "refused" in str(exc).lower():
        message = receiver.not_running or (
            f"nothing is listening at {where(receiver.url)} (connection refused): "
            f"is {receiver.name} running, and is the URL right?"
        )
        return NotifierError(message, retry=True)
    if "name or service not known" in str(exc).lower() or "getaddrinfo" in str(exc).lower():
        return NotifierError(
            f"cannot resolve {where(receiver.url)} ({receiver.name}): check the URL's host "
            "and the network",
            retry=True,
        )
    return NotifierError(
        f"could not connect to {receiver.name} at {where(receiver.url)} ({type(cause).__name__})",
        retry=True,
    )


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception httpx wrapped (the OSError that says what happened)."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


def _reason(receiver: Receiver, response: httpx.Response) -> str:
    """The receiver's own reason, one line, with nothing secret left in it."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError, httpx.HTTPError):
        return ""
    return scrub(text, _url_secrets(receiver.url, receiver.secrets))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` made safe to store and show: secrets masked, credentials redacted,
    controls made visible, one line of at most a few dozen words."""
    masked = redact(text, sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True))
    flat = " ".join(inert(masked, one_line=True).split())
    return flat if len(flat) <= _REASON_MAX else flat[: _REASON_MAX - 1] + "…"


def _url_secrets(url: str, extra: Iterable[str]) -> list[str]:
    """The URL and the parts of it that may be secret (path segments, query), plus ``extra``."""
    parts = urlsplit(url)
    found = [url, parts.path, parts.query, *extra]
    found.extend(segment for segment in parts.path.split("/") if len(segment) >= 6)
    return [s for s in found if s and s != "/" and s != MASK]
