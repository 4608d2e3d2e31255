"""Loading snapshots into a real PostgreSQL: values, sequences, the load record, refusals, atomicity,
the advisory lock, a non-superuser owner, and the CLI's ``load`` / ``status``."""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import omc_data
from omc_data import catalog
from omc_data.errors import DatabaseError, IntegrityError, SchemaMismatchError
from omc_data.loaders import postgres
from omc_data.loaders.ddl import table_ddl
from omc_data.loaders.session import LOCK_KEY
from omc_data.loaders.target import Target
from omc_data.localdb.cluster import create_database, drop_database, free_port
from omc_data.snapshots.store import Snapshot
from pg import PgServer
from snaptools import Run, run_cli, snapshot_rows

AS_OF = "2026-11-01T00:00:00Z"
SMALL: dict[str, Any] = {"as_of": AS_OF, "days": 1, "bcrypt_rounds": 4}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two snapshots of different sizes: ``a`` (3 users, 2 coins, no news) and ``b`` (4 users, 3 coins)."""
    root = tmp_path_factory.mktemp("load-store")
    omc_data.build_snapshot("a", store=root, seed=1, users=3, coins=2, news=0, **SMALL)
    omc_data.build_snapshot("b", store=root, seed=2, users=4, coins=3, **SMALL)
    return root


def snap(store: Path, tag: str) -> Snapshot:
    return omc_data.open_snapshot(tag, store=store)


def manifest_counts(store: Path, tag: str) -> dict[str, int]:
    return {name: t.rows for name, t in snap(store, tag).manifest.tables.items()}


def db_rows(url: str, table: str, *, time_zone: str = "UTC") -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("SET TimeZone = {}").format(sql.Literal(time_zone)))
        cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def counts(url: str) -> dict[str, int]:
    out = {}
    with psycopg.connect(url) as conn:
        for name in catalog.table_names():
            if conn.execute("SELECT to_regclass(%s)", [f'public."{name}"']).fetchone() == (None,):
                continue
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
            assert row is not None
            out[name] = int(row[0])
    return out


def db_state(url: str) -> dict[str, Any]:
    """Everything a load may touch: tables (full dumps), sequences (last_value, is_called), the load log."""
    state: dict[str, Any] = {}
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        rels = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2"
        ).fetchall()
        for schema, name, kind in rels:
            ident = sql.Identifier(schema, name)
            if kind == "S":
                query = sql.SQL("SELECT last_value, is_called FROM {}").format(ident)
            else:
                query = sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(ident)
            state[f"{schema}.{name}"] = conn.execute(query).fetchall()
    return state


def loads_log(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('omc_data.loads')").fetchone() == (None,):
            return []
        return conn.execute(
            "SELECT tag, loaded_by, catalog_fingerprint, manifest_sha256, tables"
            " FROM omc_data.loads ORDER BY id"
        ).fetchall()


# -- a load, checked value by value -----------------------------------------------------------------


def test_load_counts_values_sequences_and_record(store: Path, pg_db: str) -> None:
    result = omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    expected = manifest_counts(store, "a")
    assert result.created_schema is True
    assert {t.name: t.rows for t in result.tables} == expected
    assert [t.name for t in result.tables] == catalog.load_order(expected)
    got = counts(pg_db)
    assert {n: got[n] for n in expected} == expected
    assert set(got) == set(catalog.table_names())  # --create-schema made every dataset table
    assert all(got[n] == 0 for n in got if n not in expected)

    # every user row, every column, exactly (timestamps as instants, read in another time zone)
    want_users = {r["id"]: r for r in snapshot_rows(store, "a", "user")}
    got_users = {r["id"]: r for r in db_rows(pg_db, "user", time_zone="Asia/Tokyo")}
    assert got_users == want_users

    # price rows: decimals keep their scale, timestamps are the same instants
    want_prices = {r["id"]: r for r in snapshot_rows(store, "a", "price_data_5min")}
    got_prices = {r["id"]: r for r in db_rows(pg_db, "price_data_5min", time_zone="America/New_York")}
    assert got_prices == want_prices
    for rid in list(want_prices)[:: max(1, len(want_prices) // 50)]:
        for col in ("bid", "ask", "last"):
            assert str(got_prices[rid][col]) == str(want_prices[rid][col])
            assert got_prices[rid][col].as_tuple().exponent == -8

    with psycopg.connect(pg_db) as conn:
        for table in ("price_data_5min", "protocol_fundamentals"):
            high = conn.execute(f"SELECT max(id) FROM {table}").fetchone()
            nxt = conn.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))").fetchone()
            assert high is not None and nxt is not None
            assert nxt[0] == high[0] + 1, table
        # an empty table keeps a fresh sequence
        assert expected["news_sentiment"] == 0
        empty = conn.execute("SELECT nextval(pg_get_serial_sequence('news_sentiment', 'id'))").fetchone()
        assert empty == (1,)

    manifest_sha = (store / "a" / "manifest.json.sha256").read_text().split()[0]
    [(tag, _, fingerprint, sha, tables)] = loads_log(pg_db)
    assert (tag, fingerprint, sha, tables) == ("a", catalog.fingerprint(), manifest_sha, expected)


def test_second_load_replaces_the_rows(store: Path, pg_db: str) -> None:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    result = omc_data.load_snapshot("b", db=pg_db, store=store)
    expected = manifest_counts(store, "b")
    assert expected != manifest_counts(store, "a")
    assert {t.name: t.deleted for t in result.tables} == manifest_counts(store, "a")
    got = counts(pg_db)
    assert {n: got[n] for n in expected} == expected
    assert {r["id"] for r in db_rows(pg_db, "user")} == {r["id"] for r in snapshot_rows(store, "b", "user")}
    assert [row[0] for row in loads_log(pg_db)] == ["a", "b"]
    with psycopg.connect(pg_db) as conn:
        nxt = conn.execute("SELECT nextval(pg_get_serial_sequence('price_data_5min', 'id'))").fetchone()
    assert nxt == (expected["price_data_5min"] + 1,)


def test_driver_style_url_is_accepted(store: Path, pg_db: str) -> None:
    assert pg_db.startswith("postgresql://")
    url = "postgresql+psycopg://" + pg_db.removeprefix("postgresql://")
    result = omc_data.load_snapshot("a", db=url, store=store, create_schema=True)
    assert result.rows == sum(manifest_counts(store, "a").values())
    assert "+psycopg" not in result.target


# -- refusals that change nothing -------------------------------------------------------------------


def test_create_schema_refuses_when_a_dataset_table_exists(store: Path, pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for stmt in table_ddl(catalog.NEWS_SENTIMENT):
            conn.execute(stmt)
    before = db_state(pg_db)
    with pytest.raises(SchemaMismatchError) as err:
        omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    assert "news_sentiment" in str(err.value)
    assert db_state(pg_db) == before
    assert set(counts(pg_db)) == {"news_sentiment"}


def test_missing_tables_without_create_schema(store: Path, pg_db: str) -> None:
    with pytest.raises(SchemaMismatchError) as err:
        omc_data.load_snapshot("a", db=pg_db, store=store)
    assert err.value.table == "user"
    assert "'user'" in err.value.message
    assert "--create-schema" in (err.value.hint or "")
    assert db_state(pg_db) == {}

    # with some tables present, the first missing one is named
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for stmt in table_ddl(catalog.USER):
            conn.execute(stmt)
    with pytest.raises(SchemaMismatchError) as err:
        omc_data.load_snapshot("a", db=pg_db, store=store)
    assert err.value.table == "agent_sessions"  # the next table in load order
    assert counts(pg_db) == {"user": 0}


def test_corrupted_file_fails_before_the_database_is_touched(store: Path, pg_db: str, tmp_path: Path) -> None:
    omc_data.load_snapshot("b", db=pg_db, store=store, create_schema=True)
    before = db_state(pg_db)
    broken_store = tmp_path / "store"
    shutil.copytree(store / "a", broken_store / "a")
    part = snap(broken_store, "a").part_paths("price_data_5min")[0]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))

    with pytest.raises(IntegrityError) as err:
        omc_data.load_snapshot("a", db=pg_db, store=broken_store)
    assert "price_data_5min" in str(err.value)
    assert db_state(pg_db) == before
    # verification comes first: an unreachable database is not even tried
    closed = f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    with pytest.raises(IntegrityError):
        omc_data.load_snapshot("a", db=closed, store=broken_store)


# -- atomicity --------------------------------------------------------------------------------------


def test_failed_copy_of_a_late_table_leaves_the_database_as_before(store: Path, pg_db: str) -> None:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("SELECT nextval('price_data_5min_new_id_seq')")  # a sequence state a load would move
        # rows already there stay legal; any new row from a COPY breaks the rule
        conn.execute(
            "ALTER TABLE price_data_5min ADD CONSTRAINT short_coin CHECK (length(coin_type) <= 2) NOT VALID"
        )
    before = db_state(pg_db)
    assert before["public.user"]

    with pytest.raises(DatabaseError) as err:
        omc_data.load_snapshot("b", db=pg_db, store=store)
    assert err.value.table == "price_data_5min"
    assert "price_data_5min" in str(err.value)
    assert db_state(pg_db) == before
    assert [row[0] for row in loads_log(pg_db)] == ["a"]


def test_failure_after_sequences_moved_rolls_them_back(store: Path, pg_db: str) -> None:
    """The last step (the load record) fails: every table, sequence and record is as before."""
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("ALTER TABLE omc_data.loads ADD CONSTRAINT not_b CHECK (tag <> 'b')")
    before = db_state(pg_db)
    seq = before["public.price_data_5min_new_id_seq"]
    assert seq == [(manifest_counts(store, "a")["price_data_5min"] + 1, False)]

    with pytest.raises(DatabaseError) as err:
        omc_data.load_snapshot("b", db=pg_db, store=store)
    assert "not_b" in str(err.value)
    after = db_state(pg_db)
    # The failing INSERT itself drew an id for the log row: nextval never rolls back (PostgreSQL
    # semantics), so omc-data's own bookkeeping sequence is the one thing allowed to move.
    assert after.pop("omc_data.loads_id_seq") >= before.pop("omc_data.loads_id_seq")
    assert after == before


def test_rows_referenced_by_an_app_table_stop_the_load(store: Path, pg_db: str) -> None:
    """An app table's foreign key into ``user``: counted before any write, the load stops, nothing changed."""
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ext_backtest_runs"
            ' (id serial PRIMARY KEY, user_id uuid NOT NULL REFERENCES "user" (id))'
        )
        conn.execute('INSERT INTO ext_backtest_runs (user_id) SELECT id FROM "user" LIMIT 1')
    before = db_state(pg_db)
    with pytest.raises(DatabaseError) as err:
        omc_data.load_snapshot("b", db=pg_db, store=store)
    assert "1 in ext_backtest_runs" in str(err.value) and "cascade=True" in str(err.value)
    assert err.value.details == [
        "1 rows of ext_backtest_runs referencing user (ext_backtest_runs_user_id_fkey) would block the load"
        " (ON DELETE NO ACTION)"
    ]
    assert db_state(pg_db) == before


