"""Async HTTP to the GitHub API: auth, rate-limit bookkeeping, back-off and one-line errors.

Every response's ``x-ratelimit-*`` headers are read. When a resource's primary budget
(``core`` for REST, ``graphql``) is spent, nothing more is sent for that resource until its
reset time. A secondary limit (403/429 with ``Retry-After``, or GitHub's "secondary rate
limit" message) pauses every request for Retry-After seconds (``Backoff.secondary`` when
absent), doubled on each repeat. Server errors, timeouts, unreachable hosts and a rejected
token pause requests exponentially from ``Backoff.base`` up to ``Backoff.cap``. A paused
client raises :class:`GitHubError` without sending anything, so a pause is visible on the
wire as silence. The clock is injectable so tests and benchmarks need not wait.

The token goes only into the ``Authorization`` header of requests to the API's own origin;
redirects (job logs live on another host) are followed by hand, without it. Error text is
GitHub's ``message`` field passed through :func:`core.redact.redact` and cut to one line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from core.bounded_json import loads
from core.errors import AoError
from core.redact import redact
from plugins.github.auth import Token

Clock = Callable[[], float]

_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_MESSAGE_MAX = 200
_REPO_PATH = re.compile(r"^(?:/api/v3)?/repos/([^/]+)/([^/?#]+)")


@dataclass(frozen=True)
class Backoff:
    """How long to stay quiet after failures (seconds)."""

    base: float = 2.0
    """First pause after a server error, timeout, unreachable host or rejected token."""
    cap: float = 300.0
    """No exponential pause grows past this."""
    secondary: float = 60.0
    """Pause after a secondary rate limit that names no Retry-After."""


class GitHubError(AoError):
    """A request failed or was not sent; ``reason`` is one token-free line.

    ``status`` is the HTTP status (None when nothing came back), ``message`` GitHub's own
    explanation (redacted), ``retry_at`` the epoch time before which nothing will be sent.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        message: str = "",
        retry_at: float | None = None,
    ) -> None:
        """Record the reason and what is known about the failure."""
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.message = message
        self.retry_at = retry_at

    def line(self, when: str = "retrying at") -> str:
        """The reason, plus ``; retrying at 14:05`` when a pause is in force."""
        if self.retry_at is None:
            return self.reason
        return f"{self.reason}; {when} {clock_text(self.retry_at)}"


def clock_text(epoch: float) -> str:
    """``14:05`` (local time), or ``14:05:30`` when seconds matter (under two minutes away)."""
    fmt = "%H:%M:%S" if epoch - time.time() < 120 else "%H:%M"
    return time.strftime(fmt, time.localtime(epoch))


def one_line(text: str, limit: int = _MESSAGE_MAX) -> str:
    """``text`` redacted, on one line, at most ``limit`` characters."""
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def graphql_url(api_url: str) -> str:
    """Where GraphQL lives for a REST root: ``/graphql``, or ``/api/graphql`` on Enterprise."""
    root = api_url.rstrip("/")
    if root.endswith("/api/v3"):
        return root.removesuffix("/api/v3") + "/api/graphql"
    return root + "/graphql"


def parse_time(value: object) -> float | None:
    """An ISO-8601 timestamp as epoch seconds (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def next_link(headers: httpx.Headers) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    for part in str(headers.get("link", "")).split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return str(url.strip().strip("<>"))
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


def _message(body: bytes) -> str:
    """GitHub's ``message`` (and the first validation error) from an error body."""
    try:
        payload = loads(body)
    except ValueError:
        return one_line(body.decode("utf-8", "replace"), 80)
    if not isinstance(payload, dict):
        return ""
    text = str(payload.get("message") or "")
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        detail = first.get("message") if isinstance(first, dict) else first
        if detail:
            text = f"{text} ({detail})" if text else str(detail)
    return one_line(text)


@dataclass(frozen=True)
class Reply:
    """A response from GitHub that was not an error."""

    status: int
    headers: httpx.Headers
    body: bytes
    method: str
    path: str
    """The URL path (no host, no query), for messages."""

    def json(self) -> Any:
        """The body as JSON, or :class:`GitHubError` saying the answer was malformed."""
        try:
            return loads(self.body)
        except ValueError:
            raise GitHubError(
                f"GitHub sent a malformed answer to {self.method} {self.path} (not JSON)"
            ) from None

    @property
    def text(self) -> str:
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class GraphQLReply:
    """The ``data`` of a GraphQL answer and any per-field ``errors`` beside it."""

    data: dict[str, Any]
    errors: list[dict[str, Any]]
    cost: int | None


