"""The store's collection as a build and ``omc-data collect`` use it: what is there, what is due, pruning.

A ``--from-collected`` build reads every chosen source's files inside its window, as if a fetch had just
returned them; its default ``as_of`` is the latest fetch of the sources that lead it (Coinspot's ticks).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from omc_data.builder import sources as registry
from omc_data.builder.fetch.collection import Collection, PruneReport
from omc_data.builder.generators.spec import Spec
from omc_data.builder.live import CollectRequest, SourceFetch
from omc_data.builder.realdata import window
from omc_data.builder.schedule import Filed, collect_into
from omc_data.errors import UsageError


def latest_tick(store_root: Path, sources: Sequence[str]) -> dt.datetime:
    """The latest fetch among the chosen sources' collected responses (the leading sources' when chosen)."""
    collection = Collection.of_store(store_root)
    leading = [s for s in sources if registry.source(s).leads_as_of] or list(sources)
    latest = max((t for s in leading if (t := collection.latest(s)) is not None), default=None)
    if latest is None:
        raise UsageError(
            f"nothing collected for {', '.join(leading)} under {store_root}",
            hint="run 'omc-data collect' (e.g. from cron every 5 minutes) before 'build --from-collected'",
        )
    return latest


def fetches(store_root: Path, spec: Spec, sources: Sequence[str]) -> dict[str, SourceFetch]:
    """Every chosen source's collected responses inside the build's window, as a fetch would give them."""
    collection = Collection.of_store(store_root)
    lo, hi = window(spec)
    out: dict[str, SourceFetch] = {}
    for source in sources:
        responses, problems = collection.responses(source, since=lo, until=hi)
        note = f"{len(problems)} unreadable files skipped (first: {problems[0]})" if problems else None
        if not responses:
            where = str(collection.root / source)
            if collection.latest(source) is None:  # never collected (e.g. no token): not a failure
                out[source] = SourceFetch(source, "skipped", where, reason="nothing collected for it yet")
                continue
            reason = f"nothing collected between {lo:%Y-%m-%d %H:%M} and {hi:%Y-%m-%d %H:%M} UTC"
            out[source] = SourceFetch(source, "degraded", where, reason=reason)
            continue
        latest = responses[-1]
        out[source] = SourceFetch(
            source, "collected", latest.url, responses, reason=note, http_status=latest.status
        )
    return out


def collect_once(store_root: Path, request: CollectRequest, sources: Sequence[str]) -> dict[str, Filed]:
    """Fetch what is due of ``sources`` once and file it under the store's collection."""
    return collect_into(Collection.of_store(store_root), dataclasses.replace(request, sources=tuple(sources)))


def prune(
    store_root: Path,
    *,
    now: dt.datetime,
    keep_days: int | None,
    max_bytes: int | None,
    dry_run: bool,
) -> PruneReport:
    """Bound every source's files: drop those older than ``keep_days``, then the oldest beyond
    ``max_bytes``."""
    return Collection.of_store(store_root).prune(
        registry.names(), now=now, keep_days=keep_days, max_bytes=max_bytes, dry_run=dry_run
    )
