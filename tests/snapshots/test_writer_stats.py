"""The writer's bytes, parts and statistics, and the domain checks run over Parquet files."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data import catalog
from omc_data.snapshots import writer as writer_module
from omc_data.snapshots.manifest import TableEntry
from omc_data.snapshots.store import Store
from omc_data.snapshots.validate import WARNING, run_checks
from omc_data.snapshots.writer import SnapshotWriter, rechunk
from snaptools import (
    AS_OF,
    AS_OF_DT,
    arrow_table,
    build_small,
    price_row,
    run_cli_many,
    session_row,
    user_row,
)

PRICES = catalog.table("price_data_5min")
USER = catalog.table("user")
SESSIONS = catalog.table("agent_sessions")


@pytest.fixture(scope="module")
def prices(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The price table of a small real build (576 rows)."""
    root = tmp_path_factory.mktemp("prices") / "s"
    build_small(root, "src")
    return pq.read_table(root / "src" / "tables" / "price_data_5min" / "part-00000.parquet")


def write_one(root: Path, table: catalog.Table, data: pa.Table | list[pa.RecordBatch]) -> TableEntry:
    """Write one table in a writer that is then thrown away; its entry keeps the parts' checksums."""
    with SnapshotWriter(Store(root), "t") as writer:
        return writer.write_table(table, data)


# --- bytes depend only on the rows ---------------------------------------------------------------------


def split(table: pa.Table, cuts: list[int]) -> list[pa.RecordBatch]:
    """``table`` as record batches cut at ``cuts`` (duplicates give empty batches)."""
    bounds = [0, *sorted(cuts), table.num_rows]
    return [b for lo, hi in itertools.pairwise(bounds) for b in table.slice(lo, hi - lo).to_batches()]


@settings(max_examples=20, deadline=None)
@given(data=st.data(), row_group_rows=st.sampled_from([writer_module.ROW_GROUP_ROWS, 64, 7]))
def test_the_same_rows_give_the_same_bytes_however_they_are_batched(
    prices: pa.Table, data: st.DataObject, row_group_rows: int
) -> None:
    cuts = data.draw(st.lists(st.integers(0, prices.num_rows), max_size=40), label="cuts")
    shuffled = prices.select(list(reversed(prices.column_names)))  # column order is the catalog's anyway
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer_module, "ROW_GROUP_ROWS", row_group_rows)
        whole = write_one(Path(tmp) / "a", PRICES, prices.combine_chunks())
        batched = write_one(Path(tmp) / "b", PRICES, split(shuffled, cuts))
    assert [(p.sha256, p.bytes, p.rows) for p in batched.parts] == [
        (p.sha256, p.bytes, p.rows) for p in whole.parts
    ]
    assert batched.stats == whole.stats


