"""CryptoPanic posts (``/api/v1/posts/`` and ``/api/developer/v2/posts/``), paginated by ``next``.

CryptoPanic: both v1 currencies and v2 instruments; url deduplicated; source its source title; sentiment
from votes.

- Pages are read in fetch order, posts in page order, until ``limit`` rows (later posts are not counted).
- ``url`` is CryptoPanic's post URL (the ``url`` field, else ``https://cryptopanic.com/news/{id}/{slug}``);
  a post without one is skipped (``no url``), as is a post without a title (``no title``) and a later post
  with the URL of a row already taken (``duplicate url``).
- ``published_at``: null or missing gives None; a value that is not an RFC 3339 timestamp with an offset
  skips the post (``published_at unreadable``).
- ``currencies``: the codes of v1 ``currencies`` and v2 ``instruments`` (both when both are present),
  upper case, unique, sorted; ``[]`` when there are none.
- ``source``: ``source.title`` cut to 100 characters (varchar(100)), else None.
- Sentiment and ``total_votes`` from :func:`omc_data.domain.sentiment.from_votes`. Missing or null votes
  count as zero; a vote value that is not an int from 0 to 2**31-1 counts as 0 and the post counts once
  under ``votes unreadable`` (the post is kept).
- Text is kept as CryptoPanic sent it; only a blank (all-whitespace) title, url or source is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources.counts import SourceCounts, load_json, one_line
from omc_data.builder.sources.model import FetchJob, Incremental, Parsed, Reading, Source, Token
from omc_data.domain.sentiment import Sentiment, from_votes
from omc_data.snapshots.timefmt import parse_timestamp

if TYPE_CHECKING:  # the generators load lazily: the CLI reads the registry for its options
    from omc_data.builder.generators.spec import Spec

SOURCE_LENGTH = 100  # varchar(100)
POST_URL = "https://cryptopanic.com/news/{id}/{slug}"
INT32_MAX = 2**31 - 1  # total_votes is an integer column
# query parameters never passed on from a `next` link (auth_token and anything else secret-looking)
SECRET_PARAM = re.compile(r"token|key|secret|passw|auth|sig|session|credential", re.IGNORECASE)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
TOKEN_PARAM = "auth_token"
# CryptoPanic serves 20 posts a page (50 on paid plans); never follow more pages than the posts asked for
# could need, whatever the `next` links say.
POSTS_PER_PAGE_MIN = 20


def _json(body: bytes) -> Any:
    return load_json(body, parse_int=int)


def _document(body: bytes) -> dict[str, Any]:
    try:
        doc = _json(body)
    except ValueError as exc:
        raise ValueError(f"CryptoPanic response is not JSON ({one_line(str(exc))})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"CryptoPanic response is a JSON {type(doc).__name__}, not an object")
    if isinstance(doc.get("results"), list):
        return doc
    for field in ("detail", "info", "message", "error"):
        message = doc.get(field)
        if message is not None and str(message).strip():
            raise ValueError(f"CryptoPanic said: {one_line(str(message))}")
    if doc.get("status") is not None:
        raise ValueError(f"CryptoPanic said: status {one_line(str(doc['status']))}")
    raise ValueError("CryptoPanic response has no 'results' list")


def check(body: bytes) -> None:
    """ValueError with a one-line reason unless a JSON object with a ``results`` list.

    An error object (``{"status": "error", "info": m}``, ``{"detail": m}``) gives ``CryptoPanic said: m``.
    """
    _document(body)


def next_page(body: bytes) -> dict[str, str] | None:
    """The query parameters of the ``next`` link, secret-looking ones removed; None without a next page.

    None when ``next`` is null, missing, not an http(s) URL, or has no parameters left. The caller requests
    them from its own configured endpoint: the link's host and path are never used.
    """
    try:
        doc = _json(body)
    except ValueError:
        return None
    link = doc.get("next") if isinstance(doc, dict) else None
    if not isinstance(link, str):
        return None
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    params = {
        name: value
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not SECRET_PARAM.search(name)
    }
    return params or None


def post_ids(body: bytes) -> list[int]:
    """The integer ``id`` of each of the page's results, in page order ([] for a body that is no page)."""
    try:
        results = _document(body)["results"]
    except ValueError:
        return []
    ids: list[int] = []
    for post in results:
        post_id = post.get("id") if isinstance(post, dict) else None
        if isinstance(post_id, int) and not isinstance(post_id, bool):
            ids.append(post_id)
    return ids


def parse_posts(
    responses: Sequence[RawResponse], *, limit: int, counts: SourceCounts
) -> list[dict[str, Any]]:
    """news_sentiment rows (without id), sorted by (published_at, None first; url).

    ``collected_at`` is the page's ``fetched_at``. ValueError for a negative ``limit`` or a page read that
    fails :func:`check`. ``counts.records`` += posts seen up to the limit, ``counts.rows`` += rows.
    """
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, not {limit}")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for response in responses:
        if len(rows) >= limit:
            break
        for post in _document(response.body)["results"]:
            if len(rows) >= limit:
                break
            counts.records += 1
            row = _row(post, response.fetched_at, seen, counts)
            if row is not None:
                seen.add(row["url"])
                rows.append(row)
    rows.sort(key=lambda row: (row["published_at"] is not None, row["published_at"] or _EPOCH, row["url"]))
    counts.rows += len(rows)
    return rows


