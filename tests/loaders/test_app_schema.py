"""Loading into the real OMC app schema (``sql/omc_current.sql``, ``sql/omc_seed_era.sql``) with the CLI.

What the app's database adds to an empty one: quirky names (``price_data_5min_new_id_seq``), unique
indexes that are not constraints, an expression index, comments and a CLUSTER ON mark, app tables whose
foreign keys point at dataset rows (one cascading, one chain two levels deep), and materialized views
(one built on another). Every load here either succeeds with all of that intact and the views fresh,
or fails leaving ``db_fingerprint`` (rows, sequences, view contents, definitions) exactly as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from appschema import (
    ALEMBIC_HEADS,
    APP_TABLES,
    HEAD_MATVIEWS,
    MATVIEWS,
    SEED_SCRIPT_TABLES,
    Variant,
    app_row_counts,
    apply_schema,
    db_fingerprint,
    fingerprint_diff,
    schema_part,
    seed_app_rows,
    stale_matviews,
)
from psycopg import sql

import omc_data
from omc_data import catalog
from omc_data.localdb.cluster import create_database, drop_database
from pg import PgServer, cloned_database, unique_name, with_dbname
from snaptools import Run, build_small, run_cli, snapshot_rows, spawn_cli

# Columns the current schema has and the seed era lacks (the catalog's since=CURRENT_HEAD).
CURRENT_ONLY = {
    (t.name, c.name) for t in catalog.TABLES for c in t.columns if c.since == catalog.CURRENT_HEAD
}
# Enough price rows (20 coins x 10 days x 288 ticks = 57,600) for the loader to set the big table's
# indexes and keys aside during its COPY and rebuild them (its threshold is 50,000 rows).
MID = {"coins": 20, "days": 10}
# Enough for a COPY that lasts long enough to be killed in the middle (40 x 60 x 288 = 691,200 rows).
BIG = {"coins": 40, "days": 60}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``a`` (3 users, 2 coins), ``b`` (4 users, 3 coins, another seed) and ``mid`` (57,600 price rows)."""
    root = tmp_path_factory.mktemp("app-store")
    build_small(root, "a", seed=1)
    build_small(root, "b", seed=2, users=4, coins=3)
    build_small(root, "mid", seed=3, **MID)
    return root


@pytest.fixture(scope="module")
def big_store(store: Path) -> Path:
    """``store`` plus ``big`` (691,200 price rows), built only for the test that needs it.

    The same store: the databases hold ``a`` unchanged, which the store has, so a load takes no backup.
    """
    build_small(store, "big", seed=4, **BIG)
    return store


@pytest.fixture(scope="module")
def loaded_template(pg_server: PgServer, store: Path) -> Iterator[PgServer]:
    """A template database: the current app schema holding snapshot ``a`` (cloned per test: fast)."""
    name = unique_name("omc_app_tpl")
    create_database(pg_server.admin_url, name, template=pg_server.template)
    try:
        url = with_dbname(pg_server.admin_url, name)
        apply_schema(url, "current")
        omc_data.load_snapshot("a", db=url, store=store)
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
        yield PgServer(pg_server.admin_url, name)
    finally:
        drop_database(pg_server.admin_url, name)


@pytest.fixture
def loaded_db(loaded_template: PgServer) -> Iterator[str]:
    """A fresh database with the current app schema and snapshot ``a`` loaded."""
    with cloned_database(loaded_template) as url:
        yield url


def load(store: Path, tag: str, url: str, *extra: str, home: Path) -> Run:
    return run_cli("--store", str(store), "load", tag, "--db", url, *extra, env={"OMC_DATA_HOME": str(home)})


def table_counts(url: str) -> dict[str, int]:
    """Rows of each dataset table the database has (these fixtures lack the newer ones)."""
    out: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for name in catalog.table_names():
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f'public."{name}"']).fetchone()
            if not (exists and exists[0]):
                continue
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
            assert row is not None
            out[name] = int(row[0])
    return out


def manifest_counts(store: Path, tag: str, url: str | None = None) -> dict[str, int]:
    """Rows of each table of the snapshot; with ``url``, of those the database there has."""
    snap = omc_data.open_snapshot(tag, store=store)
    present = set(table_counts(url)) if url is not None else set(snap.manifest.tables)
    return {name: t.rows for name, t in snap.manifest.tables.items() if name in present}


