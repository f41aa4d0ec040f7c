"""The GitHub host behind ``scm: github``: token discovery, an async API client, the GraphQL
queries and their parsing, job-log excerpts, and the per-repository change-detecting poller.

Each module has one job; :mod:`plugins.scm.github` puts them together as the SCM plugin.
"""
