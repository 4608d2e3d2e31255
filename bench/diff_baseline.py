"""The diff benchmark's baseline: one hand-written DuckDB query over the two snapshots' price files that
computes what ``omc-data diff`` reports for the table: rows added, removed, changed, and per column.

    python bench/diff_baseline.py STORE THREADS MEMORY_LIMIT

It joins by the natural key (coin_type, timestamp) and compares the content columns (bid, ask, last,
created_at; the serial id is not content) with IS DISTINCT FROM; the threads and memory limit are the
ones the benchmark gives omc-data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

COLUMNS = ("bid", "ask", "last", "created_at")


def main(store: Path, threads: int, memory: str) -> None:
    def files(tag: str) -> str:
        doc = json.loads((store / tag / "manifest.json").read_text())
        paths = [store / tag / p["path"] for p in doc["tables"]["price_data_5min"]["parts"]]
        return "[" + ", ".join(f"'{p}'" for p in paths) + "]"

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET memory_limit = '{memory}'")
    diffs = [f"a.{c} IS DISTINCT FROM b.{c}" for c in COLUMNS]
    both = "a.coin_type IS NOT NULL AND b.coin_type IS NOT NULL"
    sql = f"""
        SELECT count(*) FILTER (WHERE a.coin_type IS NULL),
               count(*) FILTER (WHERE b.coin_type IS NULL),
               count(*) FILTER (WHERE {both} AND ({" OR ".join(diffs)})),
               {", ".join(f"count(*) FILTER (WHERE {both} AND {d})" for d in diffs)}
        FROM read_parquet({files("diff-a")}) a
        FULL JOIN read_parquet({files("diff-b")}) b
          ON a.coin_type = b.coin_type AND a.timestamp = b.timestamp
    """
    row = con.execute(sql).fetchone()
    print(json.dumps(row, default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
