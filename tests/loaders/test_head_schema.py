"""Loading into the app's database at its current head with every table (``sql/omc_head.sql``).

The head has 35 tables and 7 materialized views; the catalog holds some of them. A snapshot made before
the catalog grew (the seed script's eleven tables, as every snapshot published until now) must still
load: the dataset tables it lacks are left as they are and reported, and the app's own configuration
(``collector``, ``alert_rule``) is never touched. A snapshot of the whole catalog fills its tables there,
and loads into the older fixtures by skipping, and reporting, the tables they lack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from appschema import HEAD_MATVIEWS as MATVIEWS
from appschema import SEED_SCRIPT_TABLES, db_fingerprint, fingerprint_diff
from psycopg import sql

import omc_data
from omc_data import catalog
from omc_data.errors import OmcDataError
from snaptools import build_small

SQL = Path(__file__).parent / "sql" / "omc_head.sql"
HEAD_ONLY = tuple(t for t in catalog.table_names() if t not in SEED_SCRIPT_TABLES)
APP_CONFIGURATION = ("collector", "alert_rule")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``old``: the seed script's eleven tables only (a snapshot as published until now); ``all``: every
    catalog table (the default build)."""
    root = tmp_path_factory.mktemp("head-store")
    old = build_small(root, "old", tables=list(SEED_SCRIPT_TABLES))
    assert old.format_version == 1  # readable by the omc-data that made today's snapshots
    assert build_small(root, "all", days=2).format_version == 2
    return root


def apply_head(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SQL.read_bytes())


def counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        out = {}
        for t in tables:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))).fetchone()
            out[t] = int(row[0]) if row else 0
        return out


def rows_of(url: str, table: str) -> list[Any]:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(sql.Identifier(table))
        return [r[0] for r in conn.execute(query).fetchall()]


def test_the_head_fixture_has_every_table_and_view_and_agrees_with_the_catalog(pg_db: str) -> None:
    apply_head(pg_db)
    with psycopg.connect(pg_db) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
            )
        }
        views = conn.execute(
            "SELECT c.relname, bool_or(i.indisunique) FROM pg_class c"
            " LEFT JOIN pg_index i ON i.indrelid = c.oid"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'm' GROUP BY 1"
        ).fetchall()
        assert len(tables - {"alembic_version"}) == 35
        assert set(catalog.table_names()) <= tables
        # every view has a unique index (REFRESH ... CONCURRENTLY works), as at the app's head
        assert dict(views) == dict.fromkeys(MATVIEWS, True)
        for t in catalog.TABLES:
            columns = conn.execute(
                "SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = %s::regclass"
                " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                [sql.Identifier(t.name).as_string(conn)],
            ).fetchall()
            assert columns == [(c.name, not c.nullable) for c in t.columns], t.name


def test_a_snapshot_of_the_seed_script_tables_loads_and_leaves_the_rest_alone(
    store: Path, pg_db: str
) -> None:
    apply_head(pg_db)
    config = {t: rows_of(pg_db, t) for t in APP_CONFIGURATION}
    assert all(config.values())  # the fixture holds the app's configuration rows
    result = omc_data.load_snapshot("old", db=pg_db, store=store)
    doc = result.to_json()
    assert set(doc["tables"]) == set(SEED_SCRIPT_TABLES)
    assert doc["blockers"] == []
    # the dataset tables the snapshot lacks: left as they are (empty) and reported
    assert sorted(doc["absent_tables"]) == sorted(HEAD_ONLY)
    reported = {b["table"] for b in doc["bridges"] if b["column"] is None}
    assert reported == set(HEAD_ONLY)
    assert counts(pg_db, HEAD_ONLY) == dict.fromkeys(HEAD_ONLY, 0)
    assert {t: rows_of(pg_db, t) for t in APP_CONFIGURATION} == config
    assert counts(pg_db, ("price_data_5min", "user"))["price_data_5min"] > 0
    # the views over the loaded tables refreshed, parents first (the two enrichment views read only
    # tables this snapshot lacks); those over prices hold rows
    assert set(doc["views_refreshed"]) == set(MATVIEWS) - {"mv_coin_sentiment_24h", "mv_signal_summary"}
    assert doc["views_refreshed"].index("mv_coin_targets_5min") < doc["views_refreshed"].index(
        "mv_training_set_v1"
    )
    assert min(counts(pg_db, ("mv_coin_targets_5min", "mv_ohlcv_1m", "mv_training_set_v1")).values()) > 0


def test_the_whole_catalog_fills_its_tables_and_never_the_apps_configuration(store: Path, pg_db: str) -> None:
    apply_head(pg_db)
    config = {t: rows_of(pg_db, t) for t in APP_CONFIGURATION}
    doc = omc_data.load_snapshot("all", db=pg_db, store=store).to_json()
    assert set(doc["tables"]) == set(catalog.table_names())
    assert doc["absent_tables"] == [] and doc["skipped_tables"] == []
    snap = omc_data.open_snapshot("all", store=store)
    assert counts(pg_db, catalog.table_names()) == {n: t.rows for n, t in snap.manifest.tables.items()}
    assert min(counts(pg_db, HEAD_ONLY).values()) > 0
    assert {t: rows_of(pg_db, t) for t in APP_CONFIGURATION} == config
    with psycopg.connect(pg_db) as conn:  # the kill switch the app's endpoint reads
        row = conn.execute("SELECT value::jsonb FROM system_setting WHERE key = 'kill_switch'").fetchone()
        assert row is not None and row[0] == {"active": False}
    # loading the old snapshot over it: the head tables' rows point at the users it replaces, so they
    # stop the load (they are not the snapshot's to delete), and nothing changes
    before = db_fingerprint(pg_db)
    with pytest.raises(OmcDataError) as failure:
        omc_data.load_snapshot("old", db=pg_db, store=store)
    assert "audit_log" in str(failure.value) + " ".join(failure.value.details)
    assert fingerprint_diff(before, db_fingerprint(pg_db)) == []
    # with --cascade exactly those rows go, and the app's configuration stays
    result = omc_data.load_snapshot("old", db=pg_db, store=store, cascade=True)
    assert set(result.cascaded) <= set(HEAD_ONLY) and result.cascaded
    assert {t: rows_of(pg_db, t) for t in APP_CONFIGURATION} == config