def test_advisory_lock_serialises_loads(store: Path, pg_db: str) -> None:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    before = db_state(pg_db)
    with psycopg.connect(pg_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(DatabaseError) as err:
            omc_data.load_snapshot("b", db=pg_db, store=store)
        assert "another" in str(err.value)
        assert "load" in str(err.value)
        assert db_state(pg_db) == before
        holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    omc_data.load_snapshot("b", db=pg_db, store=store)
    assert [row[0] for row in loads_log(pg_db)] == ["a", "b"]


def test_advisory_lock_with_create_schema_leaves_an_empty_database(store: Path, pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(DatabaseError, match="another"):
            omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    assert db_state(pg_db) == {}


# -- a non-superuser owner --------------------------------------------------------------------------


@pytest.fixture
def owner_db(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """(role, conninfo): a LOGIN, non-superuser role and a new database it owns."""
    role = f"omc_owner_{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    dbname = f"omc_owned_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        create_database(pg_server.admin_url, dbname, owner=role)
        try:
            params = conninfo_to_dict(pg_server.admin_url)
            params.update(user=role, password=password, dbname=dbname)
            yield role, make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})
        finally:
            drop_database(pg_server.admin_url, dbname)
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_load_as_a_non_superuser_owner(store: Path, owner_db: tuple[str, str]) -> None:
    role, url = owner_db
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (
            False,
        )
    omc_data.load_snapshot("a", db=url, store=store, create_schema=True)
    # The index set-aside path too (forced on these small tables): owners may drop and rebuild them.
    done = postgres.load(snap(store, "b"), Target(url, "test"), rebuild_min_rows=0)
    assert "price_data_5min_new_pkey" in next(t.rebuilt for t in done.tables if t.name == "price_data_5min")
    expected = manifest_counts(store, "b")
    got = counts(url)
    assert {n: got[n] for n in expected} == expected
    assert [(r[0], r[1]) for r in loads_log(url)] == [("a", role), ("b", role)]
    with psycopg.connect(url) as conn:
        owners = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace"
        ).fetchall()
    assert owners == [(role,)]


