"""``price_data_5min``: a stochastic-volatility market model (:mod:`.pricemodel`), vectorised with numpy.

``--days D`` of 5-minute ticks ending at the ``as_of`` tick, for the first ``--coins C`` coins of the
ranked list. Fat tails, volatility clustering, a shared market factor, jumps and spreads that widen
with volatility come from the model; each coin's prices depend only on (seed, coin, tick), so more
coins or more days change no existing price. Prices are built in integer units of 1e-8 (the column's
scale), so bid < ask and bid <= last <= ask hold exactly after rounding. Rows come out sorted by
(coin_type, timestamp), one record batch per coin: memory stays flat whatever the size.

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
from omc_data.builder.generators import pricemodel
from omc_data.builder.generators.coins import Coin, top_coins
from omc_data.builder.generators.spec import TICK, TICKS_PER_DAY, Spec
from omc_data.builder.generators.world import Quote, World
from omc_data.snapshots.arrowschema import arrow_schema

TABLE = catalog.PRICE_DATA_5MIN
SCALE = 10**8
_PRICE_TYPE = pa.decimal128(20, 8)
Path3 = tuple[np.ndarray, np.ndarray, np.ndarray]  # bid, ask, last per tick, units of 1e-8


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


def _units(mid: np.ndarray, spread: np.ndarray, offset: np.ndarray) -> Path3:
    """bid, ask, last as int64 units of 1e-8 AUD from mid prices, relative spreads and log offsets."""
    units = mid * SCALE
    bid = np.maximum(np.floor(units * (1 - spread / 2)), 1).astype(np.int64)
    ask = np.maximum(np.ceil(units * (1 + spread / 2)).astype(np.int64), bid + 1)
    last = np.clip(np.round(units * (1.0 + offset)).astype(np.int64), bid, ask)
    return bid, ask, last


class Model:
    """The price model over one build's window: the market factor is drawn once, coins one at a time."""

    def __init__(self, spec: Spec, calibration: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.spec = spec
        n = tick_count(spec)
        last = int(spec.as_of_tick.timestamp()) // pricemodel.TICK_SECONDS
        first = last - n + 1
        start = (first // TICKS_PER_DAY) * TICKS_PER_DAY - pricemodel.burn_in(pricemodel.DEFAULTS)
        end = (last // TICKS_PER_DAY + 1) * TICKS_PER_DAY
        self.keep = slice(first - start, first - start + n)
        self._ticks = np.arange(start, end, dtype=np.int64)
        self._market: pricemodel.Market | None = None
        ranked = [(c.key, c.price, c.volatility, rank) for rank, c in enumerate(top_coins(spec.coins))]
        self.coins = pricemodel.coin_models(spec.seed, ranked, calibration)

    def path(self, key: str) -> Path3:
        """bid, ask, last of coin ``key`` at every tick of the window."""
        if self._market is None:
            self._market = pricemodel.market(self.spec.seed, self._ticks)
        coin = self.coins[key]
        path = pricemodel.coin_ticks(self.spec.seed, coin, self._market, keep=self.keep)
        return _units(pricemodel.mid_prices(path, coin.anchor), path.spread, path.offset)


def _decimal(units: np.ndarray) -> pa.Array:
    return pa.array(units, pa.int64()).cast(pa.decimal128(20, 0)).view(_PRICE_TYPE)


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

    def __init__(
        self,
        spec: Spec,
        real: Mapping[str, Mapping[int, Quote]] | None = None,
        calibration: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.spec = spec
        self.coins = coins(spec)
        self.keys = tuple(c.key for c in self.coins)
        self.first_us = int(spec.first_tick.timestamp()) * 1_000_000
        self.step_us = int(TICK.total_seconds()) * 1_000_000
        self.real = real or {}
        self.model = Model(spec, calibration)
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
        return anchored(self.model.path(coin.key), self.real_ticks(coin.key))

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
    return History(world.spec, world.real.prices, world.real.calibration)


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