class GitHubClient:
    """One API root with one token; use it from one event loop."""

    def __init__(
        self,
        api_url: str,
        token: Token,
        *,
        timeout: float = 20.0,
        clock: Clock = time.time,
        backoff: Backoff | None = None,
        user_agent: str = "ao-tui",
    ) -> None:
        """Prepare (nothing is sent until the first request)."""
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url(self.api_url)
        self.timeout = timeout
        self._origin = _origin(self.api_url)
        self._token = token
        self.rejected = False
        """The last request was answered 401: the token may have been revoked or rotated."""
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            follow_redirects=False,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": user_agent,
            },
        )
        self._primary_until: dict[str, float] = {}
        self._pause_until = 0.0
        self._pause_reason = ""
        self._failures: dict[str, int] = {}
        """Consecutive transient failures per resource (``core``, ``graphql``)."""
        self._secondary_hits = 0
        self.sent = 0
        """Requests actually sent to the API origin."""
        self.graphql_cost = 0
        """Sum of ``rateLimit.cost`` over the GraphQL answers received."""
        self.rate: dict[str, tuple[int, float]] = {}
        """Per resource: (remaining, reset epoch) from the last response's headers."""

    def use_token(self, token: Token) -> None:
        """Send ``token`` from now on (after a 401, a rotated one may have been set)."""
        self._token = token
        self.rejected = False

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- the gate -----------------------------------------------------------------------

    def blocked(self, resource: str = "core") -> GitHubError | None:
        """Why nothing may be sent for ``resource`` now (None when requests may go out)."""
        now = self._clock()
        if self._pause_until > now:
            return GitHubError(self._pause_reason, retry_at=self._pause_until)
        until = self._primary_until.get(resource, 0.0)
        if until > now:
            return GitHubError("GitHub rate limit reached", status=403, retry_at=until)
        return None

    def _pause(self, reason: str, seconds: float) -> float:
        self._pause_until = max(self._pause_until, self._clock() + seconds)
        self._pause_reason = reason
        return self._pause_until

    def _transient(self, resource: str, reason: str, status: int | None = None) -> GitHubError:
        """Pause exponentially after a failure that may heal by itself.

        The count is per resource, so REST answering 304s does not reset the back-off of a
        GraphQL endpoint that keeps failing.
        """
        failures = self._failures[resource] = self._failures.get(resource, 0) + 1
        wait = min(self._backoff.base * 2 ** (failures - 1), self._backoff.cap)
        return GitHubError(reason, status=status, retry_at=self._pause(reason, wait))

    def _note_rate(self, resp: httpx.Response, resource: str) -> tuple[int | None, float | None]:
        remaining_text = resp.headers.get("x-ratelimit-remaining")
        reset_text = resp.headers.get("x-ratelimit-reset")
        resource = resp.headers.get("x-ratelimit-resource", resource)
        try:
            remaining = int(remaining_text) if remaining_text is not None else None
            reset = float(reset_text) if reset_text is not None else None
        except ValueError:
            return None, None
        if remaining is not None:
            self.rate[resource] = (remaining, reset or 0.0)
            if remaining <= 0:
                # Spent: silent until the window resets (a minute when the reset is unknown).
                self._primary_until[resource] = reset or self._clock() + 60.0
        return remaining, reset

    # -- sending ------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url_or_path: str,
        *,
        json_body: Any = None,
        etag: str | None = None,
        allow_redirect: bool = False,
        max_bytes: int | None = None,
    ) -> Reply:
        """Send one request to the API; a :class:`Reply` for 2xx/304 (3xx when allowed).

        ``max_bytes`` keeps only the last that many bytes of a large body (logs).
        """
        url = url_or_path if "://" in url_or_path else self.api_url + url_or_path
        path = urlsplit(url).path
        resource = "graphql" if url == self.graphql_url else "core"
        blocked = self.blocked(resource)
        if blocked is not None:
            raise blocked
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        if etag:
            headers["If-None-Match"] = etag
        try:
            resp, body = await self._send(method, url, headers, json_body, max_bytes)
        except httpx.TimeoutException:
            raise self._transient(
                resource, f"GitHub did not answer {method} {path} within {self.timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            host = self._origin[1]
            raise self._transient(
                resource,
                f"cannot reach GitHub at {host}: {one_line(str(exc), 80) or type(exc).__name__}",
            ) from None
        self.sent += 1
        remaining, _reset = self._note_rate(resp, resource)
        status = resp.status_code
        if 200 <= status < 300 or status == 304 or (allow_redirect and status in _REDIRECTS):
            self._failures.pop(resource, None)
            self._secondary_hits = 0
            return Reply(status, resp.headers, body, method, path)
        raise self._error(method, path, status, resp.headers, body, remaining, resource)

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        json_body: Any,
        max_bytes: int | None,
    ) -> tuple[httpx.Response, bytes]:
        request = self._http.build_request(method, url, headers=headers, json=json_body)
        resp = await self._http.send(request, stream=True)
        try:
            if max_bytes is None:
                body = await resp.aread()
            else:
                kept = bytearray()
                async for chunk in resp.aiter_bytes():
                    kept += chunk
                    if len(kept) > 2 * max_bytes:
                        del kept[: len(kept) - max_bytes]
                body = bytes(kept[-max_bytes:])
        finally:
            await resp.aclose()
        return resp, body

    def _error(
        self,
        method: str,
        path: str,
        status: int,
        headers: httpx.Headers,
        body: bytes,
        remaining: int | None,
        resource: str,
    ) -> GitHubError:
        message = _message(body)
        if status in (403, 429):
            if remaining == 0:
                until = self._primary_until.get(headers.get("x-ratelimit-resource", resource))
                return GitHubError(
                    "GitHub rate limit reached", status=status, message=message, retry_at=until
                )
            retry_after = _seconds(headers.get("retry-after"))
            if (
                retry_after is not None
                or status == 429
                or "secondary rate limit" in message.lower()
            ):
                self._secondary_hits += 1
                first = retry_after if retry_after is not None else self._backoff.secondary
                wait = first * 2 ** (self._secondary_hits - 1)
                wait = min(wait, max(first, self._backoff.cap))
                reason = "GitHub secondary rate limit"
                return GitHubError(
                    reason, status=status, message=message, retry_at=self._pause(reason, wait)
                )
            return GitHubError(
                f"GitHub refused {method} {path} (403): {message or 'forbidden'}",
                status=status,
                message=message,
            )
        if status == 401:
            self.rejected = True
            error = self._transient(
                resource,
                f"GitHub token rejected (401): {message or 'Bad credentials'}; set a valid "
                "GITHUB_TOKEN or GH_TOKEN, or run `gh auth login`",
                status,
            )
            error.message = message
            return error
        if status == 404:
            match = _REPO_PATH.match(path)
            what = f"repository {match.group(1)}/{match.group(2)}" if match else path
            return GitHubError(
                f"{what} not found or token lacks access (404)", status=status, message=message
            )
        if status >= 500:
            error = self._transient(
                resource, f"GitHub server error ({status}) on {method} {path}", status
            )
            error.message = message
            return error
        return GitHubError(
            f"GitHub answered {status} to {method} {path}: {message or 'no message'}",
            status=status,
            message=message,
        )

    # -- GraphQL and downloads ----------------------------------------------------------

    async def graphql(self, query: str) -> GraphQLReply:
        """Run one query; its ``data`` and field errors. Whole-query failures raise."""
        reply = await self.request("POST", self.graphql_url, json_body={"query": query})
        payload = reply.json()
        if not isinstance(payload, dict):
            raise GitHubError("GitHub sent a malformed GraphQL answer (not an object)")
        raw_errors = payload.get("errors")
        errors = (
            [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        )
        if any(e.get("type") == "RATE_LIMITED" for e in errors):
            reset = self.rate.get("graphql", (0, 0.0))[1] or self._clock() + 60.0
            self._primary_until["graphql"] = reset
            raise GitHubError("GitHub GraphQL rate limit reached", retry_at=reset)
        data = payload.get("data")
        if not isinstance(data, dict):
            first = one_line(str(errors[0].get("message", ""))) if errors else "no data"
            raise GitHubError(f"GitHub GraphQL error: {first}")
        cost: int | None = None
        rate = data.get("rateLimit")
        if isinstance(rate, dict):
            if isinstance(rate.get("cost"), int):
                cost = rate["cost"]
                self.graphql_cost += rate["cost"]
            reset_at = parse_time(rate.get("resetAt"))
            if rate.get("remaining") == 0 and reset_at is not None:
                self._primary_until["graphql"] = reset_at
        return GraphQLReply(data, errors, cost)

    async def download(self, path: str, *, max_bytes: int) -> str:
        """A text file behind an API path that redirects elsewhere (job logs).

        Redirects are followed by hand; the token is sent only to the API's own origin.
        """
        reply = await self.request("GET", path, allow_redirect=True, max_bytes=max_bytes)
        url = self.api_url + path
        for _ in range(_MAX_REDIRECTS):
            if reply.status not in _REDIRECTS:
                return reply.text
            location = reply.headers.get("location")
            if not location:
                raise GitHubError(f"GitHub redirected {path} nowhere")
            url = urljoin(url, location)
            if _origin(url) == self._origin:
                reply = await self.request("GET", url, allow_redirect=True, max_bytes=max_bytes)
            else:
                reply = await self._foreign_get(url, max_bytes)
        raise GitHubError(f"too many redirects fetching {path}")

    async def _foreign_get(self, url: str, max_bytes: int) -> Reply:
        """GET from another host (log storage): no token, no rate-limit bookkeeping."""
        host = urlsplit(url).hostname or "?"
        try:
            resp, body = await self._send("GET", url, {}, None, max_bytes)
        except httpx.TimeoutException:
            raise GitHubError(f"{host} did not answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise GitHubError(f"cannot reach {host}: {type(exc).__name__}") from None
        if resp.status_code >= 400 and resp.status_code not in _REDIRECTS:
            raise GitHubError(f"{host} answered {resp.status_code}", status=resp.status_code)
        return Reply(resp.status_code, resp.headers, body, "GET", urlsplit(url).path)


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is rare on GitHub: treated as absent)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
