"""Notifications: what needs a person reaches them, exactly once, through the channels they
configure, even with no cockpit open.

- :mod:`core.notify.model`: a :class:`Notification` as every notifier receives it, and the
  :class:`NotifierError` a notifier raises (retry, with a ``Retry-After``, or fail fast).
- :mod:`core.config_notify`: the ``notifiers:``, ``notificationRouting:`` and
  ``notifications:`` config sections (AO's shape).
- :mod:`core.notify.terminal`: the bell and OSC sequences, and the cockpit's terminal lent
  to the ``terminal`` notifier.
- The notifier plugins live in the ``notifier`` slot (:class:`core.slots.Notifier`).
"""
