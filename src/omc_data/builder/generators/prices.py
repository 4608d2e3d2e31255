"""``price_data_5min``: geometric random walks, one stream per coin, vectorised with numpy.

``--days D`` of 5-minute ticks ending at the ``as_of`` tick, for the first ``--coins C`` coins of the
ranked list. Prices are built in integer units of 1e-8 (the column's scale), so bid < ask and
bid <= last <= ask hold exactly after rounding. Rows come out sorted by (coin_type, timestamp), one
record batch per coin: memory stays flat whatever the size.

Real Coinspot ticks (``World.real.prices``) are woven in: a history coin's walk is scaled so that it
passes through every real tick of that coin (the log of the scale is interpolated between real ticks and
held beyond the first and the last), and the real rows replace the walk's rows at those ticks. With one
real tick at ``as_of`` the synthetic history simply ends at the real price. A collected coin outside the
history keeps its real rows only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping

import numpy as np
import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators.coins import Coin, top_coins
from omc_data.builder.generators.spec import TICK, TICKS_PER_DAY, Spec
from omc_data.builder.generators.streams import np_rng
from omc_data.builder.generators.world import Quote, World
from omc_data.snapshots.arrowschema import arrow_schema

TABLE = catalog.PRICE_DATA_5MIN
SCALE = 10**8
_YEAR_TICKS = 365 * TICKS_PER_DAY
_PRICE_TYPE = pa.decimal128(20, 8)


def tick_count(spec: Spec) -> int:
    return spec.days * TICKS_PER_DAY


def coins(spec: Spec) -> list[Coin]:
    """The history coins, in key order (the order rows are written in)."""
    return sorted(top_coins(spec.coins), key=lambda c: c.key)


def timestamps_us(spec: Spec) -> np.ndarray:
    """Tick instants (microseconds since the epoch, UTC), oldest first, the last one at as_of."""
    end = int(spec.as_of_tick.timestamp()) * 1_000_000
    step = int(TICK.total_seconds()) * 1_000_000
    n = tick_count(spec)
    return end - step * np.arange(n - 1, -1, -1, dtype=np.int64)


def coin_path(spec: Spec, coin: Coin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """bid, ask, last for one coin as int64 units of 1e-8 AUD."""
    n = tick_count(spec)
    g = np_rng(spec.seed, TABLE.name, coin.key)
    vol = coin.volatility * g.uniform(0.8, 1.2)
    drift = g.normal(0.0, 0.3)
    sigma = vol / np.sqrt(_YEAR_TICKS)
    steps = g.normal((drift - 0.5 * vol * vol) / _YEAR_TICKS, sigma, n)
    start = coin.price * g.uniform(0.85, 1.15)
    mid = start * np.exp(np.cumsum(steps) - steps[0])
    spread = g.uniform(0.0008, 0.012) * np.exp(g.normal(0.0, 0.25, n))
    units = mid * SCALE
    bid = np.maximum(np.floor(units * (1 - spread / 2)), 1).astype(np.int64)
    ask = np.maximum(np.ceil(units * (1 + spread / 2)).astype(np.int64), bid + 1)
    last = bid + np.floor(g.uniform(0.0, 1.0, n) * (ask - bid + 1)).astype(np.int64)
    return bid, ask, np.minimum(last, ask)


def _decimal(units: np.ndarray) -> pa.Array:
    return pa.array(units, pa.int64()).cast(pa.decimal128(20, 0)).view(_PRICE_TYPE)


Path3 = tuple[np.ndarray, np.ndarray, np.ndarray]  # bid, ask, last per tick, units of 1e-8


def anchored(path: Path3, real: Mapping[int, Quote]) -> Path3:
    """``path`` (bid, ask, last per tick) scaled through the real quotes, which replace their ticks.

    ``real`` maps tick indexes to quotes. The scale at a real tick is real last / walk last; between real
    ticks its logarithm is interpolated, so the walk keeps its shape and meets every real tick.
    """
    bid, ask, last = path
    if not real:
        return bid, ask, last
    index = np.array(sorted(real), dtype=np.int64)
    quotes = np.array([real[i] for i in index], dtype=np.int64).reshape(-1, 3)
    usable = quotes[:, 2] > 0  # a zero last cannot scale anything: the real row is still kept
    if usable.any():
        logs = np.log(quotes[usable, 2].astype(np.float64) / last[index[usable]].astype(np.float64))
        factor = np.exp(np.interp(np.arange(len(last)), index[usable], logs))
        bid = np.maximum(np.floor(bid * factor), 1).astype(np.int64)
        ask = np.maximum(np.ceil(ask * factor).astype(np.int64), bid + 1)
        last = np.clip(np.round(last * factor).astype(np.int64), bid, ask)
    bid, ask, last = bid.copy(), ask.copy(), last.copy()
    bid[index], ask[index], last[index] = quotes[:, 0], quotes[:, 1], quotes[:, 2]
    return bid, ask, last


class History:
    """The price history as other tables see it: which coins, which ticks, and each coin's ``last``."""

    def __init__(self, spec: Spec, real: Mapping[str, Mapping[int, Quote]] | None = None) -> None:
        self.spec = spec
        self.coins = coins(spec)
        self.keys = tuple(c.key for c in self.coins)
        self.first_us = int(spec.first_tick.timestamp()) * 1_000_000
        self.step_us = int(TICK.total_seconds()) * 1_000_000
        self.real = real or {}
        self._last: dict[str, np.ndarray] = {}

    def real_ticks(self, key: str) -> dict[int, Quote]:
        """Coin ``key``'s real quotes inside the history window, by tick index."""
        n = tick_count(self.spec)
        out = {}
        for stamp, quote in self.real.get(key, {}).items():
            offset, rest = divmod(stamp - self.first_us, self.step_us)
            if rest == 0 and 0 <= offset < n:
                out[offset] = quote
        return out

    def path(self, coin: Coin) -> Path3:
        """bid, ask, last of a history coin at every tick, through its real ticks."""
        return anchored(coin_path(self.spec, coin), self.real_ticks(coin.key))

    def last_units(self, key: str) -> np.ndarray:
        """``last`` at every tick of coin ``key``, in units of 1e-8 AUD (computed once per build)."""
        if key not in self._last:
            (coin,) = [c for c in self.coins if c.key == key]
            self._last[key] = self.path(coin)[2]
        return self._last[key]

    def last_at(self, key: str, instant: dt.datetime) -> int:
        """``last`` of the latest tick at or before ``instant`` (which must lie inside the history)."""
        offset = int(instant.timestamp() * 1_000_000) - self.first_us
        if offset < 0:
            raise ValueError(f"{instant} lies before the price history")
        return int(self.last_units(key)[offset // self.step_us])


def history(world: World) -> History:
    return History(world.spec, world.real.prices)


def _batch(schema: pa.Schema, ids: np.ndarray, key: str, stamps: pa.Array, path: Path3) -> pa.RecordBatch:
    n = len(ids)
    bid, ask, last = path
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.int32()),
            pa.repeat(pa.scalar(key, pa.string()), n),
            _decimal(bid),
            _decimal(ask),
            _decimal(last),
            stamps,
            stamps,
        ],
        schema=schema,
    )


def generate(world: World, *, first_id: int = 1) -> Iterator[pa.RecordBatch]:
    """The history coins' walks (through their real ticks) and every other collected coin's real rows."""
    schema = arrow_schema(TABLE)
    all_stamps = timestamps_us(world.spec)
    hist = world.get(history)
    walks = {c.key: c for c in hist.coins} if world.real.synthetic else {}
    next_id = first_id
    for key in sorted(set(walks) | set(world.real.prices)):
        if key in walks:
            path = hist.path(walks[key])
            stamps = all_stamps
        else:  # real rows only
            ticks = hist.real_ticks(key)
            if not ticks:
                continue
            order = sorted(ticks)
            quotes = np.array([ticks[i] for i in order], dtype=np.int64).reshape(-1, 3)
            path = (quotes[:, 0], quotes[:, 1], quotes[:, 2])
            stamps = all_stamps[np.array(order, dtype=np.int64)]
        ids = np.arange(next_id, next_id + len(stamps), dtype=np.int32)
        next_id += len(stamps)
        yield _batch(schema, ids, key, pa.array(stamps, pa.timestamp("us", tz="UTC")), path)