def assert_unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after == before, "\n".join(fingerprint_diff(before, after))


# -- the schema files themselves ----------------------------------------------------------------------

_FORMAT = {
    "timestamptz": "timestamp with time zone",
    "varchar": "character varying",
    "varchar[]": "character varying[]",
}


def _format_type(t: catalog.PgType) -> str:
    if t.name == "varchar" and t.length is not None:
        return f"character varying({t.length})"
    return _FORMAT.get(t.sql, t.sql)


def _db_columns(conn: psycopg.Connection[Any], table: str) -> list[tuple[str, str, bool, str | None]]:
    return [
        (r[0], r[1], not r[2], r[3])
        for r in conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " pg_get_expr(d.adbin, d.adrelid)"
            " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            [f'public."{table}"'],
        ).fetchall()
    ]


@pytest.mark.parametrize("variant", ["current", "seed_era", "head"])
def test_schema_files_apply_and_agree_with_the_catalog(pg_db: str, variant: Variant) -> None:
    apply_schema(pg_db, variant)
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (ALEMBIC_HEADS[variant],)
        ]
        for t in catalog.TABLES:
            if variant != "head" and t.name not in SEED_SCRIPT_TABLES:
                continue  # the older fixtures hold the seed script's tables only
            want = [
                (c.name, _format_type(c.type), c.nullable)
                for c in t.columns
                if variant != "seed_era" or c.since is None
            ]
            got = _db_columns(conn, t.name)
            assert [g[:3] for g in got] == want, t.name  # names, types, nullability and order
            for c, (_, _, _, default) in zip(t.columns, got, strict=False):
                if c.serial is not None:
                    assert default == f"nextval('{c.serial.sequence}'::regclass)", (t.name, c.name)
                    seq = conn.execute(
                        "SELECT pg_get_serial_sequence(%s, %s)", [f'"{t.name}"', c.name]
                    ).fetchone()
                    assert seq == (f"public.{c.serial.sequence}",)
                else:
                    assert default == c.default, (t.name, c.name)
            pk = conn.execute(
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                [f'public."{t.name}"'],
            ).fetchall()
            assert pk == [(t.primary_key_name,)]
            fks = conn.execute(
                "SELECT conname, confrelid::regclass::text, confdeltype FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'f'"
                " AND confrelid::regclass::text <> 'user_llm_credentials'",  # an app table
                [f'public."{t.name}"'],
            ).fetchall()
            assert {(n, r.strip('"')) for n, r, _ in fks} == {
                (fk.name, fk.ref_table) for fk in t.foreign_keys
            }
            agent = t.name in ("agent_sessions", "agent_session_messages", "agent_artifacts")
            assert {d for _, _, d in fks} <= ({"c"} if agent and variant == "seed_era" else {"a"}), t.name
            wanted = [uk.name for uk in t.unique_keys] + [ix.name for ix in t.indexes]
            if variant == "seed_era":
                wanted = [n for n in wanted if n != "uq_protocol_fundamentals_protocol_day"]
            for name in wanted:
                assert conn.execute("SELECT to_regclass(%s)", [f"public.{name}"]).fetchone() != (None,), name
        # the app's unique indexes are indexes, not constraints (news_sentiment.url is a constraint)
        unique_constraints = conn.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND connamespace = 'public'::regnamespace"
            " AND conrelid::regclass::text = ANY (%s)",
            [[f'"{n}"' if n == "user" else n for n in catalog.table_names()]],
        ).fetchall()
        assert unique_constraints == [("news_sentiment_url_key",)]
        seq_type = conn.execute(
            "SELECT format_type(seqtypid, NULL) FROM pg_sequence"
            " WHERE seqrelid = 'price_data_5min_new_id_seq'::regclass"
        ).fetchone()
        assert seq_type == ("bigint",)
        n_price_indexes = conn.execute(
            "SELECT count(*) FROM pg_index WHERE indrelid = 'price_data_5min'::regclass"
        ).fetchone()
        assert n_price_indexes == (5,)
        views = {
            r[0]
            for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'm' AND relnamespace = 'public'::regnamespace"
            ).fetchall()
        }
        assert views == {"current": set(MATVIEWS), "head": set(HEAD_MATVIEWS), "seed_era": set()}[variant]
        for table in APP_TABLES[variant]:
            assert conn.execute("SELECT to_regclass(%s)", [f"public.{table}"]).fetchone() != (None,), table
    if variant == "current":
        assert stale_matviews(pg_db) == {}


