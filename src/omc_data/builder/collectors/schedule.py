"""One ``omc-data collect`` run: fetch what is due and file it in the collection.

Coinspot is filed every run (each run is one more real tick). DeFiLlama at most once per UTC day.
CryptoPanic only posts newer than the newest already held: paging stops at the first page that reaches
a held post, and the filed pages keep only the new posts. Runs may overlap: the per-source decisions are
taken under the collection's lock, and a run that finds a source locked leaves it to the other run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omc_data.builder.collectors.collection import Collection
from omc_data.builder.collectors.live import CollectRequest, SourceFetch, collect
from omc_data.builder.collectors.raw import RawResponse

log = logging.getLogger(__name__)
NEWEST_ID = "newest_id"


@dataclass
class Filed:
    """What one run did for one source."""

    source: str
    outcome: str  # collected | skipped | degraded
    reason: str | None = None
    files: list[str] = field(default_factory=list)  # relative to the collection
    http_status: int | None = None
    new_posts: int | None = None  # cryptopanic only

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"outcome": self.outcome, "files": self.files}
        for key in ("reason", "http_status", "new_posts"):
            if getattr(self, key) is not None:
                doc[key] = getattr(self, key)
        return doc


def collect_into(collection: Collection, request: CollectRequest) -> dict[str, Filed]:
    """Fetch the due sources once and file their responses; every chosen source gets a result."""
    now = request.clock.now()
    out: dict[str, Filed] = {}
    with contextlib.ExitStack() as stack:
        due = []
        for source in request.sources:
            if source == "coinspot":
                due.append(source)
                continue
            if not stack.enter_context(collection.locked(source)):
                out[source] = Filed(source, "skipped", "another collect run is filing it right now")
            elif source == "defillama" and collection.has_day(source, now.date()):
                out[source] = Filed(source, "skipped", f"already collected on {now.date()} (at most daily)")
            else:
                due.append(source)
        newest = collection.state("cryptopanic").get(NEWEST_ID)
        watermark = newest if isinstance(newest, int) else None
        fetches = collect(dataclasses.replace(request, sources=tuple(due), news_after_id=watermark))
        for source, fetch in fetches.items():
            out[source] = _file(collection, fetch, watermark)
    return {s: out[s] for s in request.sources}


def _file(collection: Collection, fetch: SourceFetch, watermark: int | None) -> Filed:
    filed = Filed(fetch.source, fetch.outcome, fetch.reason, http_status=fetch.http_status)
    if fetch.outcome != "collected":
        return filed
    if fetch.source != "cryptopanic":
        filed.files = [_rel(collection, collection.add(r)) for r in fetch.responses]
        return filed
    seen: set[int] = set()
    ids: list[int] = [] if watermark is None else [watermark]
    filed.new_posts = 0
    for page in fetch.responses:
        fresh, count = _new_posts(page, watermark, seen)
        if count:
            filed.files.append(_rel(collection, collection.add(fresh)))
            filed.new_posts += count
    ids.extend(seen)
    # A page failed: the posts between the last page read and the watermark were never seen. Keep the
    # watermark, so the next run pages down to it again (the builds deduplicate posts by URL).
    if ids and max(ids) != watermark and not fetch.incomplete:
        collection.set_state("cryptopanic", {NEWEST_ID: max(ids)})
    return filed


def _new_posts(page: RawResponse, watermark: int | None, seen: set[int]) -> tuple[RawResponse, int]:
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


def _rel(collection: Collection, path: Path) -> str:
    return str(path.relative_to(collection.root))
