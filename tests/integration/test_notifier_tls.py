"""The HTTP notifiers build their TLS context once, not per request: thousands of sends
from the daemon's outbox must not parse the CA bundle thousands of times (the soak,
tests/bench/bench_soak.py, measured that churn as several MB of RSS). Two real sends to
a receiver on 127.0.0.1 through the webhook notifier.
"""

from __future__ import annotations

import ssl

from core.notify.model import Notification
from plugins.notifier.http import tls_context
from plugins.notifier.webhook import WebhookNotifier
from tests.support.notify_receivers import NotifyReceiver


def note(n: int) -> Notification:
    return Notification(
        id=f"evt-{n}", type="reaction.notified", priority="urgent", session_id="app-1",
        project_id="app", timestamp=1000.0 + n, title=f"app-1: waiting {n}",
    )  # fmt: skip


def test_every_send_verifies_with_the_one_tls_context() -> None:
    tls_context.cache_clear()
    with NotifyReceiver("webhook") as receiver:
        for n in range(3):
            WebhookNotifier().send(note(n), {"url": receiver.url}, key=f"k{n}")
        assert len(receiver.requests) == 3
    info = tls_context.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert isinstance(tls_context(), ssl.SSLContext)
    assert tls_context().verify_mode is ssl.CERT_REQUIRED