# -- successful loads ---------------------------------------------------------------------------------


def test_load_into_the_current_schema(store: Path, pg_db: str, tmp_path: Path) -> None:
    apply_schema(pg_db, "current")
    before = db_fingerprint(pg_db)
    done = load(store, "mid", pg_db, "--json", home=tmp_path)
    assert done.code == 0, done
    after = db_fingerprint(pg_db)

    # every row arrived
    expected = manifest_counts(store, "mid")
    assert expected["price_data_5min"] >= 50_000
    assert table_counts(pg_db) == manifest_counts(store, "mid", pg_db)
    # the snapshot's tables this schema lacks were skipped, and said so
    skipped = [n for n in expected if n not in table_counts(pg_db)]
    assert skipped and done.json()["skipped_tables"] == skipped
    want_users = {r["id"] for r in snapshot_rows(store, "mid", "user")}
    with psycopg.connect(pg_db) as conn:
        assert {r[0] for r in conn.execute('SELECT id FROM "user"')} == want_users

    # the definitions are untouched: indexes, constraints, comments, the CLUSTER mark, views, grants
    assert_unchanged(schema_part(before), schema_part(after))
    indexes = after["schema"]["indexes"]
    assert indexes["price_data_5min_new_pkey"][2] is True  # indisclustered
    assert indexes["uq_price_data_5min_coin_timestamp"][-1] == "one tick per coin per timestamp"
    assert after["schema"]["relations"]["price_data_5min"][4] is not None  # the table comment

    # the app tables are as they were
    assert {k: v for k, v in after["tables"].items() if k.split(".")[1] in APP_TABLES["current"]} == {
        k: v for k, v in before["tables"].items() if k.split(".")[1] in APP_TABLES["current"]
    }

    # the materialized views hold the new data (the daily one is built on the hourly one)
    assert stale_matviews(pg_db) == {}
    assert all(after["matviews"][f"public.{v}"]["populated"] for v in MATVIEWS)
    assert after["matviews"]["public.mv_price_daily"]["rows"]
    assert after["matviews"]["public.mv_order_volume"]["rows"]

    # sequences moved past the loaded ids (the irregular bigint one too); last: nextval moves them
    with psycopg.connect(pg_db) as conn:
        for table in ("price_data_5min", "protocol_fundamentals", "news_sentiment"):
            high = conn.execute(sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(table))).fetchone()
            nxt = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table]).fetchone()
            assert high is not None and high[0] is not None and nxt is not None
            assert nxt[0] == high[0] + 1, table
    assert after["sequences"]["public.price_data_5min_new_id_seq"] == (expected["price_data_5min"] + 1, False)


def test_second_load_replaces_the_rows(store: Path, loaded_db: str, tmp_path: Path) -> None:
    before = db_fingerprint(loaded_db)
    assert table_counts(loaded_db) == manifest_counts(store, "a", loaded_db)
    done = load(store, "b", loaded_db, home=tmp_path)
    assert done.code == 0, done
    after = db_fingerprint(loaded_db)
    assert table_counts(loaded_db) == manifest_counts(store, "b", loaded_db)
    for table in ("user", "orders", "agent_sessions"):
        want = {r["id"] for r in snapshot_rows(store, "b", table)}
        with psycopg.connect(loaded_db) as conn:
            got = {r[0] for r in conn.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(table)))}
        assert got == want, table
    assert not {r["id"] for r in snapshot_rows(store, "a", "user")} & {
        r["id"] for r in snapshot_rows(store, "b", "user")
    }
    assert stale_matviews(loaded_db) == {}
    assert after["matviews"] != before["matviews"]
    assert_unchanged(schema_part(before), schema_part(after))
    assert after["sequences"]["public.price_data_5min_new_id_seq"] == (
        manifest_counts(store, "b")["price_data_5min"] + 1,
        False,
    )


