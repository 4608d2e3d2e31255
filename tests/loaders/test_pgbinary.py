"""The binary COPY encoder against a real server: every value it sends must read back exactly.

Each case COPYs an Arrow batch into a table of the target types and compares what PostgreSQL returns
with the values computed independently in Python (Decimal, datetime, uuid), NULLs in every position.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omc_data.loaders.pgbinary import (
    HEADER,
    TRAILER,
    BatchEncoder,
    ColumnSpec,
    UnsupportedType,
    order_columns,
)

D = decimal.Decimal
UTC = dt.timezone.utc


def copy_back(url: str, ddl: str, specs: list[ColumnSpec], batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    """COPY ``batch`` through the encoder into a fresh table; the rows read back in insertion order."""
    ordered = order_columns(specs)
    encoder = BatchEncoder(ordered, batch.schema)
    cols = ", ".join(f'"{s.name}"' for s in ordered)
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(f"CREATE TEMP TABLE t (ord serial, {ddl})")
        with conn.cursor() as cur, cur.copy(f"COPY t ({cols}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            copy.write(encoder.encode(batch))
            copy.write(TRAILER)
        names = ", ".join(f'"{s.name}"' for s in specs)
        return conn.execute(f"SELECT {names} FROM t ORDER BY ord").fetchall()


def test_every_catalog_type_round_trips_with_nulls_everywhere(pg_db: str) -> None:
    ids = [uuid.uuid4() for _ in range(4)]
    stamps: list[dt.datetime | None] = [
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2026, 11, 1, tzinfo=UTC),
    ]
    stamps += [dt.datetime(1970, 1, 1, tzinfo=UTC), None]
    prices = [D("0.00000001"), D("-123456789012.34567890"), None, D("0")]
    qty = [D("1.5"), None, D("-0.0000000001"), D("99999999.9999999999")]
    scores = [D("-1.0000"), D("0.2500"), D("1"), None]
    texts = ["btc", "", None, "é ünïcødé ✓ 🚀"]
    batch = pa.record_batch(
        {
            "id": pa.array([b.bytes for b in ids], pa.binary(16)),
            "n": pa.array([1, -2, None, 2**31 - 1], pa.int64()),
            "big": pa.array([None, -(2**63), 2**63 - 1, 0], pa.int64()),
            "ok": pa.array([True, False, None, True]),
            "at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "price": pa.array(prices, pa.decimal128(20, 8)),
            "qty": pa.array(qty, pa.decimal128(20, 10)),
            "score": pa.array(scores, pa.decimal128(5, 4)),
            "s": pa.array(texts, pa.string()),
            "v": pa.array(["a" * 300, None, "x", "y"], pa.string()),
        }
    )
    specs = [
        ColumnSpec("id", "uuid"),
        ColumnSpec("n", "int4"),
        ColumnSpec("big", "int8"),
        ColumnSpec("ok", "bool"),
        ColumnSpec("at", "timestamptz"),
        ColumnSpec("price", "numeric", 20, 8),
        ColumnSpec("qty", "numeric", 20, 10),
        ColumnSpec("score", "numeric", 5, 4),
        ColumnSpec("s", "varchar"),
        ColumnSpec("v", "text"),
    ]
    ddl = (
        "id uuid, n integer, big bigint, ok boolean, at timestamptz, price numeric(20,8),"
        " qty numeric(20,10), score numeric(5,4), s varchar(20), v text"
    )
    got = copy_back(pg_db, ddl, specs, batch)
    expected = list(
        zip(ids, [1, -2, None, 2**31 - 1], [None, -(2**63), 2**63 - 1, 0], [True, False, None, True],
            stamps, prices, qty, scores, texts, ["a" * 300, None, "x", "y"], strict=True)
    )  # fmt: skip
    assert got == expected
    # Decimals come back at the column's scale, whatever the digits sent.
    assert [str(r[5]) for r in got] == ["1E-8", "-123456789012.34567890", "None", "0E-8"]


def test_a_coarser_snapshot_scale_and_unconstrained_numeric(pg_db: str) -> None:
    batch = pa.record_batch(
        {
            "a": pa.array([D("1.5"), D("-2.25"), D("12345678901234567.89")], pa.decimal128(20, 2)),
            "b": pa.array([D("1.5"), D("-2.25"), D("0.01")], pa.decimal128(20, 2)),
        }
    )
    got = copy_back(
        pg_db,
        "a numeric(24,4), b numeric",
        [ColumnSpec("a", "numeric", 24, 4), ColumnSpec("b", "numeric")],
        batch,
    )
    assert got == [(D("1.5"), D("1.5")), (D("-2.25"), D("-2.25")), (D("12345678901234567.89"), D("0.01"))]
    assert [str(r[0]) for r in got] == ["1.5000", "-2.2500", "12345678901234567.8900"]
    assert [str(r[1]) for r in got] == ["1.50", "-2.25", "0.01"]


def test_values_past_int64_after_scaling_take_the_exact_path(pg_db: str) -> None:
    big = D("999999999999.99999999")  # 20 digits: 10**20 - 1 unscaled, beyond int64
    batch = pa.record_batch({"p": pa.array([big, -big, None, D("1")], pa.decimal128(20, 8))})
    got = copy_back(pg_db, "p numeric(20,8)", [ColumnSpec("p", "numeric", 20, 8)], batch)
    assert got == [(big,), (-big,), (None,), (D("1"),)]


def test_a_value_too_wide_for_the_column_is_refused_before_sending() -> None:
    batch = pa.record_batch({"p": pa.array([D("100000.5")], pa.decimal128(20, 1))})
    encoder = BatchEncoder([ColumnSpec("p", "numeric", 6, 2)], batch.schema)  # 4 integer digits
    with pytest.raises(OverflowError, match="integer digits"):
        encoder.encode(batch)


def test_sliced_batches_encode_their_own_rows(pg_db: str) -> None:
    """Arrow slices keep an offset into shared buffers; the encoder must honour it for every type."""
    ids = [uuid.uuid4() for _ in range(6)]
    full = pa.record_batch(
        {
            "id": pa.array([u.bytes for u in ids], pa.binary(16)),
            "p": pa.array([D(i) / 4 for i in range(6)], pa.decimal128(20, 8)),
            "s": pa.array([f"row{i}" if i % 2 else None for i in range(6)]),
        }
    )
    specs = [ColumnSpec("id", "uuid"), ColumnSpec("p", "numeric", 20, 8), ColumnSpec("s", "text")]
    got = copy_back(pg_db, "id uuid, p numeric(20,8), s text", specs, full.slice(2, 3))
    assert got == [(ids[i], D(i) / 4, f"row{i}" if i % 2 else None) for i in range(2, 5)]


def test_types_it_cannot_send_are_reported_for_the_text_fallback() -> None:
    schema = pa.schema([("c", pa.list_(pa.string()))])
    with pytest.raises(UnsupportedType):
        BatchEncoder([ColumnSpec("c", "_varchar")], schema)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(), st.decimals(min_value=-(10**11), max_value=10**11, places=8, allow_nan=False)
            ),
            st.one_of(st.none(), st.text(max_size=30)),
            st.one_of(
                st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
            ),
        ),
        max_size=40,
    )
)
def test_random_rows_round_trip(pg_db: str, rows: list[tuple[Any, Any, Any]]) -> None:
    texts = [t.replace("\x00", "") if t is not None else None for t in (r[1] for r in rows)]
    stamps = [s.replace(tzinfo=UTC) if s is not None else None for s in (r[2] for r in rows)]
    batch = pa.record_batch(
        {
            "p": pa.array([r[0] for r in rows], pa.decimal128(20, 8)),
            "s": pa.array(texts, pa.string()),
            "at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        }
    )
    specs = [ColumnSpec("p", "numeric", 20, 8), ColumnSpec("s", "text"), ColumnSpec("at", "timestamptz")]
    got = copy_back(pg_db, "p numeric(20,8), s text, at timestamptz", specs, batch)
    assert got == [(r[0], t, s) for r, t, s in zip(rows, texts, stamps, strict=True)]
