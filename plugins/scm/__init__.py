"""SCM plugins: where PRs, CI runs and reviews of session branches live."""

from plugins.scm.local import LocalScm

__all__ = ["LocalScm"]