# -- the seed-era schema ------------------------------------------------------------------------------


def test_seed_era_schema_stops_on_column_loss_unless_allowed(store: Path, pg_db: str, tmp_path: Path) -> None:
    apply_schema(pg_db, "seed_era")
    before = db_fingerprint(pg_db)
    refused = load(store, "a", pg_db, home=tmp_path)
    assert refused.code == 1, refused
    assert "Traceback" not in refused.stderr and "internal error" not in refused.stderr, refused
    text = refused.stderr + refused.stdout
    named = [(t, c) for t, c in CURRENT_ONLY if f"{t}.{c}" in text]
    assert named, refused  # the message names a table and a column that holds data
    assert "--allow-column-loss" in text, refused
    assert_unchanged(before, db_fingerprint(pg_db))

    done = load(store, "a", pg_db, "--allow-column-loss", "--json", home=tmp_path)
    assert done.code == 0, done
    for table, column in named:  # the dropped columns are reported
        assert table in done.stdout and column in done.stdout, done
    assert table_counts(pg_db) == manifest_counts(store, "a", pg_db)
    with psycopg.connect(pg_db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("28ac3452fc30",)]
    assert_unchanged(schema_part(before), schema_part(db_fingerprint(pg_db)))


# -- app rows that reference dataset rows -------------------------------------------------------------


def test_app_rows_stop_the_load_and_cascade_deletes_exactly_them(
    store: Path, loaded_db: str, tmp_path: Path
) -> None:
    seeded = seed_app_rows(loaded_db)
    assert seeded == {
        "user_llm_credentials": 1,
        "ext_audit_log": 2,
        "ext_backtest_runs": 1,
        "ext_strategy_promotions": 2,
    }
    before = db_fingerprint(loaded_db)
    refused = load(store, "b", loaded_db, home=tmp_path)
    assert refused.code == 1, refused
    assert "Traceback" not in refused.stderr and "internal error" not in refused.stderr, refused
    for table in seeded:
        assert table in refused.stderr, (table, refused)
    assert "--cascade" in refused.stderr, refused
    assert_unchanged(before, db_fingerprint(loaded_db))

    done = load(store, "b", loaded_db, "--cascade", "--json", home=tmp_path)
    assert done.code == 0, done
    assert table_counts(loaded_db) == manifest_counts(store, "b", loaded_db)
    # exactly the referencing rows went (the promotions through their run); the system audit row stayed
    assert app_row_counts(loaded_db) == {
        "alembic_version": 1,
        "user_llm_credentials": 0,
        "ext_audit_log": 1,
        "ext_backtest_runs": 0,
        "ext_strategy_promotions": 0,
    }
    assert done.json()["cascade_deleted"] == seeded
    after = db_fingerprint(loaded_db)
    assert after["tables"]["public.ext_audit_log"] == [
        r for r in before["tables"]["public.ext_audit_log"] if ",," in r
    ]
    assert_unchanged(schema_part(before), schema_part(after))
    assert stale_matviews(loaded_db) == {}


def test_cascade_when_dataset_rows_point_back_at_the_deleted_app_rows(
    store: Path, loaded_db: str, tmp_path: Path
) -> None:
    """The app records which LLM credential a session used: agent_sessions.llm_credential_id points at a
    credential that --cascade deletes (it references a replaced user). Those sessions go too (their
    table is replaced), so the load must succeed, whatever order it deletes in."""
    seeded = seed_app_rows(loaded_db, credentials=100, audit=0, backtests=0)
    with psycopg.connect(loaded_db) as conn:
        linked = conn.execute(
            "UPDATE agent_sessions s SET llm_credential_id = k.id FROM user_llm_credentials k"
            " WHERE k.user_id = s.user_id"
        ).rowcount
    assert linked > 0
    before = db_fingerprint(loaded_db)
    refused = load(store, "b", loaded_db, home=tmp_path)
    assert refused.code == 1, refused
    assert "user_llm_credentials" in refused.stderr, refused
    assert_unchanged(before, db_fingerprint(loaded_db))

    done = load(store, "b", loaded_db, "--cascade", "--json", home=tmp_path)
    assert done.code == 0, done
    assert done.json()["cascade_deleted"] == seeded
    assert table_counts(loaded_db) == manifest_counts(store, "b", loaded_db)
    assert app_row_counts(loaded_db)["user_llm_credentials"] == 0


