"""``build --calibrate``: fit each coin's volatility level and spread from collected Coinspot ticks.

The store's collection (``omc-data collect``, one Coinspot price list per fetch) gives, per coin, quotes
at 5-minute ticks. For each coin with enough of them:

- ``volatility``: the annualised standard deviation of the mid price's log returns between collected
  ticks, each return divided by the square root of its gap in ticks (gaps up to a day count), so a
  missed fetch does not inflate it. The mid, not ``last``, keeps the bid-ask bounce out.
- ``spread``: the median of (ask - bid) / mid.

The fitted values replace the price model's defaults (:mod:`omc_data.builder.generators.pricemodel`:
levels from published figures) for that coin, and the manifest records them under
``inputs.calibration``. Without collected ticks the defaults stay, and the manifest says so.

Only :func:`collected_quotes` reads the collection; :func:`fit` is pure.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.pricemodel import TICK_SECONDS, TICKS_PER_DAY, TICKS_PER_YEAR
from omc_data.builder.generators.spec import Spec, floor_tick

Quote = tuple[int, int, int]  # bid, ask, last in units of 1e-8
LOOKBACK = dt.timedelta(days=90)  # collected ticks older than this before as_of are not read
MIN_RETURNS = 24  # fewer usable returns than this: the coin keeps its defaults
MAX_GAP = TICKS_PER_DAY  # returns across longer gaps are left out
VOLATILITY_RANGE = (0.01, 5.0)  # annualised; fits outside are clipped
SPREAD_RANGE = (1e-6, 0.2)


@dataclass(frozen=True)
class Calibration:
    """Fitted parameters per coin (what the price model reads) and the manifest's record of them."""

    coins: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    record: Mapping[str, Any] = field(default_factory=dict)


def _round(x: float) -> float:
    """Six significant digits: the manifest and the model read the very same number."""
    return float(f"{x:.6g}")


def fit(quotes: Mapping[str, Mapping[int, Quote]]) -> dict[str, dict[str, float]]:
    """``{coin: {"volatility": v, "spread": s, "returns": n, "ticks": m}}`` from quotes by absolute tick
    index (Unix seconds / 300); coins with fewer than ``MIN_RETURNS`` usable returns are left out."""
    out: dict[str, dict[str, float]] = {}
    for coin in sorted(quotes):
        ticks = np.array(sorted(quotes[coin]), dtype=np.int64)
        q = np.array([quotes[coin][t] for t in ticks], dtype=np.float64).reshape(-1, 3)
        bid, ask = q[:, 0], q[:, 1]
        ok = (bid > 0) & (ask >= bid)
        ticks, bid, ask = ticks[ok], bid[ok], ask[ok]
        if len(ticks) < 2:
            continue
        mid = (bid + ask) / 2.0
        gaps = np.diff(ticks)
        usable = (gaps >= 1) & (gaps <= MAX_GAP)
        returns = np.diff(np.log(mid))[usable] / np.sqrt(gaps[usable])
        if len(returns) < MIN_RETURNS:
            continue
        vol = float(np.sqrt(np.mean(returns * returns)) * math.sqrt(TICKS_PER_YEAR))
        spread = float(np.median((ask - bid) / mid))
        out[coin] = {
            "volatility": _round(min(max(vol, VOLATILITY_RANGE[0]), VOLATILITY_RANGE[1])),
            "spread": _round(min(max(spread, SPREAD_RANGE[0]), SPREAD_RANGE[1])),
            "returns": len(returns),
            "ticks": len(ticks),
        }
    return out


def collected_quotes(store_root: Path, spec: Spec) -> tuple[dict[str, dict[int, Quote]], int]:
    """Coinspot quotes collected under ``store_root`` in the lookback before as_of, by coin and absolute
    tick, and how many responses they came from (the first quote of a coin at a tick wins)."""
    from omc_data.builder.fetch.collection import Collection
    from omc_data.builder.sources import coinspot
    from omc_data.builder.sources.counts import SourceCounts

    until = spec.as_of_tick + dt.timedelta(seconds=TICK_SECONDS)
    responses, _ = Collection.of_store(store_root).responses(
        "coinspot", since=spec.as_of_tick - LOOKBACK, until=until
    )
    out: dict[str, dict[int, Quote]] = {}
    used = 0
    for response in responses:  # oldest first
        try:
            quotes = coinspot.parse_latest(response, SourceCounts())
        except ValueError:
            continue  # an error body: nothing to fit
        used += 1
        tick = int(floor_tick(response.fetched_at).timestamp()) // TICK_SECONDS
        for coin, quote in quotes.items():
            out.setdefault(coin, {}).setdefault(tick, quote)
    return out, used


def calibrate(store_root: Path, spec: Spec) -> Calibration:
    """The fitted parameters of the history coins from the store's collection (defaults without it)."""
    history = {c.key for c in top_coins(spec.coins)}
    quotes, responses = collected_quotes(store_root, spec)
    fitted = fit({k: q for k, q in quotes.items() if k in history})
    record: dict[str, Any] = {
        "source": "collected coinspot ticks" if fitted else "published defaults",
        "responses": responses,
        "lookback_days": LOOKBACK.days,
        "coins": fitted,
    }
    if not fitted:
        record["reason"] = (
            "no collected Coinspot ticks in the lookback"
            if responses == 0
            else f"fewer than {MIN_RETURNS} usable returns for every history coin"
        )
    params = {k: {"volatility": v["volatility"], "spread": v["spread"]} for k, v in fitted.items()}
    return Calibration(coins=params, record=record)
