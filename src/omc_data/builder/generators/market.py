"""The market as the app will see it: the ``price_data_5min`` rows this build wrote, per coin.

Backtests replay these prices and trading decisions quote them, so they are read back from the built
table (``World.built``) rather than recomputed: whatever made the prices (a random walk, real ticks
woven in), the rows that reference them agree with what a load puts in the database.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omc_data import catalog
from omc_data.builder.generators.world import World

PRICES = catalog.PRICE_DATA_5MIN.name
UTC = dt.timezone(dt.timedelta(0))  # not dt.UTC: Python 3.10 has none


@dataclass(frozen=True)
class Series:
    """One coin's ticks, oldest first: instants (µs since the epoch, UTC) and ``last`` prices."""

    ticks_us: np.ndarray  # int64
    last: np.ndarray  # float64, as the app's backtester reads them (float(p.last))
    last_exact: pa.Array  # decimal128(20, 8), the column's own values

    def index_at(self, instant: dt.datetime) -> int | None:
        """Index of the latest tick at or before ``instant``; None before the first."""
        us = int(instant.timestamp()) * 1_000_000 + instant.microsecond
        i = int(np.searchsorted(self.ticks_us, us, side="right")) - 1
        return None if i < 0 else i

    def window(self, start: dt.datetime, end: dt.datetime) -> slice:
        """The ticks with start <= timestamp <= end."""
        lo = int(start.timestamp()) * 1_000_000 + start.microsecond
        hi = int(end.timestamp()) * 1_000_000 + end.microsecond
        first = int(np.searchsorted(self.ticks_us, lo, side="left"))
        return slice(first, int(np.searchsorted(self.ticks_us, hi, side="right")))

    def exact(self, i: int) -> decimal.Decimal:
        value = self.last_exact[i].as_py()
        if not isinstance(value, decimal.Decimal):
            raise ValueError("a price tick without a last price")
        return value

    def instant(self, i: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(self.ticks_us[i]) / 1_000_000, tz=UTC)

    @functools.cached_property
    def stamps(self) -> np.ndarray:
        """Every tick as the app's backtester prints it (``str`` of a pandas UTC timestamp)."""
        instants = pa.array(self.ticks_us // 1_000_000, pa.int64()).cast(pa.timestamp("s"))  # UTC, naive
        text = pc.strftime(instants, format="%Y-%m-%d %H:%M:%S+00:00")
        return np.array(text.to_pylist(), dtype=object)


def _as_floats(prices: pa.Array) -> np.ndarray:
    """decimal128(20, 8) values as the nearest floats, as Python's ``float(Decimal)`` gives them.

    Arrow's own cast scales in floating point and can land one float off (3.6845817100000002 for
    3.68458171); the unscaled integer (exact below 2**53) divided by 1e8 is correctly rounded.
    """
    scale = prices.type.scale
    words = np.frombuffer(prices.buffers()[1], dtype="<i8").reshape(-1, 2)[prices.offset :][: len(prices)]
    low, high = words[:, 0], words[:, 1]
    if not np.array_equal(high, np.where(low < 0, -1, 0)) or np.abs(low).max(initial=0) >= 2**53:
        return np.array([float(v) for v in prices.to_pylist()])  # beyond exact float integers: rare
    return low.astype(np.float64) / float(10**scale)


def series(world: World) -> dict[str, Series]:
    """Every coin of the built price table (Coinspot keys, lower case) with its ticks that have a last.

    Read once per build: call it as ``world.get(market.series)``."""
    files = world.built(PRICES)
    if not files:
        return {}
    columns = ["coin_type", "timestamp", "last"]
    table = pa.concat_tables([pq.ParquetFile(f).read(columns=columns) for f in files])
    table = table.filter(pc.is_valid(table.column("last")))
    table = table.sort_by([("coin_type", "ascending"), ("timestamp", "ascending")])
    out: dict[str, Series] = {}
    coins = table.column("coin_type").to_numpy(zero_copy_only=False)
    if len(coins) == 0:
        return out
    ticks = table.column("timestamp").cast(pa.int64()).to_numpy()
    last = table.column("last").combine_chunks()
    floats = _as_floats(last)
    bounds = np.flatnonzero(coins[1:] != coins[:-1]) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(coins)]
    for a, b in zip(starts, ends, strict=True):
        out[str(coins[a])] = Series(ticks[a:b].copy(), floats[a:b].copy(), last.slice(a, b - a))
    return out