# -- faults: the database exactly as before -----------------------------------------------------------


def test_corrupted_table_file_changes_nothing(store: Path, loaded_db: str, tmp_path: Path) -> None:
    broken = tmp_path / "store"
    for tag in ("a", "b"):
        shutil.copytree(store / tag, broken / tag)
    part = omc_data.open_snapshot("b", store=broken).part_paths("orders")[-1]
    assert part.is_relative_to(broken / "b" / "tables")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    before = db_fingerprint(loaded_db)
    done = load(broken, "b", loaded_db, home=tmp_path)
    assert done.code == 1, done
    assert "orders" in done.stderr, done
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done
    assert_unchanged(before, db_fingerprint(loaded_db))


def test_failed_copy_of_a_late_table_changes_nothing(store: Path, loaded_db: str, tmp_path: Path) -> None:
    with psycopg.connect(loaded_db, autocommit=True) as conn:
        conn.execute("SELECT nextval('price_data_5min_new_id_seq')")  # a state the load would move
        # the rows there stay legal; every row a COPY brings breaks the rule
        conn.execute("ALTER TABLE orders ADD CONSTRAINT no_new_orders CHECK (quantity < 0) NOT VALID")
    before = db_fingerprint(loaded_db)
    assert before["tables"]["public.orders"]
    done = load(store, "b", loaded_db, home=tmp_path)
    assert done.code == 1, done
    assert "orders" in done.stderr, done
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done
    assert_unchanged(before, db_fingerprint(loaded_db))


def test_failure_after_sequences_and_views_changes_nothing(
    store: Path, loaded_db: str, tmp_path: Path
) -> None:
    """The very last step fails (the load record): sequences were restarted and views refreshed by then."""
    with psycopg.connect(loaded_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE omc_data.loads ADD CONSTRAINT not_b CHECK (tag <> 'b')")
    before = db_fingerprint(loaded_db)
    done = load(store, "b", loaded_db, home=tmp_path)
    assert done.code == 1, done
    assert "not_b" in done.stderr, done
    after = db_fingerprint(loaded_db)
    # nextval never rolls back: omc-data's own bookkeeping sequence is the one thing allowed to move
    assert after["sequences"].pop("omc_data.loads_id_seq") >= before["sequences"].pop("omc_data.loads_id_seq")
    assert_unchanged(before, after)


def _copy_backend(conn: psycopg.Connection[Any]) -> tuple[int, str] | None:
    """(pid, table) of a COPY into this database that has sent rows, if one runs now."""
    row = conn.execute(
        "SELECT pid, relid::regclass::text FROM pg_stat_progress_copy"
        " WHERE datname = current_database() AND tuples_processed > 0 ORDER BY pid LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


def test_killed_loader_changes_nothing(big_store: Path, loaded_db: str, tmp_path: Path) -> None:
    """SIGKILL in the middle of the big table's COPY (its indexes set aside): the server rolls back."""
    before = db_fingerprint(loaded_db)
    with psycopg.connect(loaded_db, autocommit=True) as watcher:
        running = spawn_cli(
            "--store", str(big_store), "load", "big", "--db", loaded_db, env={"OMC_DATA_HOME": str(tmp_path)}
        )  # fmt: skip
        backend: tuple[int, str] | None = None
        deadline = time.monotonic() + 60
        try:
            while backend is None or backend[1] != "price_data_5min":
                assert running.proc.poll() is None, running.result()
                assert time.monotonic() < deadline, "no COPY into price_data_5min seen"
                backend = _copy_backend(watcher)
                time.sleep(0.005)
            os.kill(running.proc.pid, signal.SIGKILL)
        finally:
            with contextlib.suppress(ProcessLookupError):
                running.proc.kill()
            run = running.result()
        assert run.code == -signal.SIGKILL, run
        while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend[0]]).fetchone():
            assert time.monotonic() < deadline, "the killed loader's backend is still there"
            time.sleep(0.02)
    assert_unchanged(before, db_fingerprint(loaded_db))
