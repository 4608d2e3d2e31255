"""One ``omc-data collect`` run: fetch what is due and file it in the collection.

Each source's ``schedule`` policy says when it is due: ``every_run`` sources (Coinspot: each run is one
more real tick) are filed every run; ``daily`` ones (DeFiLlama) at most once per UTC day; ``new_items``
ones (CryptoPanic) only items newer than the newest already held: paging stops at the first page that
reaches a held item, and the filed pages keep only the new items. Runs may overlap: the decisions of the
``daily`` and ``new_items`` sources are taken under the collection's lock, and a run that finds a source
locked leaves it to the other run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omc_data.builder import sources as registry
from omc_data.builder.fetch.collection import Collection
from omc_data.builder.live import CollectRequest, SourceFetch, collect
from omc_data.builder.sources.model import Incremental

log = logging.getLogger(__name__)


@dataclass
class Filed:
    """What one run did for one source."""

    source: str
    outcome: str  # collected | skipped | degraded
    reason: str | None = None
    files: list[str] = field(default_factory=list)  # relative to the collection
    http_status: int | None = None
    new_posts: int | None = None  # new_items sources only: the new items filed

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
    watermarks: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        due = []
        for name in request.sources:
            source = registry.source(name)
            if source.schedule == "every_run":
                due.append(name)
                continue
            if not stack.enter_context(collection.locked(name)):
                out[name] = Filed(name, "skipped", "another collect run is filing it right now")
            elif source.schedule == "daily" and collection.has_day(name, now.date()):
                out[name] = Filed(name, "skipped", f"already collected on {now.date()} (at most daily)")
            else:
                due.append(name)
        for name in request.sources:
            incremental = registry.source(name).incremental
            newest = collection.state(name).get(incremental.state_key) if incremental else None
            if isinstance(newest, int):
                watermarks[name] = newest
        fetches = collect(dataclasses.replace(request, sources=tuple(due), watermarks=watermarks))
        for name, fetch in fetches.items():
            out[name] = _file(collection, fetch, watermarks.get(name))
    return {s: out[s] for s in request.sources}


def _file(collection: Collection, fetch: SourceFetch, watermark: int | None) -> Filed:
    filed = Filed(fetch.source, fetch.outcome, fetch.reason, http_status=fetch.http_status)
    if fetch.outcome != "collected":
        return filed
    incremental = registry.source(fetch.source).incremental
    if incremental is None:
        filed.files = [_rel(collection, collection.add(r)) for r in fetch.responses]
        return filed
    return _file_new(collection, fetch, incremental, watermark, filed)


def _file_new(
    collection: Collection, fetch: SourceFetch, incremental: Incremental, watermark: int | None, filed: Filed
) -> Filed:
    """File only the items newer than ``watermark``; move the watermark when every page arrived."""
    seen: set[int] = set()
    ids: list[int] = [] if watermark is None else [watermark]
    filed.new_posts = 0
    for page in fetch.responses:
        fresh, count = incremental.keep_new(page, watermark, seen)
        if count:
            filed.files.append(_rel(collection, collection.add(fresh)))
            filed.new_posts += count
    ids.extend(seen)
    # A page failed: the items between the last page read and the watermark were never seen. Keep the
    # watermark, so the next run pages down to it again (the builds deduplicate posts by URL).
    if ids and max(ids) != watermark and not fetch.incomplete:
        collection.set_state(fetch.source, {incremental.state_key: max(ids)})
    return filed


def _rel(collection: Collection, path: Path) -> str:
    return str(path.relative_to(collection.root))