def _row(
    post: object, collected_at: dt.datetime, seen: set[str], counts: SourceCounts
) -> dict[str, Any] | None:
    if not isinstance(post, dict):
        counts.skip("not an object")
        return None
    title = _text(post.get("title"))
    if title is None:
        counts.skip("no title")
        return None
    url = _url(post)
    if url is None:
        counts.skip("no url")
        return None
    if url in seen:
        counts.skip("duplicate url")
        return None
    try:
        published_at = _published(post.get("published_at"))
    except ValueError:
        counts.skip("published_at unreadable")
        return None
    source = post.get("source")
    source_title = _text(source.get("title")) if isinstance(source, dict) else None
    sentiment = _sentiment(post.get("votes"), counts)
    return {
        "title": title,
        "source": source_title[:SOURCE_LENGTH] if source_title is not None else None,
        "url": url,
        "published_at": published_at,
        "sentiment": sentiment.label,
        "sentiment_score": sentiment.score,
        "currencies": _codes(post),
        "collected_at": collected_at,
        "total_votes": sentiment.total_votes,
    }


def _text(value: object) -> str | None:
    """A non-blank string as it is, else None."""
    return value if isinstance(value, str) and value.strip() else None


def _url(post: dict[str, Any]) -> str | None:
    url = _text(post.get("url"))
    if url is not None:
        return url
    post_id, slug = post.get("id"), _text(post.get("slug"))
    if isinstance(post_id, int) and not isinstance(post_id, bool) and slug is not None:
        return POST_URL.format(id=post_id, slug=slug)
    return None


def _published(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return parse_timestamp(value.strip())


def _codes(post: dict[str, Any]) -> list[str]:
    codes: set[str] = set()
    for field in ("currencies", "instruments"):
        items = post.get(field)
        for item in items if isinstance(items, list) else ():
            code = item.get("code") if isinstance(item, dict) else item
            if isinstance(code, str) and code.strip():
                codes.add(code.strip().upper())
    return sorted(codes)


def _sentiment(votes: object, counts: SourceCounts) -> Sentiment:
    if votes is None:
        return from_votes({})
    readable = isinstance(votes, dict)
    usable: dict[str, int] = {}
    for name, value in votes.items() if isinstance(votes, dict) else ():
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT32_MAX:
            usable[name] = value
        else:
            readable = False
    sentiment = from_votes(usable)
    if sentiment.total_votes > INT32_MAX:
        readable, sentiment = False, from_votes({})
    if not readable:
        counts.skip("votes unreadable")
    return sentiment


def news(spec: Spec, responses: Sequence[RawResponse], counts: SourceCounts, reading: Reading) -> Parsed:
    """The build's rows: the spec's ``news`` newest posts; filed pages are read newest fetch first."""
    if reading.collected:
        responses = sorted(responses, key=lambda r: r.fetched_at, reverse=True)
    return Parsed(parse_posts(responses, limit=spec.news, counts=counts))


async def pages(source: Source, job: FetchJob) -> str | None:
    """The pages through the configured endpoint: ``next`` gives the page, never the host.

    Stops at the last page, once ``job.limit`` posts arrived, at a page reaching the watermark (posts
    already filed), or after as many pages as ``job.limit`` posts could need (then says so).
    """
    assert job.token is not None
    token = {TOKEN_PARAM: job.token}
    max_pages = max(1, math.ceil(job.limit / POSTS_PER_PAGE_MIN))
    base, _, query = job.endpoint.partition("?")
    configured = dict(parse_qsl(query, keep_blank_values=True))
    params: dict[str, str] = {}
    posts = 0
    into = job.responses
    while True:  # `next` gives the page; the configured query and the token win over anything it says
        page = await job.fetcher.get(base, {**params, **configured, **token}, check=check)
        into.append(page)
        ids = post_ids(page.body)
        posts += len(_results(page))
        if job.watermark is not None and any(i <= job.watermark for i in ids):
            return None  # reached posts already held
        following = next_page(page.body)
        if following is None or posts >= job.limit:
            return None
        if len(into) >= max_pages:
            return f"stopped after {len(into)} pages ({posts} posts)"
        params = following


def _results(page: RawResponse) -> list[Any]:
    doc = page.json()
    results = doc.get("results") if isinstance(doc, dict) else None
    return results if isinstance(results, list) else []


def new_posts(page: RawResponse, watermark: int | None, seen: set[int]) -> tuple[RawResponse, int]:
    """The page with only the posts newer than ``watermark`` and not filed yet by this run; their count."""
    doc = page.json()
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        return page, 0
    kept = []
    for post in results:
        pid = post.get("id") if isinstance(post, dict) else None
        if isinstance(pid, int):
            if (watermark is not None and pid <= watermark) or pid in seen:
                continue
            seen.add(pid)
        kept.append(post)
    if len(kept) == len(results):
        return page, len(kept)
    doc["results"] = kept
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return dataclasses.replace(page, body=body, _file=None), len(kept)


SOURCE = Source(
    name="cryptopanic",
    tables=("news_sentiment",),
    endpoint="https://cryptopanic.com/api/developer/v2/posts/?public=true&kind=news",
    endpoint_env="OMC_DATA_CRYPTOPANIC_URL",
    check=check,
    parse=news,
    real_field="news",
    schedule="new_items",
    token=Token(
        env="CRYPTOPANIC_API_KEY", option="--cryptopanic-token-file", required=True, label="CryptoPanic token"
    ),
    fetch=pages,
    incremental=Incremental(keep_new=new_posts),
)
