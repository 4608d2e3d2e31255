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
import math
import random
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omc_data.builder.collectors import coinspot, cryptopanic, defillama
from omc_data.builder.collectors.http import SYSTEM_CLOCK, Clock, Fetcher, FetchFailed, RetryPolicy
from omc_data.builder.collectors.raw import SOURCES, RawResponse
from omc_data.builder.collectors.scrub import Scrubber, scrubbed_logging

if TYPE_CHECKING:  # imported when fetching: an offline build never loads httpx
    import httpx

log = logging.getLogger(__name__)

DEFAULT_ENDPOINTS: Mapping[str, str] = {
    "coinspot": "https://www.coinspot.com.au/pubapi/v2/latest",
    "defillama": "https://api.llama.fi/protocols",
    "cryptopanic": "https://cryptopanic.com/api/developer/v2/posts/?public=true&kind=news",
}
TOKEN_PARAM = "auth_token"
NO_TOKEN = "no CryptoPanic token: set CRYPTOPANIC_API_KEY or pass --cryptopanic-token-file"
# CryptoPanic serves 20 posts a page (50 on paid plans); never follow more pages than the posts asked for
# could need, whatever the `next` links say.
POSTS_PER_PAGE_MIN = 20


@dataclass(frozen=True)
class CollectRequest:
    """What to fetch and how: the sources, their endpoints, the token, and the retry policy."""

    sources: tuple[str, ...] = SOURCES
    endpoints: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ENDPOINTS))
    cryptopanic_token: str | None = field(default=None, repr=False)
    news: int = 100  # CryptoPanic posts wanted
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = SYSTEM_CLOCK
    seed: int | None = None  # jitter's random stream; None: system entropy
    # the newest CryptoPanic post id already held (``collect``): stop paging at a page that reaches it
    news_after_id: int | None = None
    transport: httpx.AsyncBaseTransport | None = None  # tests: an in-process transport

    def __post_init__(self) -> None:
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r} (sources: {', '.join(SOURCES)})")

    def endpoint(self, source: str) -> str:
        return self.endpoints.get(source) or DEFAULT_ENDPOINTS[source]

    @property
    def scrubber(self) -> Scrubber:
        """Scrubs the token and any password a mirror's endpoint URL carries (``https://u:pw@host/``)."""
        secrets = [self.cryptopanic_token or ""]
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


async def _one(request: CollectRequest, source: str, fetcher: Fetcher) -> SourceFetch:
    scrub = request.scrubber
    endpoint = request.endpoint(source)
    result = SourceFetch(source, "collected", scrub.url(endpoint))
    if source == "cryptopanic" and not request.cryptopanic_token:
        result.outcome, result.reason = "skipped", NO_TOKEN
        return result
    try:
        if source == "coinspot":
            result.responses.append(await fetcher.get(endpoint, check=coinspot.check))
        elif source == "defillama":
            result.responses.append(await fetcher.get(endpoint, check=defillama.check))
        else:
            result.reason = await _pages(request, fetcher, endpoint, result.responses)
    except FetchFailed as exc:
        if result.responses:  # some pages arrived: keep them, say where it stopped
            result.reason = f"stopped after page {len(result.responses)}: {exc.reason}"
            result.incomplete = True
        else:
            result.outcome, result.reason = "degraded", exc.reason
    # Compress each response for raw/ now, on the fetching thread, while the build generates other tables.
    result.responses = [r.compressed() for r in result.responses]
    result.http_status = fetcher.last_status
    result.attempts = fetcher.attempts
    result.seconds = fetcher.elapsed
    level = logging.WARNING if result.outcome == "degraded" else logging.INFO
    log.log(
        level, "%s: %s (%s)", source, result.outcome, result.reason or f"{len(result.responses)} responses"
    )
    return result


async def _pages(
    request: CollectRequest, fetcher: Fetcher, endpoint: str, into: list[RawResponse]
) -> str | None:
    """CryptoPanic's pages through the configured endpoint: ``next`` gives the page, never the host."""
    assert request.cryptopanic_token is not None
    token = {TOKEN_PARAM: request.cryptopanic_token}
    max_pages = max(1, math.ceil(request.news / POSTS_PER_PAGE_MIN))
    base, _, query = endpoint.partition("?")
    configured = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    params: dict[str, str] = {}
    posts = 0
    while True:  # `next` gives the page; the configured query and the token win over anything it says
        page = await fetcher.get(base, {**params, **configured, **token}, check=cryptopanic.check)
        into.append(page)
        ids = cryptopanic.post_ids(page.body)
        posts += len(_results(page))
        if request.news_after_id is not None and any(i <= request.news_after_id for i in ids):
            return None  # reached posts already held
        following = cryptopanic.next_page(page.body)
        if following is None or posts >= request.news:
            return None
        if len(into) >= max_pages:
            return f"stopped after {len(into)} pages ({posts} posts)"
        params = following


def _results(page: RawResponse) -> list[Any]:
    doc = page.json()
    results = doc.get("results") if isinstance(doc, dict) else None
    return results if isinstance(results, list) else []
