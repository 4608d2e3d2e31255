"""Stylized facts of 5-minute price series: the figures that tell crypto-like prices from random walks.

Pure numpy (and pyarrow to read a price table), so the builder's tests and the snapshot report can
both use them. Inputs are a coin's
``bid``, ``ask`` and ``last`` at consecutive 5-minute ticks (any numeric arrays, oldest first); the
figures are the ones :mod:`omc_data.builder.generators.pricemodel` documents its targets for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TICKS_PER_DAY = 288
ABS_LAGS = (1, 12, 288)  # 5 minutes, 1 hour, 1 day
RETURN_LAGS = tuple(range(1, 13))
JUMP_THRESHOLD = 20.0  # a jump: |r| above this many robust standard deviations of its day
VOL_WINDOW = 12  # ticks of the trailing volatility the spread is compared with


def log_returns(last: Any) -> np.ndarray:
    values = np.asarray(last, dtype=np.float64)
    out: np.ndarray = np.diff(np.log(values))
    return out


def kurtosis(r: np.ndarray) -> float:
    """Pearson kurtosis (3 for a normal distribution)."""
    d = r - r.mean()
    var = float(np.mean(d * d))
    return float(np.mean(d**4) / (var * var)) if var > 0 else float("nan")


def acf(x: np.ndarray, lags: Sequence[int]) -> dict[int, float]:
    """Sample autocorrelation at each lag (lags at or beyond the length give nan)."""
    d = x - x.mean()
    denom = float(np.dot(d, d))
    out = {}
    for lag in lags:
        if lag >= len(d) or denom == 0:
            out[lag] = float("nan")
        else:
            out[lag] = float(np.dot(d[:-lag], d[lag:]) / denom)
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    if n < 2:
        return float("nan")
    return float(np.corrcoef(a[-n:], b[-n:])[0, 1])


def daily_volatility(r: np.ndarray) -> float:
    """The standard deviation of daily log returns, from 5-minute returns (whole days only)."""
    days = len(r) // TICKS_PER_DAY
    if days < 2:
        return float(np.std(r) * np.sqrt(TICKS_PER_DAY))
    daily = r[: days * TICKS_PER_DAY].reshape(days, TICKS_PER_DAY).sum(axis=1)
    return float(np.std(daily))


def jump_days(r: np.ndarray, threshold: float = JUMP_THRESHOLD) -> int:
    """Days with a 5-minute return beyond ``threshold`` robust (median-based) sigmas of that day."""
    days = len(r) // TICKS_PER_DAY
    if days == 0:
        return 0
    block = np.abs(r[: days * TICKS_PER_DAY].reshape(days, TICKS_PER_DAY))
    sigma = np.median(block, axis=1) / 0.6745
    return int(np.sum(block.max(axis=1) > threshold * np.maximum(sigma, 1e-12)))


def spread_volatility_correlation(bid: Any, ask: Any, last: Any, window: int = VOL_WINDOW) -> float:
    """Correlation of the relative spread (ask - bid) / last with the trailing mean |r| over ``window``."""
    b, a, p = (np.asarray(x, dtype=np.float64) for x in (bid, ask, last))
    spread = (a - b) / p
    absr = np.abs(log_returns(p))
    if len(absr) <= window:
        return float("nan")
    csum = np.concatenate(([0.0], np.cumsum(absr)))
    trailing = (csum[window:] - csum[:-window]) / window  # mean |r| of ticks i-window+1..i (1-based r)
    return correlation(spread[window:], trailing)


@dataclass(frozen=True)
class CoinFacts:
    kurtosis: float
    abs_acf: dict[int, float]  # lag -> autocorrelation of |r|
    return_acf: dict[int, float]  # lag -> autocorrelation of r
    corr_btc: float | None  # None for btc itself or without btc
    daily_volatility: float
    spread_vol_corr: float | None
    jump_days: int
    days: float

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["abs_acf"] = {str(k): v for k, v in self.abs_acf.items()}
        doc["return_acf"] = {str(k): v for k, v in self.return_acf.items()}
        return doc


def coin_facts(
    last: Any, bid: Any | None = None, ask: Any | None = None, btc_returns: np.ndarray | None = None
) -> CoinFacts:
    r = log_returns(last)
    return CoinFacts(
        kurtosis=kurtosis(r),
        abs_acf=acf(np.abs(r), ABS_LAGS),
        return_acf=acf(r, RETURN_LAGS),
        corr_btc=None if btc_returns is None else correlation(r, btc_returns),
        daily_volatility=daily_volatility(r),
        spread_vol_corr=None if bid is None or ask is None else spread_volatility_correlation(bid, ask, last),
        jump_days=jump_days(r),
        days=len(r) / TICKS_PER_DAY,
    )


def stylized_facts(series: Mapping[str, Mapping[str, Any]]) -> dict[str, CoinFacts]:
    """Facts per coin from ``{coin: {"bid": ..., "ask": ..., "last": ...}}`` (aligned ticks per coin).

    Correlation with BTC is computed over the ticks both share at the end (the series must end at the
    same tick), and left out for ``btc`` itself.
    """
    btc = series.get("btc")
    btc_r = log_returns(btc["last"]) if btc is not None else None
    out = {}
    for key in sorted(series):
        s = series[key]
        out[key] = coin_facts(s["last"], s.get("bid"), s.get("ask"), None if key == "btc" else btc_r)
    return out


def series_from_table(table: pa.Table) -> dict[str, dict[str, np.ndarray]]:
    """``{coin: {"bid", "ask", "last"}}`` as float arrays from ``price_data_5min`` rows (any order; each
    coin's rows sorted by timestamp). Only coins whose ticks are consecutive 5-minute steps are usable."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for key in sorted(pc.unique(table["coin_type"]).to_pylist()):
        rows = table.filter(pc.equal(table["coin_type"], key)).sort_by("timestamp")
        out[key] = {f: rows[f].cast(pa.float64()).to_numpy() for f in ("bid", "ask", "last")}
    return out
