"""The two snapshots of the diff benchmark (untimed setup): a build, and a copy of its price table with
1% of rows changed, 0.5% removed and 0.5% added, written through the snapshot writer.

    python bench/diff_setup.py STORE DAYS COINS
"""

from __future__ import annotations

import sys
from pathlib import Path

A, B = "diff-a", "diff-b"
AS_OF = "2026-11-01T00:00:00Z"


def make(store: Path, *, days: int, coins: int) -> None:
    import duckdb

    import omc_data
    from omc_data import catalog
    from omc_data.snapshots.store import Store
    from omc_data.snapshots.writer import SnapshotWriter

    if not (store / A).exists():
        omc_data.build_snapshot(
            A,
            store=store,
            seed=7,
            as_of=AS_OF,
            days=days,
            coins=coins,
            bcrypt_rounds=4,
            tables=("price_data_5min",),
        )
    if (store / B).exists():
        return
    parts = omc_data.open_snapshot(A, store=store).part_paths("price_data_5min")
    files = "[" + ", ".join(f"'{p}'" for p in parts) + "]"
    # hash(id) picks rows spread over the table: 1% changed (bid or last moved), 0.5% removed, and as
    # many added (a copy of other rows one year later, a time the build never reaches)
    bid = "CAST(bid + 0.00000001 AS DECIMAL(20, 8))"
    last = "CAST(last * 1.01 AS DECIMAL(20, 8))"
    sql = f"""
        WITH a AS (SELECT *, hash(id) % 1000 AS h FROM read_parquet({files}))
        SELECT id, coin_type,
               CASE WHEN h < 10 AND h % 2 = 0 THEN {bid} ELSE bid END AS bid,
               ask,
               CASE WHEN h < 10 AND h % 2 = 1 THEN {last} ELSE last END AS last,
               timestamp, created_at
        FROM a WHERE NOT (h >= 10 AND h < 15)
        UNION ALL
        SELECT id + 100000000, coin_type, bid, ask, last,
               timestamp + INTERVAL 400 DAY, created_at + INTERVAL 400 DAY
        FROM a WHERE h >= 15 AND h < 20
        ORDER BY coin_type, timestamp
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '2GB'")
    reader = con.sql(sql).to_arrow_reader(1_000_000)
    with SnapshotWriter(Store(store), B) as writer:
        writer.write_table(catalog.table("price_data_5min"), reader)
        writer.publish(inputs={"from": A}, libraries={}, omc_data_version="bench")
    con.close()


if __name__ == "__main__":
    make(Path(sys.argv[1]), days=int(sys.argv[2]), coins=int(sys.argv[3]))