def test_tiny_batches_of_a_real_table_give_identical_parquet(prices: pa.Table, tmp_path: Path) -> None:
    one = write_one(tmp_path / "a", PRICES, prices)
    many = write_one(tmp_path / "b", PRICES, prices.to_batches(max_chunksize=1))
    assert len(one.parts) == 1
    assert one.parts[0].sha256 == many.parts[0].sha256


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(0, 10), max_size=12), rows=st.integers(1, 8))
def test_rechunk_regroups_batches_into_fixed_size_tables(sizes: list[int], rows: int) -> None:
    total = sum(sizes)
    values = pa.array(range(total), pa.int64())
    batches, start = [], 0
    for size in sizes:
        batches.append(pa.RecordBatch.from_arrays([values.slice(start, size)], names=["n"]))
        start += size
    out = list(rechunk(batches, rows))
    assert [t.num_rows for t in out] == [rows] * (total // rows) + ([total % rows] if total % rows else [])
    together = pa.concat_tables(out).column("n").to_pylist() if out else []
    assert together == list(range(total))


def test_rechunk_of_nothing_is_nothing() -> None:
    assert list(rechunk([], 4)) == []
    empty = pa.RecordBatch.from_arrays([pa.array([], pa.int64())], names=["n"])
    assert list(rechunk([empty, empty], 4)) == []


# --- parts ----------------------------------------------------------------------------------------------


def test_a_big_table_is_split_into_parts_that_still_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = build_small(tmp_path / "ref", "v1")
    monkeypatch.setattr(writer_module, "PART_ROWS", 100)
    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", 30)
    manifest = build_small(tmp_path / "s", "v1")

    entry = manifest.tables["price_data_5min"]
    assert entry.rows == reference.tables["price_data_5min"].rows == 576
    assert [p.rows for p in entry.parts] == [90] * 6 + [36]  # whole row groups of 30, at most 100 a part
    assert [p.path for p in entry.parts] == [
        f"tables/price_data_5min/part-{i:05d}.parquet" for i in range(len(entry.parts))
    ]
    snapshot = Store(tmp_path / "s").open("v1")
    snapshot.verify()
    paths = snapshot.part_paths("price_data_5min")
    for part, path in zip(entry.parts, paths, strict=True):
        meta = pq.ParquetFile(path).metadata
        assert meta.num_rows == part.rows
        assert all(meta.row_group(i).num_rows <= 30 for i in range(meta.num_row_groups))
    split_rows = pa.concat_tables(pq.read_table(p) for p in paths)
    ref_rows = pq.read_table(tmp_path / "ref" / "v1" / entry.parts[0].path)
    assert split_rows.equals(ref_rows)
    assert entry.stats == reference.tables["price_data_5min"].stats
    assert manifest.validation["passed"] is True  # the checks read every part


def test_an_empty_table_still_has_one_empty_part(tmp_path: Path) -> None:
    entry = write_one(tmp_path / "s", USER, arrow_table("user", []))
    assert entry.rows == 0
    assert len(entry.parts) == 1 and entry.parts[0].rows == 0
    assert entry.stats["email"] == {"nulls": 0, "max_length": None}


# --- statistics -----------------------------------------------------------------------------------------


def test_statistics_of_text_uuid_and_timestamps(tmp_path: Path) -> None:
    ids = [
        uuid.UUID("ffffffff-0000-4000-8000-000000000000"),
        uuid.UUID("00000000-0000-4000-8000-0000000000aa"),
        uuid.UUID("7fffffff-ffff-4fff-bfff-ffffffffffff"),
    ]
    plus10 = dt.timezone(dt.timedelta(hours=10))
    rows = [
        user_row(
            0, id=ids[0], full_name="Ab", created_at=dt.datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=plus10)
        ),
        user_row(1, id=ids[1], full_name="Ünïcødé😀😀", timezone="Europe/Zürich"),
        user_row(
            2,
            id=ids[2],
            full_name=None,
            created_at=dt.datetime(2025, 12, 31, 23, 59, 59, 123, tzinfo=dt.timezone.utc),
        ),
    ]
    stats = write_one(tmp_path / "s", USER, arrow_table("user", rows)).stats

    full_name = stats["full_name"]
    assert full_name["max_length"] == 9  # characters, not UTF-8 bytes (which would be 17)
    assert full_name["nulls"] == 1
    assert "min" not in full_name and "max" not in full_name  # text content never reaches the manifest
    assert stats["timezone"] == {"nulls": 2, "max_length": 13}
    assert stats["risk_tolerance"] == {"nulls": 3, "max_length": None}
    assert stats["id"] == {"nulls": 0, "min": str(ids[1]), "max": str(ids[0])}  # canonical uuid text
    assert stats["created_at"]["min"] == "2025-12-31T23:59:59.000123Z"
    assert stats["created_at"]["max"] == "2026-01-01T00:00:00.5Z"  # RFC 3339, UTC, Z
    assert stats["is_superuser"] == {"nulls": 0, "min": False, "max": True}


