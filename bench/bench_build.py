"""``omc-data build`` end to end (process start to exit, offline) against a naive per-row generator.

Two sizes: the default build (what a user runs first: default counts, bcrypt cost 12) and the 10M-row
build (``--days 365 --coins 100``: 10,512,000 price rows). The work unit is ``price_data_5min`` rows,
which are nearly all of a build's rows. The baseline, ``bench/naive_build.py``, makes the same price
rows one ``dict`` at a time (a ``random.gauss`` walk, ``Decimal`` prices, a Faker call per row) and
writes them with ``pa.Table.from_pylist`` + zstd Parquet; for the 10M build it runs on a sample
(``Contender.work``) and its time is scaled to the full row count.

Targets (from the issue): the 10M-row build at >= 2M price rows/s with peak RSS under 2 GiB; a default
build well under 2 seconds.
"""

from __future__ import annotations

import itertools
import shutil

from bench.harness import BenchContext, Benchmark, Contender

TICKS_PER_DAY = 288
AS_OF = "2026-11-01T00:00:00Z"
DEFAULT_DAYS, DEFAULT_COINS = 7, 10  # omc-data build's defaults
TIMEOUT = 900.0


def _build(ctx: BenchContext, name: str, *extra: str) -> Contender:
    """A fresh store and a fresh tag for every run (tags are immutable); the old store goes untimed."""
    store = ctx.data_dir(name) / "store"
    tags = itertools.count(1)

    def before() -> None:
        shutil.rmtree(store, ignore_errors=True)

    def argv() -> list[str]:
        tag = f"bench-{next(tags)}"
        return ctx.omc_data_argv(
            "-q", "--store", str(store), "build", "--tag", tag, "--no-real-data", "--as-of", AS_OF, *extra
        )

    return Contender("omc-data build", argv, before=before, timeout=TIMEOUT)


def _naive(ctx: BenchContext, name: str, rows: int, coins: int, work: int) -> Contender:
    """``rows`` naive price rows; a sample (``Contender.work``) when fewer than the benchmark's ``work``."""
    out = ctx.data_dir(name) / "naive.parquet"
    script = ctx.root / "bench" / "naive_build.py"
    return Contender(
        "naive per-row",
        [ctx.python, str(script), str(rows), str(out), "--coins", str(coins)],
        before=lambda: out.unlink(missing_ok=True),
        timeout=TIMEOUT,
        work=None if rows == work else rows,
    )


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    default_rows = DEFAULT_DAYS * DEFAULT_COINS * TICKS_PER_DAY
    days, coins = (30, 20) if ctx.quick else (365, 100)
    big_rows = days * coins * TICKS_PER_DAY
    sample = 20_000 if ctx.quick else 200_000

    return [
        Benchmark(
            name="build-default",
            description=(
                f"omc-data build with the default counts ({default_rows:,} price rows, bcrypt cost 12) "
                "vs the naive per-row generator on the same price rows"
            ),
            thing=_build(ctx, "build-default"),
            baselines=[_naive(ctx, "build-default", default_rows, DEFAULT_COINS, default_rows)],
            repeat=5,
            quick_repeat=1,
            warmup=1,
            max_seconds=2.0,  # "well under 2 seconds"
            work=default_rows,
            work_unit="price rows",
        ),
        Benchmark(
            name="build-10m",
            description=(
                f"omc-data build --days {days} --coins {coins} ({big_rows:,} price rows, bcrypt cost 4) "
                f"vs the naive per-row generator on a {min(sample, big_rows):,}-row sample, scaled"
            ),
            thing=_build(
                ctx, "build-10m", "--days", str(days), "--coins", str(coins), "--bcrypt-rounds", "4"
            ),
            baselines=[_naive(ctx, "build-10m", min(sample, big_rows), coins, big_rows)],
            repeat=5,  # ~8 s a round: the build ~4 s, the 200k-row sample ~3.5 s
            quick_repeat=1,
            warmup=0,
            min_rate=2_000_000,  # >= 2M price rows/s end to end
            max_rss_mb=2048,  # peak RSS under 2 GiB
            work=big_rows,
            work_unit="price rows",
        ),
    ]
