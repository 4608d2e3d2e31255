"""The naive baseline of the build benchmarks: ``price_data_5min`` rows made one at a time.

    python bench/naive_build.py ROWS OUT.parquet [--coins N] [--seed S]

What a straightforward generator does: a Python ``random.gauss`` walk per coin, one ``dict`` per row
with ``decimal.Decimal`` prices and ``datetime`` instants, a Faker call per row (``created_at``, a
moment within the tick's 5 minutes), then ``pa.Table.from_pylist`` and a zstd Parquet file with the
table's column types. Same columns and types as omc-data's ``price_data_5min``, no numpy, no batches:
every row lives in memory until the write, so the benchmarks run it on a sample and scale its time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from faker import Faker

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
TICK = dt.timedelta(minutes=5)
TICKS_PER_YEAR = 365 * 288
CENT = Decimal("0.00000001")  # numeric(20, 8)
PRICE = pa.decimal128(20, 8)
INSTANT = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int32(), nullable=False),
        pa.field("coin_type", pa.string(), nullable=False),
        pa.field("bid", PRICE),
        pa.field("ask", PRICE),
        pa.field("last", PRICE),
        pa.field("timestamp", INSTANT, nullable=False),
        pa.field("created_at", INSTANT, nullable=False),
    ]
)


def rows(count: int, coins: int, seed: int) -> list[dict[str, object]]:
    """``count`` price rows: ``coins`` coins sharing them evenly, each coin's ticks ending at AS_OF."""
    rng = random.Random(seed)
    fake = Faker()
    fake.seed_instance(seed)
    per_coin = math.ceil(count / coins)
    first = AS_OF - TICK * (per_coin - 1)
    out: list[dict[str, object]] = []
    for c in range(coins):
        key = f"coin{c:03d}"
        price = rng.uniform(0.01, 50_000.0)
        vol = rng.uniform(0.4, 1.5)
        sigma = vol / math.sqrt(TICKS_PER_YEAR)
        for t in range(per_coin):
            if len(out) == count:
                return out
            price *= math.exp(rng.gauss(-0.5 * sigma * sigma, sigma))
            spread = rng.uniform(0.0008, 0.012)
            bid = Decimal(price * (1 - spread / 2)).quantize(CENT)
            ask = max(Decimal(price * (1 + spread / 2)).quantize(CENT), bid + CENT)
            last = min(bid + (ask - bid) * Decimal(rng.random()).quantize(CENT), ask).quantize(CENT)
            instant = first + TICK * t
            out.append(
                {
                    "id": len(out) + 1,
                    "coin_type": key,
                    "bid": bid,
                    "ask": ask,
                    "last": last,
                    "timestamp": instant,
                    "created_at": fake.date_time_between(instant, instant + TICK, tzinfo=dt.timezone.utc),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("out")
    parser.add_argument("--coins", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    table = pa.Table.from_pylist(rows(args.rows, max(1, args.coins), args.seed), schema=SCHEMA)
    pq.write_table(table, args.out, compression="zstd")


if __name__ == "__main__":
    main()