def test_statistics_of_decimals(tmp_path: Path) -> None:
    rows = [
        price_row(0, bid="1.50000000", ask="3", last="-123.4"),
        price_row(1, bid="2.25", ask="4.00000000", last="12345.10000000"),
        price_row(2, bid="0.00000001", ask="5", last="7", coin_type="eth"),
        price_row(3, bid="1", ask="2", last="1.5", coin_type="eth") | {"bid": None},
    ]
    stats = write_one(tmp_path / "s", PRICES, arrow_table("price_data_5min", rows)).stats
    assert stats["bid"] == {
        "nulls": 1,
        "min": "0.00000001",
        "max": "2.25000000",  # decimals as strings, at the column's scale
        "max_integer_digits": 1,
        "max_scale": 8,
    }
    assert stats["ask"]["max_scale"] == 0  # trailing zeros do not count
    assert stats["ask"]["nulls"] == 0
    assert stats["last"]["max_scale"] == 1
    assert stats["last"]["max_integer_digits"] == 5
    assert (stats["last"]["min"], stats["last"]["max"]) == ("-123.40000000", "12345.10000000")
    assert stats["coin_type"]["max_length"] == 3


def test_the_finest_scale_is_kept_across_batches(tmp_path: Path) -> None:
    rows = [price_row(i, bid=bid, ask="10", last="5") for i, bid in enumerate(["1.125", "2", "3.5", "4"])]
    batches = arrow_table("price_data_5min", rows).to_batches(max_chunksize=1)
    stats = write_one(tmp_path / "s", PRICES, batches).stats
    assert stats["bid"]["max_scale"] == 3


# --- the checks -------------------------------------------------------------------------------------------


def failures(report: object) -> dict[tuple[str, str], int]:
    return {(c.table, c.name): c.failures for c in report.checks if c.failures}  # type: ignore[attr-defined]


def write_bad_snapshot(root: Path, tag: str, *, kind: str = "build") -> dict[tuple[str, str], int]:
    """A snapshot whose hand-made rows break one rule each; returns the exact failures expected."""
    after = AS_OF_DT + dt.timedelta(microseconds=1)
    users = [
        user_row(0),
        user_row(1, created_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)),  # after its updated_at
        user_row(2, created_at=AS_OF_DT, updated_at=AS_OF_DT),  # exactly as_of: fine
        user_row(3, created_at=after, updated_at=after + dt.timedelta(days=1)),  # after as_of
        user_row(4, id=user_row(1)["id"]),  # a duplicate primary key
        user_row(5, email=user_row(0)["email"]),  # a duplicate email
        user_row(6, email="é" * 243 + "@example.com"),  # 255 characters: fits varchar(255)
        user_row(7, email="x" * 244 + "@example.com"),  # 256 characters: too long
    ]
    sessions = [
        session_row(0, user_row(0)["id"]),
        session_row(1, uuid.UUID(int=999)),  # no such user
        session_row(2, uuid.UUID(int=998)),  # no such user
        session_row(
            3, user_row(2)["id"], updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        ),  # updated first
    ]
    prices = [
        price_row(0, bid="1", ask="2", last="1.5"),
        price_row(1, bid="1", ask="1", last="1"),  # bid == ask
        price_row(2, bid="3", ask="2", last="2.5"),  # bid > ask, and last outside the spread
        price_row(3, bid="1", ask="2", last="5"),  # last above ask
        price_row(4, bid="0", ask="1", last="0.5"),  # not positive
        price_row(5, bid="1", ask="2", last="1.5", timestamp=AS_OF_DT + dt.timedelta(minutes=5)),
        price_row(6, bid="1", ask="2", last="1.5", timestamp=price_row(0, "1", "2", "1")["timestamp"]),
    ]
    with SnapshotWriter(Store(root), tag) as writer:
        writer.write_table(USER, arrow_table("user", users))
        writer.write_table(SESSIONS, arrow_table("agent_sessions", sessions))
        writer.write_table(PRICES, arrow_table("price_data_5min", prices))
        writer.publish(inputs={"as_of": AS_OF}, libraries={}, omc_data_version="test", kind=kind)
    return {
        ("user", "time_order.updated_at"): 1,
        ("user", "not_after_as_of.created_at"): 1,
        ("user", "not_after_as_of.updated_at"): 1,
        ("user", "primary_key"): 1,
        ("user", "unique.ix_user_email"): 1,
        ("user", "length.email"): 1,
        ("agent_sessions", "foreign_key.user_id"): 2,
        ("agent_sessions", "time_order.updated_at"): 1,
        ("agent_sessions", "time_order.after_user_id"): 1,  # session 3 predates user 2
        ("price_data_5min", "price.bid_below_ask"): 2,
        ("price_data_5min", "price.last_within_spread"): 2,
        ("price_data_5min", "price.positive"): 1,
        ("price_data_5min", "not_after_as_of.timestamp"): 1,
        ("price_data_5min", "unique.uq_price_data_5min_coin_timestamp"): 1,
    }


