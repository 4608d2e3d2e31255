"""The SQLAlchemy baseline of the load benchmarks: batched INSERTs of 1,000 rows through SQLAlchemy Core.

    python bench/load_sqlalchemy.py URL SNAPSHOT_DIR [--price-rows N] [--finish FILE] [--batch 1000]

What an app developer writes first: reflect the tables, read each table's Parquet parts 1,000 rows at a
time as ``dict`` rows (``RecordBatch.to_pylist``) and ``conn.execute(table.insert(), rows)``, parents
before children, in one transaction into the indexed tables; then the statements of ``--finish`` (one a
line: sequences, refreshes of the dependent materialized views, ANALYZE) and COMMIT. SQLAlchemy 2 with
psycopg 3 sends each 1,000-row call as the driver's ``executemany`` (pipelined). ``--price-rows``
stops ``price_data_5min`` after that many rows (the benchmark runs this on a sample and scales its time);
every other table is loaded whole.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

PRICE = "price_data_5min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="postgresql://user@host:port/db")
    parser.add_argument("snapshot", type=Path, help="the snapshot folder (holds manifest.json)")
    parser.add_argument("--price-rows", type=int, default=None, help=f"insert only this many {PRICE} rows")
    parser.add_argument("--finish", type=Path, help="SQL statements to run before COMMIT, one a line")
    parser.add_argument("--batch", type=int, default=1000, help="rows per INSERT batch")
    args = parser.parse_args()

    manifest = json.loads((args.snapshot / "manifest.json").read_text())
    names = list(manifest["tables"])
    url = sa.engine.make_url(args.url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    # the snapshot's tables the database has (newer head tables are skipped, as omc-data's load does)
    present = set(sa.inspect(engine).get_table_names())
    metadata.reflect(engine, only=[n for n in names if n in present])
    finish = [] if args.finish is None else [s for s in args.finish.read_text().splitlines() if s.strip()]

    with engine.begin() as conn:
        for table in metadata.sorted_tables:  # parents before children
            if table.name not in manifest["tables"]:
                continue  # an app table reflected because a dataset table references it
            left = args.price_rows if table.name == PRICE else None
            for part in manifest["tables"][table.name]["parts"]:
                for batch in pq.ParquetFile(args.snapshot / part["path"]).iter_batches(batch_size=args.batch):
                    rows = batch.to_pylist()
                    if left is not None:
                        rows = rows[:left]
                        left -= len(rows)
                    if rows:
                        conn.execute(table.insert(), rows)
                    if left == 0:
                        break
                if left == 0:
                    break
        for statement in finish:
            conn.exec_driver_sql(statement)
    engine.dispose()


if __name__ == "__main__":
    main()
