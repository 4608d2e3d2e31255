"""From collected responses to the rows a build weaves in, and the manifest's record of each source.

The same code runs whether the responses were fetched a second ago (``live``), filed by ``omc-data
collect`` (``collected``) or read back from another snapshot's ``raw/`` (a replay of either): a build's
tables depend only on the responses and the spec, which is what makes a replay byte-identical.

- ``live``: one Coinspot response, stamped at the build's ``as_of`` tick.
- ``collected``: every Coinspot response is stamped at its own fetch tick (its fetch time floored to 5
  minutes); a (coin, tick) seen twice keeps the earliest fetch; ticks outside the history window are left
  out and counted; the history coins' ticks with no real quote are synthetic, listed as ``gaps``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omc_data.builder.collectors import coinspot, cryptopanic, defillama
from omc_data.builder.collectors.counts import SourceCounts
from omc_data.builder.collectors.live import SourceFetch
from omc_data.builder.collectors.raw import SOURCES, RawResponse
from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.prices import History, tick_count
from omc_data.builder.generators.spec import TICK, Spec, floor_tick
from omc_data.builder.generators.world import Quote, RealData
from omc_data.snapshots.timefmt import format_timestamp

LIVE = "live"
COLLECTED = "collected"
MODES = (LIVE, COLLECTED)
TABLES = {
    "coinspot": "price_data_5min",
    "defillama": "protocol_fundamentals",
    "cryptopanic": "news_sentiment",
}
REAL_OUTCOMES = ("collected", "replayed")  # the source's rows are real
MAX_UNITS = 2**63 - 1  # int64 units of 1e-8: 92 billion AUD, far beyond any coin
# A history coin's walk is scaled through its real ticks, and its orders are priced from them: a quote
# below 1e-5 AUD cannot hold a price within 2% at 8 decimals, one above 1e8 AUD would overflow the
# walk. Such a quote is left out of the history (counted); a coin without a history keeps it.
HISTORY_UNITS = (1_000, 10**16)
MAX_GAP_GROUPS = 50


@dataclass(frozen=True)
class RealInputs:
    """The collected side of a build: what happened to every source, and the responses that came back."""

    mode: str  # live | collected
    # every source, whatever its outcome; or a callable giving them (a live fetch running meanwhile)
    pending: Mapping[str, SourceFetch] | Callable[[], Mapping[str, SourceFetch]]
    synthetic: bool = True  # False: --no-synthetic, only the collected tables
    require: bool = False  # --require-real-data: any degraded or skipped source fails the build
    replay_of: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown real-data mode {self.mode!r}")

    @functools.cached_property
    def fetches(self) -> Mapping[str, SourceFetch]:
        """Every source's fetch, waiting for it on first use when it is still running."""
        return self.pending() if callable(self.pending) else self.pending

    def responses(self, source: str) -> list[RawResponse]:
        fetch = self.fetches.get(source)
        if fetch is None or fetch.outcome not in REAL_OUTCOMES:
            return []
        return sorted(fetch.responses, key=lambda r: r.fetched_at)

    @property
    def real_sources(self) -> list[str]:
        return [s for s in SOURCES if self.responses(s)]

    def manifest_inputs(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sources": [s for s in SOURCES if s in self.fetches and self.fetches[s].outcome != "synthetic"],
            "synthetic": self.synthetic,
            "require_real_data": self.require,
            "replay_of": self.replay_of,
        }


@dataclass
class Assembled:
    real: RealData
    counts: dict[str, SourceCounts] = field(default_factory=dict)
    gaps: list[dict[str, Any]] = field(default_factory=list)
    gap_ticks: int = 0


def window(spec: Spec) -> tuple[dt.datetime, dt.datetime]:
    """Fetches that belong to a ``collected`` build: from the first tick to the end of the as_of tick."""
    return spec.first_tick, spec.as_of_tick + TICK


def _in_window(spec: Spec, responses: Sequence[RawResponse]) -> list[RawResponse]:
    lo, hi = window(spec)
    return [r for r in responses if lo <= r.fetched_at < hi]


