"""Fetch every chosen source concurrently, once, and say per source what happened.

Each source has its own :class:`Fetcher` (and so its own time budget); one failing source never stops the
others. The result per source is the scrubbed responses (to parse and to keep under ``raw/``) and the
facts the manifest records: outcome, endpoint without secrets, fetch time, HTTP status, attempts, and the
reason when it failed or was skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omc_data.builder import sources as registry
from omc_data.builder.fetch.http import SYSTEM_CLOCK, Clock, Fetcher, FetchFailed, RetryPolicy
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.fetch.scrub import Scrubber, scrubbed_logging
from omc_data.builder.sources.model import FetchJob

if TYPE_CHECKING:  # imported when fetching: an offline build never loads httpx
    import httpx

log = logging.getLogger(__name__)


def default_endpoints() -> dict[str, str]:
    """Every source's default endpoint, by name."""
    return {name: s.endpoint for name, s in registry.REGISTRY.items()}


@dataclass(frozen=True)
class CollectRequest:
    """What to fetch and how: the sources, their endpoints, their tokens, and the retry policy."""

    sources: tuple[str, ...] = field(default_factory=registry.defaults)
    endpoints: Mapping[str, str] = field(default_factory=default_endpoints)
    # the token of each source that takes one, by source name
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    # the public API's keyword for CryptoPanic's token (kept for compatibility): tokens["cryptopanic"]
    cryptopanic_token: str | None = field(default=None, repr=False)
    news: int = 100  # records wanted from a paged source (CryptoPanic posts)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = SYSTEM_CLOCK
    seed: int | None = None  # jitter's random stream; None: system entropy
    # ``collect``: per new_items source, the newest item id already held (stop paging at a page reaching it)
    watermarks: Mapping[str, int] = field(default_factory=dict)
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process transport

    def __post_init__(self) -> None:
        for name in self.sources:
            registry.source(name)  # ValueError naming the known sources
        if self.cryptopanic_token and "cryptopanic" not in self.tokens:
            object.__setattr__(self, "tokens", {**self.tokens, "cryptopanic": self.cryptopanic_token})

    def endpoint(self, source: str) -> str:
        return self.endpoints.get(source) or registry.source(source).endpoint

    def token(self, source: str) -> str | None:
        return self.tokens.get(source) or None

    @property
    def scrubber(self) -> Scrubber:
        """Scrubs the tokens and any password a mirror's endpoint URL carries (``https://u:pw@host/``)."""
        secrets = list(self.tokens.values())
        for source in self.sources:
            parts = urllib.parse.urlsplit(self.endpoint(source))
            secrets.append(urllib.parse.unquote(parts.password or ""))
        return Scrubber(secrets)


@dataclass
class SourceFetch:
    """One source's collection: the responses, or why there are none."""

    source: str
    outcome: str  # collected | degraded | skipped
    endpoint: str  # secrets scrubbed
    responses: list[RawResponse] = field(default_factory=list)
    reason: str | None = None  # degraded or skipped: why; collected: a note (e.g. stopped paging early)
    http_status: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    incomplete: bool = False  # some pages arrived, then one failed

    @property
    def fetched_at(self) -> dt.datetime | None:
        return max((r.fetched_at for r in self.responses), default=None)

    def to_json(self) -> dict[str, Any]:
        from omc_data.snapshots.timefmt import format_timestamp

        doc: dict[str, Any] = {"outcome": self.outcome, "endpoint": self.endpoint}
        if self.fetched_at is not None:
            doc["fetched_at"] = format_timestamp(self.fetched_at)
        if self.http_status is not None:
            doc["http_status"] = self.http_status
        if self.attempts:
            doc["attempts"] = self.attempts
            doc["seconds"] = round(self.seconds, 3)
        if self.reason:
            doc["reason"] = self.reason
        return doc


def collect(request: CollectRequest) -> dict[str, SourceFetch]:
    """Fetch the chosen sources concurrently; every source gets a result, failed or not."""
    return asyncio.run(collect_async(request))


async def collect_async(request: CollectRequest) -> dict[str, SourceFetch]:
    """:func:`collect` for callers already inside an event loop."""
    with scrubbed_logging(request.scrubber):
        return await _collect(request)


async def _collect(request: CollectRequest) -> dict[str, SourceFetch]:
    rng = random.Random(request.seed)
    import httpx

    # No redirects: a redirect would carry CryptoPanic's token (in the query) to wherever it points.
    async with httpx.AsyncClient(transport=request.transport, follow_redirects=False) as client:
        jobs = [
            _one(
                request,
                source,
                Fetcher(
                    client,
                    source=source,
                    policy=request.policy,
                    clock=request.clock,
                    scrubber=request.scrubber,
                    rng=random.Random(rng.getrandbits(64)),
                ),
            )
            for source in request.sources
        ]
        results = await asyncio.gather(*jobs)
    return {r.source: r for r in results}


async def _one(request: CollectRequest, name: str, fetcher: Fetcher) -> SourceFetch:
    scrub = request.scrubber
    source = registry.source(name)
    endpoint = request.endpoint(name)
    result = SourceFetch(name, "collected", scrub.url(endpoint))
    token = request.token(name)
    if source.token is not None and source.token.required and not token:
        result.outcome, result.reason = "skipped", source.token.missing
        return result
    job = FetchJob(fetcher, endpoint, token, request.news, request.watermarks.get(name))
    try:
        result.reason = await source.fetch(source, job)
    except FetchFailed as exc:
        if job.responses:  # some pages arrived: keep them, say where it stopped
            result.reason = f"stopped after page {len(job.responses)}: {exc.reason}"
            result.incomplete = True
        else:
            result.outcome, result.reason = "degraded", exc.reason
    # Compress each response for raw/ now, on the fetching thread, while the build generates other tables.
    result.responses = [r.compressed() for r in job.responses]
    result.http_status = fetcher.last_status
    result.attempts = fetcher.attempts
    result.seconds = fetcher.elapsed
    level = logging.WARNING if result.outcome == "degraded" else logging.INFO
    log.log(level, "%s: %s (%s)", name, result.outcome, result.reason or f"{len(result.responses)} responses")
    return result
