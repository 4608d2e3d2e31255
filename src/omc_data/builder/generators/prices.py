"""``price_data_5min``: geometric random walks, one stream per coin, vectorised with numpy.

``--days D`` of 5-minute ticks ending at the ``as_of`` tick, for the first ``--coins C`` coins of the
ranked list. Prices are built in integer units of 1e-8 (the column's scale), so bid < ask and
bid <= last <= ask hold exactly after rounding. Rows come out sorted by (coin_type, timestamp), one
record batch per coin: memory stays flat whatever the size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators.coins import Coin, top_coins
from omc_data.builder.generators.spec import TICK, TICKS_PER_DAY, Spec
from omc_data.builder.generators.streams import np_rng
from omc_data.builder.generators.world import World
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


class History:
    """The price history as other tables see it: which coins, which ticks, and each coin's ``last``."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.coins = coins(spec)
        self.keys = tuple(c.key for c in self.coins)
        self.first_us = int(spec.first_tick.timestamp()) * 1_000_000
        self._last: dict[str, np.ndarray] = {}

    def last_units(self, key: str) -> np.ndarray:
        """``last`` at every tick of coin ``key``, in units of 1e-8 AUD (computed once per build)."""
        if key not in self._last:
            (coin,) = [c for c in self.coins if c.key == key]
            self._last[key] = coin_path(self.spec, coin)[2]
        return self._last[key]

    def last_at(self, key: str, instant: dt.datetime) -> int:
        """``last`` of the latest tick at or before ``instant`` (which must lie inside the history)."""
        step_us = int(TICK.total_seconds()) * 1_000_000
        offset = int(instant.timestamp() * 1_000_000) - self.first_us
        if offset < 0:
            raise ValueError(f"{instant} lies before the price history")
        return int(self.last_units(key)[offset // step_us])


def history(world: World) -> History:
    return History(world.spec)


def generate(world: World, *, first_id: int = 1) -> Iterator[pa.RecordBatch]:
    spec = world.spec
    schema = arrow_schema(TABLE)
    stamps = pa.array(timestamps_us(spec), pa.timestamp("us", tz="UTC"))
    n = len(stamps)
    next_id = first_id
    for coin in coins(spec):
        bid, ask, last = coin_path(spec, coin)
        ids = np.arange(next_id, next_id + n, dtype=np.int32)
        next_id += n
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(ids, pa.int32()),
                pa.repeat(pa.scalar(coin.key, pa.string()), n),
                _decimal(bid),
                _decimal(ask),
                _decimal(last),
                stamps,
                stamps,
            ],
            schema=schema,
        )