def assemble(spec: Spec, inputs: RealInputs) -> Assembled:
    """Parse every real source's responses into the rows the generators weave in, counting what is left."""
    out = Assembled(RealData(synthetic=inputs.synthetic))
    prices: dict[str, dict[int, Quote]] = {}
    news: list[dict[str, Any]] | None = None
    protocols: list[dict[str, Any]] | None = None
    collected = inputs.mode == COLLECTED
    for source in inputs.real_sources:
        counts = out.counts[source] = SourceCounts()
        responses = inputs.responses(source)
        if collected:
            kept = _in_window(spec, responses)
            if len(kept) < len(responses):
                counts.skip("response fetched outside the build window", len(responses) - len(kept))
            responses = kept
        if source == "coinspot":
            prices = _prices(spec, responses, counts, stamp_at_fetch=collected)
        elif source == "defillama":
            protocols = defillama.parse_protocols(responses, top=spec.protocols, counts=counts)
        else:
            newest_first = (
                sorted(responses, key=lambda r: r.fetched_at, reverse=True) if collected else responses
            )
            news = cryptopanic.parse_posts(newest_first, limit=spec.news, counts=counts)
    out.real = RealData(prices=prices, protocols=protocols, news=news, synthetic=inputs.synthetic)
    if collected and inputs.synthetic and "coinspot" in out.counts:
        out.gaps, out.gap_ticks = _gaps(spec, prices)
    return out


def _prices(
    spec: Spec, responses: Sequence[RawResponse], counts: SourceCounts, *, stamp_at_fetch: bool
) -> dict[str, dict[int, Quote]]:
    prices: dict[str, dict[int, Quote]] = {}
    lo = spec.first_tick
    history = {c.key for c in top_coins(spec.coins)}
    for response in responses:  # oldest fetch first: a (coin, tick) seen again keeps the first
        tick = floor_tick(response.fetched_at) if stamp_at_fetch else spec.as_of_tick
        quotes = coinspot.parse_latest(response, counts)
        if not lo <= tick <= spec.as_of_tick:
            counts.skip("tick outside the history window", len(quotes))
            continue
        stamp = int(tick.timestamp()) * 1_000_000
        for coin, quote in quotes.items():
            if max(quote) > MAX_UNITS:
                counts.skip("price beyond 92 billion AUD")
            elif coin in history and not HISTORY_UNITS[0] <= quote[2] <= HISTORY_UNITS[1]:
                counts.skip("history coin's last price outside 0.00001..100,000,000 AUD")
            elif stamp in prices.setdefault(coin, {}):
                counts.skip("second quote for the same coin and tick")
            else:
                prices[coin][stamp] = quote
    counts.rows = sum(len(t) for t in prices.values())
    return {coin: ticks for coin, ticks in prices.items() if ticks}


def _gaps(spec: Spec, prices: Mapping[str, Mapping[int, Quote]]) -> tuple[list[dict[str, Any]], int]:
    """The history coins' ticks with no real quote (filled by the walk), as ranges grouped by coins."""
    history = History(spec, prices)
    groups: dict[tuple[tuple[int, int], ...], list[str]] = {}
    total = 0
    for coin in sorted(history.keys):
        present = np.zeros(tick_count(spec), dtype=bool)
        present[list(history.real_ticks(coin))] = True
        missing = np.flatnonzero(~present)
        total += len(missing)
        if not len(missing):
            continue
        breaks = np.flatnonzero(np.diff(missing) != 1)
        starts = np.concatenate([[missing[0]], missing[breaks + 1]])
        ends = np.concatenate([missing[breaks], [missing[-1]]])
        groups.setdefault(tuple(zip(starts.tolist(), ends.tolist(), strict=True)), []).append(coin)

    def at(index: int) -> str:
        return format_timestamp(spec.first_tick + TICK * index)

    out = [
        {
            "coins": coins,
            "ticks": sum(e - s + 1 for s, e in ranges),
            "ranges": [{"from": at(s), "to": at(e), "ticks": e - s + 1} for s, e in ranges[:MAX_GAP_GROUPS]],
            **({"more_ranges": len(ranges) - MAX_GAP_GROUPS} if len(ranges) > MAX_GAP_GROUPS else {}),
        }
        for ranges, coins in sorted(groups.items(), key=lambda kv: kv[1])
    ]
    return out, total