# -- the CLI ----------------------------------------------------------------------------------------


def omc_cli(*args: str, store: Path, home: Path) -> Run:
    return run_cli("--store", str(store), *args, env={"OMC_DATA_HOME": str(home)})


def test_cli_load_and_status(store: Path, pg_db: str, tmp_path: Path) -> None:
    done = omc_cli("load", "a", "--db", pg_db, "--create-schema", "--json", store=store, home=tmp_path)
    assert done.code == 0, done.stderr
    doc = json.loads(done.stdout)
    expected = manifest_counts(store, "a")
    assert doc["tag"] == "a"
    assert doc["created_schema"] is True
    assert {name: t["rows"] for name, t in doc["tables"].items()} == expected
    assert doc["rows"] == sum(expected.values())

    done = omc_cli("status", "--db", pg_db, "--json", store=store, home=tmp_path)
    assert done.code == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["last_load"]["tag"] == "a"
    assert status["last_load"]["tables"] == expected
    assert {n: status["tables"][n] for n in expected} == expected
    assert set(status["tables"]) == set(catalog.table_names())


def test_cli_unreachable_database_never_shows_the_password(store: Path, tmp_path: Path) -> None:
    url = f"postgresql://someone:SECRETPW@127.0.0.1:{free_port()}/x"
    for extra in ((), ("--json",)):
        done = omc_cli("load", "a", "--db", url, *extra, store=store, home=tmp_path)
        assert done.code == 1, done.stderr
        assert "SECRETPW" not in done.stdout
        assert "SECRETPW" not in done.stderr
        if extra:
            assert json.loads(done.stdout)["error"]["kind"] == "connection_failed_error"
    done = omc_cli("status", "--db", url, "--json", store=store, home=tmp_path)
    assert done.code == 1
    assert "SECRETPW" not in done.stdout + done.stderr
