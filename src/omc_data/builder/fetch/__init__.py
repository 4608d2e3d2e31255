"""Fetching and keeping responses, whatever the source: nothing here names a source.

- ``http``: one GET with timeouts, retries (exponential backoff with jitter), ``Retry-After`` and a time
  budget per source; the clock is injected so tests never sleep.
- ``scrub``: secrets out of URLs, bodies, messages and log records.
- ``raw``: a collected response as it is kept (scrubbed, gzip, self-describing), under a snapshot's
  ``raw/`` or the store's ``.collected/``.
- ``collection``: the ``.collected/`` store that ``omc-data collect`` files into (cron runs), and its
  pruning.

The sources themselves (what to fetch, how to read it) are in :mod:`omc_data.builder.sources`, which
imports this package and is never imported by it.
"""
