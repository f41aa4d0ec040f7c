"""Notifiers that reach a person over HTTP: a generic webhook, Slack, Discord, OpenClaw and
ntfy, one module each, sharing :mod:`plugins.notifier.http` for the request, its timeout and
the mapping of every failure to a :class:`core.notify.model.NotifierError`.

Each is a plugin of the ``notifier`` slot (:class:`core.slots.Notifier`): ``check(options)``
says what is wrong with a ``notifiers:`` entry, ``send(notification, options, key=...)``
delivers one notification once. Retries are the outbox's job, not theirs.
"""
