"""Diffing snapshots: by key and by value, symmetric, blind to bytes, and the CLI's ``diff``."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data.errors import UsageError
from omc_data.snapshots.checksum import sha256_bytes, sha256_file, sidecar_line
from omc_data.snapshots.diff import SnapshotDiff, TableDiff
from snaptools import Run, run_cli, snapshot_rows, write_snapshot

AS_OF = "2026-11-01T00:00:00Z"
DAYS = 1
TICKS = 288


TABLES = ("user", "price_data_5min")  # the diff engine's cases; whole-dataset diffs: tests/builder


def build(store: Path, tag: str, *, seed: int = 1, users: int = 3, coins: int = 4) -> None:
    omc_data.build_snapshot(
        tag,
        store=store,
        seed=seed,
        as_of=AS_OF,
        users=users,
        coins=coins,
        days=DAYS,
        bcrypt_rounds=4,
        tables=TABLES,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff-store")
    build(root, "base")
    build(root, "more-users", users=4)
    build(root, "more-coins", coins=5)  # bnb sorts before btc: every id after it shifts
    build(root, "other-seed", seed=2)
    return root


def diff(store: Path, a: str, b: str, **kwargs: Any) -> SnapshotDiff:
    return omc_data.diff_snapshots(a, b, store=store, **kwargs)


def counts(t: TableDiff) -> tuple[str, int, int, int]:
    return t.status, t.added, t.removed, t.changed


# -- builds -----------------------------------------------------------------------------------------


def test_diff_with_itself_is_empty(store: Path) -> None:
    report = diff(store, "base", "base")
    assert report.same
    assert set(report.tables) == {"user", "price_data_5min"}
    for t in report.tables.values():
        assert counts(t) == ("unchanged", 0, 0, 0)
        assert t.columns_changed == {}
        assert t.rows_a == t.rows_b
    s = report.summary()
    assert (s["tables_changed"], s["rows_added"], s["rows_removed"], s["rows_changed"]) == (0, 0, 0, 0)


def test_one_more_user_changes_only_user(store: Path) -> None:
    report = diff(store, "base", "more-users")
    assert counts(report.tables["user"]) == ("changed", 1, 0, 0)
    assert report.tables["user"].columns_changed == {}
    assert (report.tables["user"].rows_a, report.tables["user"].rows_b) == (4, 5)
    assert counts(report.tables["price_data_5min"]) == ("unchanged", 0, 0, 0)
    assert not report.same
    assert report.summary()["tables_changed"] == 1


def test_one_more_coin_adds_its_ticks_only(store: Path) -> None:
    # precondition: serial ids really shifted, so only the natural key keeps rows matched
    ids_a = {
        (r["coin_type"], r["timestamp"]): r["id"] for r in snapshot_rows(store, "base", "price_data_5min")
    }
    ids_b = {
        (r["coin_type"], r["timestamp"]): r["id"]
        for r in snapshot_rows(store, "more-coins", "price_data_5min")
    }
    shared = ids_a.keys() & ids_b.keys()
    assert len(shared) == len(ids_a)
    assert sum(ids_a[k] != ids_b[k] for k in shared) > 0

    report = diff(store, "base", "more-coins")
    price = report.tables["price_data_5min"]
    assert counts(price) == ("changed", DAYS * TICKS, 0, 0)
    assert price.columns_changed == {}
    assert counts(report.tables["user"]) == ("unchanged", 0, 0, 0)


def test_another_seed_changes_everything(store: Path) -> None:
    report = diff(store, "base", "other-seed")
    price, user = report.tables["price_data_5min"], report.tables["user"]
    rows = price.rows_a
    assert rows == 4 * DAYS * TICKS
    # same coins and ticks (same keys), other prices
    assert counts(price) == ("changed", 0, 0, rows)
    assert {"bid", "ask", "last"} <= set(price.columns_changed)
    assert "created_at" not in price.columns_changed  # stamped at the tick, same on both sides
    # uuids come from the seed: every user is another user
    assert counts(user) == ("changed", 4, 4, 0)


@pytest.mark.parametrize(("a", "b"), [("base", "more-users"), ("base", "more-coins"), ("base", "other-seed")])
def test_diff_is_symmetric(store: Path, a: str, b: str) -> None:
    forward, backward = diff(store, a, b), diff(store, b, a)
    assert (forward.a, forward.b) == (backward.b, backward.a)
    assert forward.tables.keys() == backward.tables.keys()
    for name, f in forward.tables.items():
        r = backward.tables[name]
        assert (f.status, f.changed, f.columns_changed) == (r.status, r.changed, r.columns_changed)
        assert (f.added, f.removed) == (r.removed, r.added)
        assert (f.rows_a, f.rows_b) == (r.rows_b, r.rows_a)


def test_table_filter(store: Path) -> None:
    report = diff(store, "base", "other-seed", tables=["user"])
    assert list(report.tables) == ["user"]
    with pytest.raises(UsageError, match="orders"):
        diff(store, "base", "other-seed", tables=["orders"])


# -- content, not bytes -----------------------------------------------------------------------------


def rewrite_snapshot(store: Path, src: str, dst: str) -> None:
    """Copy ``src`` as ``dst`` with every table file rewritten in other bytes (row groups, codec), and a
    manifest fixed up so the copy verifies."""
    shutil.copytree(store / src, store / dst)
    manifest_path = store / dst / "manifest.json"
    doc = json.loads(manifest_path.read_text())
    doc["tag"] = dst
    for codec, entry in zip(("snappy", "gzip"), doc["tables"].values(), strict=False):
        for part in entry["parts"]:
            path = store / dst / part["path"]
            table = pq.read_table(path)
            pq.write_table(table, path, row_group_size=100, compression=codec)
            part["bytes"] = path.stat().st_size
            part["sha256"] = sha256_file(path)
    text = (json.dumps(doc, indent=2) + "\n").encode()
    manifest_path.write_bytes(text)
    (store / dst / "manifest.json.sha256").write_text(sidecar_line(sha256_bytes(text), "manifest.json"))


def test_same_content_in_other_bytes_is_unchanged(store: Path, tmp_path: Path) -> None:
    local = tmp_path / "store"
    shutil.copytree(store / "base", local / "base")
    rewrite_snapshot(local, "base", "rewritten")
    assert omc_data.verify_snapshot("rewritten", store=local) == []
    a = omc_data.open_snapshot("base", store=local).manifest
    b = omc_data.open_snapshot("rewritten", store=local).manifest
    for name in a.tables:  # the bytes really differ, so the diff has to read the rows
        assert [p.sha256 for p in a.tables[name].parts] != [p.sha256 for p in b.tables[name].parts]
    report = diff(local, "base", "rewritten")
    assert report.same
    for t in report.tables.values():
        assert counts(t) == ("unchanged", 0, 0, 0)


def test_one_changed_value_and_nulls_on_both_sides(store: Path, tmp_path: Path) -> None:
    prices = snapshot_rows(store, "base", "price_data_5min")
    users = snapshot_rows(store, "base", "user")
    for row in (prices[20], prices[21]):  # NULL on both sides: equal
        row["bid"] = row["last"] = None
    users[1]["full_name"] = None
    local = tmp_path / "store"
    write_snapshot(local, "a", {"user": users, "price_data_5min": prices})

    changed_prices = [dict(r) for r in prices]
    changed_prices[10]["bid"] += Decimal("0.00000001")
    changed_prices[22]["created_at"] += dt.timedelta(seconds=1)
    changed_users = [dict(r) for r in users]
    changed_users[2]["timezone"] = "Antarctica/Troll"
    write_snapshot(local, "b", {"user": changed_users, "price_data_5min": changed_prices})

    report = diff(local, "a", "b")
    price, user = report.tables["price_data_5min"], report.tables["user"]
    assert counts(price) == ("changed", 0, 0, 2)
    assert price.columns_changed == {"bid": 1, "created_at": 1}
    assert counts(user) == ("changed", 0, 0, 1)
    assert user.columns_changed == {"timezone": 1}


def _protocol_row(id_: int, protocol: str, at: str, tvl: str = "100.00") -> dict[str, Any]:
    return {
        "id": id_,
        "protocol": protocol,
        "tvl_usd": Decimal(tvl),
        "fees_24h": None,
        "revenue_24h": None,
        "collected_at": dt.datetime.fromisoformat(at),
    }


def test_utc_date_key_matches_rows_and_still_compares_the_instant(tmp_path: Path) -> None:
    """protocol_fundamentals rows match by (protocol, UTC day); the instant itself is still content."""
    a = [
        _protocol_row(1, "aave", "2026-10-30T10:00:00+00:00"),
        _protocol_row(2, "lido", "2026-10-30T23:30:00+00:00"),
        _protocol_row(3, "uniswap", "2026-10-30T12:00:00+00:00"),
    ]
    b = [
        _protocol_row(7, "aave", "2026-10-30T10:00:00+00:00"),  # other id: not content
        _protocol_row(8, "lido", "2026-10-31T08:30:00+09:00"),  # 23:30 UTC on the 30th, the same instant
        _protocol_row(9, "uniswap", "2026-10-30T18:00:00+00:00"),  # the same UTC day, a later instant
    ]
    write_snapshot(tmp_path, "a", {"protocol_fundamentals": a})
    write_snapshot(tmp_path, "b", {"protocol_fundamentals": b})
    t = diff(tmp_path, "a", "b").tables["protocol_fundamentals"]
    assert counts(t) == ("changed", 0, 0, 1)
    assert t.columns_changed == {"collected_at": 1}

    # a row moved to another UTC day is another row
    c = [*a[:2], _protocol_row(3, "uniswap", "2026-10-31T00:30:00+00:00")]
    write_snapshot(tmp_path, "c", {"protocol_fundamentals": c})
    assert counts(diff(tmp_path, "a", "c").tables["protocol_fundamentals"]) == ("changed", 1, 1, 0)


def _news_row(id_: int, url: str, currencies: list[str] | None, score: str | None) -> dict[str, Any]:
    return {
        "id": id_,
        "title": f"news {url}",
        "source": "example",
        "url": url,
        "published_at": dt.datetime(2026, 10, 30, tzinfo=dt.timezone.utc),
        "sentiment": "neutral",
        "sentiment_score": None if score is None else Decimal(score),
        "currencies": currencies,
        "collected_at": dt.datetime(2026, 10, 30, 1, tzinfo=dt.timezone.utc),
        "total_votes": None,
    }


def test_arrays_compare_element_wise(tmp_path: Path) -> None:
    a = [
        _news_row(1, "https://example.com/1", ["BTC", "ETH"], "0.5000"),
        _news_row(2, "https://example.com/2", None, None),
        _news_row(3, "https://example.com/3", ["BTC"], "-0.2500"),
        _news_row(4, "https://example.com/4", ["SOL"], None),
    ]
    b = [
        _news_row(11, "https://example.com/1", ["BTC", "ETH"], "0.5000"),
        _news_row(12, "https://example.com/2", None, None),
        _news_row(13, "https://example.com/3", ["ETH", "BTC"], "-0.2500"),
        _news_row(14, "https://example.com/5", ["SOL"], None),
    ]
    write_snapshot(tmp_path, "a", {"news_sentiment": a})
    write_snapshot(tmp_path, "b", {"news_sentiment": b})
    t = diff(tmp_path, "a", "b").tables["news_sentiment"]
    assert counts(t) == ("changed", 1, 1, 1)
    assert t.columns_changed == {"currencies": 1}


def test_a_table_on_one_side_only(tmp_path: Path) -> None:
    rows = [_protocol_row(1, "aave", "2026-10-30T10:00:00+00:00")]
    write_snapshot(tmp_path, "a", {"protocol_fundamentals": rows})
    write_snapshot(tmp_path, "b", {"protocol_fundamentals": rows, "news_sentiment": []})
    report = diff(tmp_path, "a", "b")
    assert report.tables["news_sentiment"].status == "added"
    assert report.tables["protocol_fundamentals"].status == "unchanged"
    assert diff(tmp_path, "b", "a").tables["news_sentiment"].status == "removed"


# -- the CLI ----------------------------------------------------------------------------------------


def diff_cli(store: Path, *args: str) -> Run:
    return run_cli("--store", str(store), "diff", *args)


def test_cli_diff_json(store: Path) -> None:
    done = diff_cli(store, "base", "more-users", "--json")
    assert done.code == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"a", "b", "tables", "summary"}
    assert (doc["a"], doc["b"]) == ("base", "more-users")
    assert set(doc["tables"]) == {"user", "price_data_5min"}
    for t in doc["tables"].values():
        assert set(t) == {
            "status",
            "rows_a",
            "rows_b",
            "added",
            "removed",
            "changed",
            "columns_changed",
            "schema",
            "samples",
        }
    user = doc["tables"]["user"]
    assert (user["status"], user["rows_a"], user["rows_b"], user["added"]) == ("changed", 4, 5, 1)
    assert doc["summary"]["same"] is False
    assert doc["summary"]["rows_added"] == 1


def test_cli_exit_code(store: Path) -> None:
    assert diff_cli(store, "base", "base", "--exit-code").code == 0
    assert diff_cli(store, "base", "more-users", "--exit-code").code == 1
    assert diff_cli(store, "base", "more-users").code == 0  # without --exit-code a difference is ok
    bad = diff_cli(store, "base", "nope", "--json")
    assert bad.code == 1
    assert json.loads(bad.stdout)["error"]["kind"] == "snapshot_not_found_error"
    assert diff_cli(store, "base", "bad/tag").code == 2


def test_cli_exit_code_error_is_not_different(store: Path) -> None:
    assert diff_cli(store, "base", "nope", "--exit-code").code >= 2
