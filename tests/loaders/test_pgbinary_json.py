"""The binary COPY encoder for the types of the app's newer tables: json, jsonb, bytea, double precision.

Each value goes through the encoder into a real table and is read back; jsonb must come back as the same
JSON value, json as the same text, bytea as the same bytes, float8 bit for bit (NaN and infinities too).
"""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omc_data.loaders.pgbinary import HEADER, TRAILER, BatchEncoder, ColumnSpec, order_columns, supports


def copy_back(url: str, ddl: str, specs: list[ColumnSpec], batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    ordered = order_columns(specs)
    encoder = BatchEncoder(ordered, batch.schema)
    cols = ", ".join(f'"{s.name}"' for s in ordered)
    with psycopg.connect(url) as conn:
        conn.execute(f"CREATE TEMP TABLE t (ord serial, {ddl})")
        with conn.cursor() as cur, cur.copy(f"COPY t ({cols}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            copy.write(encoder.encode(batch))
            copy.write(TRAILER)
        names = ", ".join(f'"{s.name}"::text' for s in specs if s.pg_type in ("json", "jsonb"))
        names = ", ".join(
            filter(None, [names, *(f'"{s.name}"' for s in specs if s.pg_type in ("bytea", "float8"))])
        )
        return conn.execute(f"SELECT {names} FROM t ORDER BY ord").fetchall()


SPECS = [
    ColumnSpec("j", "json"),
    ColumnSpec("jb", "jsonb"),
    ColumnSpec("b", "bytea"),
    ColumnSpec("f", "float8"),
]
DDL = "j json, jb jsonb, b bytea, f double precision"


def test_new_types_round_trip_with_nulls_everywhere(pg_db: str) -> None:
    texts = ['{"b": 1,  "a": [1, 2.5, null]}', None, '"ü ✓ 🚀"', "[]"]
    blobs = [b"gAAAAAB\x00\xff", b"", None, bytes(range(256))]
    floats = [0.1, None, -1e308, math.inf]
    batch = pa.record_batch(
        {
            "j": pa.array(texts, pa.string()),
            "jb": pa.array(list(reversed(texts)), pa.string()),
            "b": pa.array(blobs, pa.binary()),
            "f": pa.array(floats, pa.float64()),
        }
    )
    rows = copy_back(pg_db, DDL, SPECS, batch)
    assert [r[0] for r in rows] == texts  # json keeps its text exactly
    back = [None if r[1] is None else json.loads(r[1]) for r in rows]
    assert back == [None if t is None else json.loads(t) for t in reversed(texts)]
    assert [None if r[2] is None else bytes(r[2]) for r in rows] == blobs
    assert [r[3] for r in rows] == floats


def test_nan_and_large_binary_and_sliced_batches(pg_db: str) -> None:
    batch = pa.record_batch(
        {
            "j": pa.array(['{"x": 0}'] * 4, pa.large_string()),
            "jb": pa.array(['{"k": "v"}', "1", "true", None]),
            "b": pa.array([b"\x01", None, b"abc", b"\x00"], pa.large_binary()),
            "f": pa.array([math.nan, -0.0, 5e-324, None]),
        }
    ).slice(1, 3)
    rows = copy_back(pg_db, DDL, SPECS, batch)
    assert [r[1] for r in rows] == ["1", "true", None]
    assert [None if r[2] is None else bytes(r[2]) for r in rows] == [None, b"abc", b"\x00"]
    assert math.copysign(1, rows[0][3]) == -1 and rows[1][3] == 5e-324 and rows[2][3] is None


def test_type_pairs_the_encoder_refuses() -> None:
    assert not supports(ColumnSpec("b", "bytea"), pa.string())
    assert not supports(ColumnSpec("j", "jsonb"), pa.binary())
    assert supports(ColumnSpec("f", "float8"), pa.int32())


# jsonb refuses \u0000 (validation's json.* check catches it before a load): no NUL in the texts
_text = st.text(st.characters(blacklist_characters="\x00"), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.none() | _json, min_size=1, max_size=6), blobs=st.lists(st.binary(max_size=40)))
def test_any_json_value_and_bytes_round_trip(pg_db: str, values: list[Any], blobs: list[bytes]) -> None:
    texts = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    n = len(texts)
    blobs = (blobs + [b""] * n)[:n]
    batch = pa.record_batch(
        {
            "j": pa.array(texts, pa.string()),
            "jb": pa.array(texts, pa.string()),
            "b": pa.array(blobs, pa.binary()),
            "f": pa.array([float(i) / 3 for i in range(n)]),
        }
    )
    rows = copy_back(pg_db, DDL, SPECS, batch)
    assert [None if r[1] is None else json.loads(r[1]) for r in rows] == [
        None if t is None else json.loads(t) for t in texts
    ]
    assert [bytes(r[2]) for r in rows] == blobs
