"""``omc-data diff A B --json`` (process start to exit) against one hand-written DuckDB query computing
the same counts on the same files (``bench/diff_baseline.py``).

The snapshots (``bench/diff_setup.py``, untimed): a build with only ``price_data_5min`` (``--days 174
--coins 100``: 5,011,200 rows; ``--quick``: 7 days x 20 coins), and a copy written through the snapshot
writer with 1% of the rows changed (bid or last), 0.5% removed and 0.5% added. Both contenders get the
same DuckDB thread count and memory limit (omc-data through ``OMC_DATA_DIFF_THREADS`` and
``OMC_DATA_DIFF_MEMORY``). Targets: at most 2x the query's time, peak RSS under 1 GiB.

    .venv/bin/python -m bench diff-5m            # full size: setup ~15 s, 5 rounds ~1 minute
    .venv/bin/python -m bench diff-5m --quick
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import BenchContext, Benchmark, Contender

NAME = "diff-5m"
TICKS_PER_DAY = 288
THREADS = 2
MEMORY = "1GB"


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    days, coins = (7, 20) if ctx.quick else (174, 100)
    rows = days * coins * TICKS_PER_DAY
    data = ctx.data_dir(NAME)
    store = data / "store"

    def setup(directory: Path) -> None:
        from bench.diff_setup import make

        make(directory / "store", days=days, coins=coins)

    return [
        Benchmark(
            name=NAME,
            description=f"omc-data diff of two {rows:,}-row price snapshots (1% changed, 0.5% added, "
            "0.5% removed) vs one hand-written DuckDB query",
            thing=Contender(
                "omc-data diff",
                ctx.omc_data_argv("-q", "--store", str(store), "diff", "diff-a", "diff-b", "--json"),
                env={"OMC_DATA_DIFF_THREADS": str(THREADS), "OMC_DATA_DIFF_MEMORY": MEMORY},
            ),
            baselines=[
                Contender(
                    "duckdb query",
                    [
                        ctx.python,
                        str(ctx.root / "bench" / "diff_baseline.py"),
                        str(store),
                        str(THREADS),
                        MEMORY,
                    ],
                )
            ],
            setup=setup,
            repeat=5,
            warmup=1,
            max_ratio=2.0,
            max_rss_mb=1024,
            work=rows,
            work_unit="rows",
        )
    ]
