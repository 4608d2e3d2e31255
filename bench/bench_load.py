"""``omc-data load`` end to end (process start to exit, checksums included) against what else loads the
same rows into the same app-like PostgreSQL schema.

The snapshot: ``omc-data build --no-real-data --days 174 --coins 100`` (5,011,200 price rows plus the
default rest); ``--quick``: 7 days x 20 coins. The schema: ``tests/loaders/sql/omc_current.sql`` (the
eleven dataset tables with the app's indexes, five on ``price_data_5min``; app tables with foreign keys
into them; four materialized views, one built on another). Every contender runs in its own database of
one throwaway cluster (fsync off, autovacuum off), does all its work in one process and leaves the same
end state: every dataset table loaded, sequences past the loaded ids, the dependent materialized views
refreshed in dependency order, ANALYZE of the loaded tables. Its ``before`` hook (untimed) empties the
tables and views and runs a CHECKPOINT; each benchmark's teardown checks that the baseline's end state
matches omc-data's (rows and a hash of every table and view, price's indexes), then stops the cluster.
The setup (``bench/load_setup.py``: snapshot, cluster, databases, CSV files, dump) is made once per run
and shared by the four benchmarks.

Contenders:

- ``omc-data load``: ``omc-data -q --store S load bench-load --db URL``;
- ``csv copy indexed``: psql, one transaction: server-side ``COPY t FROM '/path/t.csv' (FORMAT csv,
  HEADER)`` per table (parents first) into the indexed tables, then the same finish statements;
- ``pg_restore``: ``pg_restore --data-only --single-transaction`` of a custom-format (``pg_dump -Fc
  --data-only -t ...``) dump of the dataset tables, then psql with the same finish statements;
- ``sqlalchemy 1k inserts``: ``bench/load_sqlalchemy.py``, SQLAlchemy Core ``conn.execute(table.insert(),
  rows)`` in batches of 1,000 dict rows read from the Parquet files, on 500,000 of the price rows (the
  rest whole), its time scaled to the full price rows (``Contender.work``);
- ``floor``: the CSV copy, but price's five indexes (and key constraints) dropped first and made again
  after its COPY (comments and the CLUSTER ON mark restored), all in the transaction.

Targets (from the issue), one benchmark each since the harness judges the first baseline: at least
1.8x faster than the indexed CSV COPY and than pg_restore, at least 5x faster than the SQLAlchemy
inserts, at most 1.1x the floor; and omc-data's peak RSS under 500 MB (checked in each).

    .venv/bin/python -m bench 'load-*'           # full size: ~10 minutes (3 rounds each), setup ~1 min
    .venv/bin/python -m bench 'load-*' --quick   # smoke run, small snapshot
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.harness import BenchContext, Benchmark, Contender, faster_by

if TYPE_CHECKING:
    from bench.load_setup import LoadFixture

TICKS_PER_DAY = 288
MAX_RSS_MB = 500


def benchmarks(ctx: BenchContext) -> list[Benchmark]:
    days, coins = (7, 20) if ctx.quick else (174, 100)
    price_rows = days * coins * TICKS_PER_DAY  # 5,011,200 at full size
    sample = 10_000 if ctx.quick else 500_000  # start-up and ANALYZE are scaled too: keep it big
    timeout = 300.0 if ctx.quick else 3600.0
    root = ctx.workdir / "load-shared"

    def fix() -> LoadFixture:
        from bench.load_setup import fixture  # heavy imports (psycopg, omc_data) only once it runs

        return fixture(
            root,
            repo=ctx.root,
            python=ctx.python,
            days=days,
            coins=coins,
            sample_rows=sample,
            quick=ctx.quick,
        )

    def reset(db: str) -> Callable[[], None]:
        return lambda: fix().reset(db)

    thing = Contender(
        "omc-data load",
        lambda: ctx.omc_data_argv(
            "-q", "--store", str(fix().store), "load", "bench-load", "--db", fix().url("omc_data")
        ),
        before=reset("omc_data"),
        timeout=timeout,
    )
    copy_indexed = Contender(
        "csv copy indexed",
        lambda: fix().psql_argv("copy_indexed", "copy_indexed"),
        before=reset("copy_indexed"),
        timeout=timeout,
    )
    pg_restore = Contender(
        "pg_restore", lambda: fix().pg_restore_argv("pg_restore"), before=reset("pg_restore"), timeout=timeout
    )
    sqlalchemy = Contender(
        "sqlalchemy 1k inserts",
        lambda: fix().sqlalchemy_argv("sqlalchemy"),
        before=reset("sqlalchemy"),
        timeout=timeout,
        work=min(sample, price_rows),
    )
    floor = Contender(
        "floor", lambda: fix().psql_argv("floor", "floor"), before=reset("floor"), timeout=timeout
    )

    def make(
        name: str, baseline: Contender, db: str, max_ratio: float, what: str, *, dump: bool = False
    ) -> Benchmark:
        def setup(directory: Path) -> None:
            fix().ensure(dump=dump)

        def teardown(directory: Path) -> None:
            f = fix()
            try:
                if sys.exc_info()[1] is None:  # a failed run is reported as it is, not as a difference
                    f.verify("omc_data", [db], sampled=["sqlalchemy"] if db == "sqlalchemy" else [])
            finally:
                f.stop()

        return Benchmark(
            name=name,
            description=(
                f"omc-data load of {price_rows:,} price rows + the default rest into the app-like schema "
                f"vs {what}"
            ),
            thing=thing,
            baselines=[baseline],
            setup=setup,
            teardown=teardown,
            repeat=3,
            quick_repeat=1,
            warmup=0,
            max_ratio=max_ratio,
            max_rss_mb=MAX_RSS_MB,
            work=price_rows,
            work_unit="price rows",
        )

    return [
        make(
            "load-vs-copy-indexed",
            copy_indexed,
            "copy_indexed",
            faster_by(1.8),
            "server-side CSV COPY into the indexed tables (psql, one transaction)",
        ),
        make(
            "load-vs-pg-restore",
            pg_restore,
            "pg_restore",
            faster_by(1.8),
            "pg_restore --data-only --single-transaction of a custom-format dump",
            dump=True,
        ),
        make(
            "load-vs-sqlalchemy",
            sqlalchemy,
            "sqlalchemy",
            faster_by(5),
            f"SQLAlchemy Core 1,000-row INSERTs ({min(sample, price_rows):,}-price-row sample, scaled)",
        ),
        make(
            "load-vs-floor",
            floor,
            "floor",
            1.1,
            "the floor: CSV COPY into the bare price table, then its five indexes built",
        ),
    ]