def test_each_check_counts_exactly_its_failures(tmp_path: Path) -> None:
    expected = write_bad_snapshot(tmp_path / "s", "bad")
    snapshot = Store(tmp_path / "s").open("bad")
    parts = {name: snapshot.part_paths(name) for name in snapshot.manifest.tables}
    report = run_checks(parts, as_of=AS_OF_DT)
    assert failures(report) == expected
    assert not report.passed
    assert len(report.blocking_failures) == len(expected)
    names = {(c.table, c.name) for c in report.checks}
    assert {("user", "not_null.email"), ("price_data_5min", "primary_key")} <= names  # ran, found nothing

    as_warnings = run_checks(parts, as_of=AS_OF_DT, severity=WARNING)
    assert as_warnings.passed and len(as_warnings.warnings) == len(expected)


def test_not_null_violations_are_counted(tmp_path: Path) -> None:
    rows = [user_row(0, email=None), user_row(1, email=None, hashed_password=None), user_row(2)]
    path = tmp_path / "user.parquet"
    pq.write_table(arrow_table("user", rows), path)  # nullable fields: the writer itself would refuse
    report = run_checks({"user": [path]}, as_of=None)
    assert failures(report) == {("user", "not_null.email"): 2, ("user", "not_null.hashed_password"): 1}


def test_the_writer_refuses_nulls_in_not_null_columns(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with pytest.raises(ValueError), SnapshotWriter(Store(root), "t") as writer:
        writer.write_table(USER, arrow_table("user", [user_row(0, email=None)]))
    assert list(root.iterdir()) == []


def test_validate_cli_exits_1_on_a_blocking_failure_and_0_for_captured_warnings(tmp_path: Path) -> None:
    root = tmp_path / "s"
    expected = write_bad_snapshot(root, "bad")
    write_bad_snapshot(root, "captured", kind="capture")
    build_small(root, "good")
    bad, captured, good = run_cli_many(
        [["--store", str(root), "validate", t, "--json"] for t in ("bad", "captured", "good")]
    )
    assert bad.code == 1, bad
    doc = bad.json()
    assert doc["passed"] is False and doc["blocking_failures"] == len(expected)
    assert {(c["table"], c["name"]): c["failures"] for c in doc["checks"] if c["failures"]} == expected
    assert captured.code == 0, captured
    assert captured.json()["warnings"] == len(expected)
    assert good.code == 0, good
    assert good.json()["passed"] is True and good.json()["checks_run"] > 0


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(st.text(max_size=30), max_size=40),
    cuts=st.lists(st.integers(1, 7), max_size=10),
    rows=st.integers(1, 9),
    max_bytes=st.integers(1, 80),
)
def test_rechunk_by_bytes_cuts_at_the_same_rows_whatever_the_batching(
    texts: list[str], cuts: list[int], rows: int, max_bytes: int
) -> None:
    """A group closes at ``rows`` rows or at the row that reaches ``max_bytes``, batches notwithstanding."""
    column = pa.array(texts, pa.string())

    def batched(sizes: list[int]) -> list[pa.RecordBatch]:
        out, start = [], 0
        for size in [*sizes, len(texts)]:
            out.append(pa.RecordBatch.from_arrays([column.slice(start, size)], names=["s"]))
            start += size
            if start >= len(texts):
                break
        return out

    def groups(batches: list[pa.RecordBatch]) -> list[list[str]]:
        return [t.column("s").to_pylist() for t in rechunk(batches, rows, max_bytes)]

    expected: list[list[str]] = []  # the rule, row by row
    group: list[str] = []
    held = 0
    for text in texts:
        group.append(text)
        held += len(text.encode())
        if len(group) == rows or held >= max_bytes:
            expected.append(group)
            group, held = [], 0
    if group:
        expected.append(group)
    assert groups(batched([len(texts)])) == expected
    assert groups(batched(cuts)) == expected
