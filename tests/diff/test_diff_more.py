"""Sample rows, the markdown report, value-exact comparisons across encodings, and ``@db`` on a side."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data.errors import SnapshotError
from omc_data.snapshots.checksum import sha256_bytes, sha256_file, sidecar_line
from omc_data.snapshots.diff import TableDiff
from snaptools import price_row, run_cli, user_row, write_snapshot


def counts(t: TableDiff) -> tuple[str, int, int, int]:
    return t.status, t.added, t.removed, t.changed


def prices(n: int = 6) -> list[dict[str, Any]]:
    return [
        price_row(i, f"{100 + i}.50000000", f"{101 + i}.00000000", f"{100 + i}.75000000") for i in range(n)
    ]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff-more")
    a = prices()
    b = [dict(r) for r in a]
    b[1]["bid"] = Decimal("1.50")
    b[3]["last"] = None
    b[3]["ask"] = Decimal("0.1")
    del b[4]  # removed
    b.append(price_row(50, "1", "2", "3"))  # added
    b.append(price_row(51, "1", "2", "3"))
    write_snapshot(root, "a", {"price_data_5min": a, "user": [user_row(1), user_row(2)]})
    write_snapshot(root, "b", {"price_data_5min": b, "user": [user_row(1), user_row(2, full_name="Z")]})
    return root


def test_samples_show_keys_and_the_changed_columns_only(store: Path) -> None:
    report = omc_data.diff_snapshots("a", "b", store=store, rows=5)
    price = report.tables["price_data_5min"]
    assert counts(price) == ("changed", 2, 1, 2)
    t0 = dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)

    def key(n: int) -> dict[str, str]:
        return {"coin_type": "btc", "timestamp": (t0 + dt.timedelta(minutes=5 * n)).isoformat()}

    assert price.samples["added"] == [{"key": key(50)}, {"key": key(51)}]
    assert price.samples["removed"] == [{"key": key(4)}]
    assert price.samples["changed"] == [
        {"key": key(1), "columns": {"bid": {"a": "101.50000000", "b": "1.50000000"}}},
        {
            "key": key(3),
            "columns": {
                "ask": {"a": "104.00000000", "b": "0.10000000"},
                "last": {"a": "103.75000000", "b": None},
            },
        },
    ]
    assert report.tables["user"].samples["changed"][0]["columns"] == {"full_name": {"a": "User 2", "b": "Z"}}
    # N limits each kind, in key order; the default takes none
    one = omc_data.diff_snapshots("a", "b", store=store, rows=1).tables["price_data_5min"].samples
    assert [len(one[k]) for k in ("added", "removed", "changed")] == [1, 1, 1]
    assert one["added"] == [{"key": key(50)}]
    assert omc_data.diff_snapshots("a", "b", store=store).tables["price_data_5min"].samples == {}


def test_samples_mirror(store: Path) -> None:
    f = omc_data.diff_snapshots("a", "b", store=store, rows=5).tables["price_data_5min"].samples
    r = omc_data.diff_snapshots("b", "a", store=store, rows=5).tables["price_data_5min"].samples
    assert (f["added"], f["removed"]) == (r["removed"], r["added"])
    swapped = [
        {"key": s["key"], "columns": {c: {"a": v["b"], "b": v["a"]} for c, v in s["columns"].items()}}
        for s in r["changed"]
    ]
    assert f["changed"] == swapped


def test_cli_rows_json_and_markdown(store: Path) -> None:
    done = run_cli("--store", str(store), "diff", "a", "b", "--rows", "1", "--json")
    assert done.code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc["tables"]["price_data_5min"]["samples"]) == {"added", "removed", "changed"}
    md = run_cli("--store", str(store), "diff", "a", "b", "--rows", "2", "--markdown")
    assert md.code == 0, md.stderr
    assert "| `price_data_5min` | **changed** | 6 | 7 | 2 | 1 | 2 |" in md.stdout
    assert "~ coin_type=btc, timestamp=2026-10-01T00:05:00+00:00: bid 101.50000000 -> 1.50000000" in md.stdout
    human = run_cli("--store", str(store), "diff", "a", "b", "--rows", "1")
    assert human.code == 0 and "sample rows of price_data_5min" in human.stdout
    assert run_cli("--store", str(store), "diff", "a", "b", "--json", "--markdown").code == 2
    assert run_cli("--store", str(store), "diff", "a", "b", "--rows", "-1").code == 2


# -- by value, not by encoding ----------------------------------------------------------------------


def recode(store: Path, src: str, dst: str, table: str, column: str, to: pa.DataType) -> None:
    """Copy ``src`` as ``dst`` with one column stored in another Arrow type (same values), manifest fixed."""
    shutil.copytree(store / src, store / dst)
    manifest_path = store / dst / "manifest.json"
    doc = json.loads(manifest_path.read_text())
    doc["tag"] = dst
    for part in doc["tables"][table]["parts"]:
        path = store / dst / part["path"]
        t = pq.read_table(path)
        i = t.schema.get_field_index(column)
        t = t.set_column(i, pa.field(column, to), pc.cast(t.column(column), to))
        pq.write_table(t, path)
        part["bytes"], part["sha256"] = path.stat().st_size, sha256_file(path)
    text = (json.dumps(doc, indent=2) + "\n").encode()
    manifest_path.write_bytes(text)
    (store / dst / "manifest.json.sha256").write_text(sidecar_line(sha256_bytes(text), "manifest.json"))


@pytest.mark.parametrize(
    ("column", "to"),
    [
        ("bid", pa.decimal128(30, 12)),  # 101.50000000 = 101.500000000000: by value at any scale
        ("timestamp", pa.timestamp("ms", tz="Asia/Tokyo")),  # the same instants in another zone and unit
        ("created_at", pa.timestamp("ns", tz="America/New_York")),
    ],
)
def test_same_values_in_another_encoding_are_unchanged(
    store: Path, tmp_path: Path, column: str, to: pa.DataType
) -> None:
    local = tmp_path / "s"
    shutil.copytree(store / "a", local / "a")
    recode(local, "a", "recoded", "price_data_5min", column, to)
    report = omc_data.diff_snapshots("a", "recoded", store=local, rows=3)
    assert counts(report.tables["price_data_5min"]) == ("unchanged", 0, 0, 0)
    assert report.same


def test_text_is_compared_exactly(tmp_path: Path) -> None:
    a = [user_row(1, full_name="Ann"), user_row(2, full_name="Bob"), user_row(3, full_name="Cé")]
    b = [user_row(1, full_name="ann"), user_row(2, full_name="Bob "), user_row(3, full_name="Ce\u0301")]
    write_snapshot(tmp_path, "a", {"user": a})
    write_snapshot(tmp_path, "b", {"user": b})
    t = omc_data.diff_snapshots("a", "b", store=tmp_path).tables["user"]
    assert counts(t) == ("changed", 0, 0, 3)  # case, trailing space, another Unicode normal form
    assert t.columns_changed == {"full_name": 3}


def test_diff_with_itself_has_no_samples(store: Path) -> None:
    report = omc_data.diff_snapshots("b", "b", store=store, rows=5)
    assert report.same
    assert all(t.samples == {} for t in report.tables.values())


# -- @db ---------------------------------------------------------------------------------------------


def test_db_side_captures_read_only_and_diffs(store: Path, tmp_path: Path, pg_db: str) -> None:
    local = tmp_path / "s"
    a = prices()
    b = [dict(r) for r in a]
    b[1]["bid"], b[3]["last"] = Decimal("1.50"), None
    del b[4]
    b += [price_row(50, "1", "2", "3"), price_row(51, "1", "2", "3")]
    write_snapshot(local, "a", {"price_data_5min": a})  # price has no dataset children: loads alone
    write_snapshot(local, "b", {"price_data_5min": b})
    omc_data.load_snapshot("a", db=pg_db, store=local, create_schema=True)
    same = omc_data.diff_snapshots("a", "@db", store=local, db=pg_db)
    assert same.same, same.to_json()
    assert same.b.startswith("@db (") and "@" in same.b[5:]
    before = {p.name for p in local.iterdir()}

    report = omc_data.diff_snapshots("@db", "b", store=local, db=pg_db, rows=2)
    t: TableDiff = report.tables["price_data_5min"]
    assert counts(t) == ("changed", 2, 1, 2)
    assert report.a.startswith("@db (")
    assert {p.name for p in local.iterdir()} == before  # the capture went to a temporary store

    with psycopg.connect(pg_db) as conn:  # nothing written: the rows are still a's
        assert conn.execute("SELECT count(*) FROM price_data_5min").fetchone() == (6,)

    done = run_cli("--store", str(local), "diff", "b", "@db", "--db", pg_db, "--json", "--exit-code")
    assert done.code == 1, done.stderr
    doc = done.json()
    assert doc["b"].startswith("@db (") and "password" not in doc["b"]
    assert doc["tables"]["price_data_5min"]["removed"] == 2


def test_db_needs_a_database_and_one_side(store: Path) -> None:
    with pytest.raises(omc_data.errors.UsageError):
        omc_data.diff_snapshots("a", "@db", store=store)
    with pytest.raises(omc_data.errors.UsageError):
        omc_data.diff_snapshots("@db", "@db", store=store, db="postgresql://x@127.0.0.1/x")


def test_duplicate_diff_keys_in_a_live_database_are_refused_not_miscounted(
    tmp_path: Path, pg_db: str
) -> None:
    """The app's unique index may be missing (an older schema): the join would pair duplicates 2x2."""
    local = tmp_path / "s"
    write_snapshot(local, "a", {"price_data_5min": prices()})
    omc_data.load_snapshot("a", db=pg_db, store=local, create_schema=True)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("DROP INDEX uq_price_data_5min_coin_timestamp")
        conn.execute(
            "INSERT INTO price_data_5min (coin_type, bid, ask, last, timestamp)"
            " SELECT coin_type, bid, ask, last, timestamp FROM price_data_5min ORDER BY id LIMIT 1"
        )
    with pytest.raises(SnapshotError, match=r"2 rows of price_data_5min share 1 values of its diff key"):
        omc_data.diff_snapshots("a", "@db", store=local, db=pg_db)
    done = run_cli("--store", str(local), "diff", "a", "@db", "--db", pg_db, "--exit-code")
    assert done.code >= 2 and "cannot be paired" in done.stderr
