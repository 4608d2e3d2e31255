"""Real public data: Coinspot prices, DeFiLlama protocols, CryptoPanic news.

- ``http``: one GET with timeouts, retries (exponential backoff with jitter), ``Retry-After`` and a time
  budget per source; the clock is injected so tests never sleep.
- ``scrub``: secrets out of URLs, bodies, messages and log records.
- ``raw``: a collected response as it is kept (scrubbed, gzip, self-describing), under a snapshot's
  ``raw/`` or the store's ``.collected/``.
- ``coinspot``, ``defillama``, ``cryptopanic``: pure mappings from responses to rows, with counts of
  what was skipped and why.
- ``live``: fetch every source concurrently; ``collection``: the ``.collected/`` store for cron runs.
"""
