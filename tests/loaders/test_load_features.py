"""The loader's safety features on a real server: check, --dry-run, --cascade, locks, status, clear,
and the index set-aside path (forced on small tables), each proving the database is unchanged when
the load stops and exactly as asked when it goes on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from test_load import counts, db_state, manifest_counts, snap

import omc_data
from omc_data.errors import DatabaseError, SchemaMismatchError
from omc_data.loaders import introspect, postgres, references, session
from omc_data.loaders.target import Target
from snaptools import Pending, Run, build_a_and_b, run_cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_a_and_b(tmp_path_factory.mktemp("features-store"))


@pytest.fixture
def loaded(store: Path, pg_db: str) -> str:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    return pg_db


def cli(store: Path, *args: str) -> Run:
    return run_cli("--store", str(store), *args)


def schema_state(url: str) -> list[tuple[Any, ...]]:
    """Index and constraint definitions, comments and CLUSTER marks of the public schema."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisclustered,"
            " obj_description(i.indexrelid, 'pg_class') FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid), false,"
            " obj_description(oid, 'pg_constraint') FROM pg_constraint"
            " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"
        ).fetchall()


# -- check and --dry-run ----------------------------------------------------------------------------


def test_check_passes_then_names_each_blocker_with_its_way_out(store: Path, loaded: str) -> None:
    ok = cli(store, "check", "b", "--db", loaded, "--json")
    assert ok.code == 0, ok.stderr
    assert ok.json()["ok"] is True and ok.json()["blockers"] == []
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("ALTER TABLE news_sentiment DROP COLUMN total_votes")
        conn.execute("TRUNCATE orders")  # so that the narrower type can be applied
        conn.execute("ALTER TABLE orders ALTER COLUMN side TYPE varchar(2)")
        conn.execute("ALTER TABLE positions ADD COLUMN note text NOT NULL DEFAULT ''")
    before = db_state(loaded)
    bad = cli(store, "check", "b", "--db", loaded, "--json")
    assert bad.code == 1, bad.stderr
    doc = bad.json()
    assert doc["ok"] is False
    assert [(b["table"], b["column"]) for b in doc["blockers"]] == [
        ("orders", "side"),
        ("news_sentiment", "total_votes"),
    ]
    assert "--allow-column-loss" in doc["blockers"][1]["way_out"]
    assert {
        "table": "positions",
        "column": "note",
        "action": "not in the snapshot; filled by the column's default",
    } in doc["bridges"]
    human = cli(store, "check", "b", "--db", loaded)
    assert human.code == 1
    assert "BLOCKER: orders.side: values up to 4 characters do not fit character varying(2)" in human.stdout
    load = cli(store, "load", "b", "--db", loaded)
    assert load.code == 1
    assert "orders.side" in load.stderr and "news_sentiment.total_votes" in load.stderr
    assert db_state(loaded) == before


def test_dry_run_prints_the_plan_and_changes_nothing(store: Path, loaded: str) -> None:
    before = db_state(loaded)
    run = cli(store, "load", "b", "--db", loaded, "--dry-run", "--json")
    assert run.code == 0, run.stderr
    doc = run.json()
    assert doc["dry_run"] is True
    now = manifest_counts(store, "a")
    assert {n: t["rows_to_delete"] for n, t in doc["tables"].items()} == now
    assert {n: t["rows"] for n, t in doc["tables"].items()} == manifest_counts(store, "b")
    assert doc["tables"]["user"]["empty_with"] == "DELETE"
    assert doc["tables"]["price_data_5min"]["empty_with"] == "TRUNCATE"
    assert doc["tables"]["news_sentiment"]["copy_format"] == "text"
    human = cli(store, "load", "b", "--db", loaded, "--dry-run")
    assert human.code == 0 and "dry run: nothing was changed" in human.stdout
    assert db_state(loaded) == before


# -- rows that reference the replaced rows ----------------------------------------------------------

APP_TABLES = """
CREATE TABLE credentials (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id) ON DELETE CASCADE);
CREATE TABLE credential_uses (id serial PRIMARY KEY, credential_id int NOT NULL REFERENCES credentials(id));
CREATE TABLE audit (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id));
CREATE TABLE notes (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id) ON DELETE SET NULL);
INSERT INTO credentials (user_id) SELECT id FROM "user";
INSERT INTO credentials (user_id) VALUES (NULL);
INSERT INTO credential_uses (credential_id) SELECT id FROM credentials;
INSERT INTO audit (user_id) SELECT id FROM "user" LIMIT 2;
INSERT INTO audit (user_id) VALUES (NULL);
INSERT INTO notes (user_id) SELECT id FROM "user" LIMIT 1;
"""


def test_referencing_rows_are_counted_through_cascades_and_deleted_only_with_cascade(
    store: Path, loaded: str
) -> None:
    users = counts(loaded)["user"]
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(APP_TABLES)
    before = db_state(loaded)
    stop = cli(store, "load", "b", "--db", loaded, "--json")
    assert stop.code == 1
    error = stop.json()["error"]
    assert error["details"] == [
        "2 rows of audit referencing user (audit_user_id_fkey) would block the load (ON DELETE NO ACTION)",
        f"{users} rows of credentials referencing user (credentials_user_id_fkey) would be deleted"
        " (ON DELETE CASCADE)",
        "1 rows of notes referencing user (notes_user_id_fkey) would be set to NULL",
        f"{users} rows of credential_uses referencing credentials (credential_uses_credential_id_fkey)"
        " would block the load (ON DELETE NO ACTION)",
    ]
    assert "--cascade" in error["hint"]
    assert db_state(loaded) == before
    dry = cli(store, "load", "b", "--db", loaded, "--dry-run", "--json")
    assert [(r["table"], r["rows"], r["depth"]) for r in dry.json()["referencing_rows"]] == [
        ("audit", 2, 1),
        ("credentials", users, 1),
        ("notes", 1, 1),
        ("credential_uses", users, 2),
    ]
    go = cli(store, "load", "b", "--db", loaded, "--cascade", "--json")
    assert go.code == 0, go.stderr
    assert go.json()["cascade_deleted"] == {"credential_uses": users, "credentials": users, "audit": 2}
    with psycopg.connect(loaded) as conn:
        # Exactly those: the rows with a NULL reference stay; the SET NULL row stays, nulled.
        assert conn.execute("SELECT count(*), count(user_id) FROM credentials").fetchone() == (1, 0)
        assert conn.execute("SELECT count(*) FROM credential_uses").fetchone() == (1,)
        assert conn.execute("SELECT count(*), count(user_id) FROM audit").fetchone() == (1, 0)
        assert conn.execute("SELECT count(*), count(user_id) FROM notes").fetchone() == (1, 0)
    assert counts(loaded) == manifest_counts(store, "b")


# -- locks ------------------------------------------------------------------------------------------


def test_a_second_load_names_the_holder_and_wait_queues_behind_it(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as holder:
        holder.execute("SET application_name = 'omc-data load other'")
        holder.execute("SELECT pg_advisory_lock(%s)", [session.LOCK_KEY])
        pid = holder.info.backend_pid
        run = cli(store, "load", "b", "--db", loaded)
        assert run.code == 1
        assert f"pid {pid} (omc-data load other" in run.stderr and "--wait" in run.stderr
        waiting = Pending(["--store", str(store), "load", "b", "--db", loaded, "--wait"], None, None)
        try:
            wait_until_waiting_for_the_lock(holder)  # the second load queues behind this session
            assert waiting.proc.poll() is None  # still queued: nothing released the lock yet
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [session.LOCK_KEY])
        waited = waiting.result()
        assert waited.code == 0, waited.stderr
        assert "waiting for the load held by" in waited.stderr
    assert counts(loaded) == manifest_counts(store, "b")


def wait_until_waiting_for_the_lock(conn: psycopg.Connection[Any], deadline_s: float = 120.0) -> None:
    """Poll pg_locks until another session waits for omc-data's advisory lock (a generous deadline)."""
    query = """
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND classid = %s AND objid = %s AND objsubid = 1
    """
    key = [session.LOCK_KEY >> 32, session.LOCK_KEY & 0xFFFFFFFF]
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        row = conn.execute(query, key).fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)  # polling interval of a condition, not a synchronising sleep
    raise AssertionError(f"no session waited for the advisory lock within {deadline_s:.0f}s")


def test_lock_timeout_reports_the_blocking_session_and_changes_nothing(store: Path, loaded: str) -> None:
    before = db_state(loaded)
    with psycopg.connect(loaded) as app:
        app.execute("SET application_name = 'omc-backend'")
        app.execute("SELECT count(*) FROM price_data_5min")  # idle in transaction, holding a lock
        started = time.monotonic()
        run = cli(store, "load", "b", "--db", loaded, "--lock-timeout", "0.5")
        assert time.monotonic() - started < 30
        assert run.code == 1
        assert f"pid {app.info.backend_pid} (omc-backend" in run.stderr
        assert "idle in transaction" in run.stderr and "--lock-timeout" in run.stderr
        app.rollback()
    assert db_state(loaded) == before


# -- status and clear -------------------------------------------------------------------------------


def test_status_tells_unchanged_from_changed(store: Path, loaded: str) -> None:
    first = cli(store, "status", "--db", loaded, "--json").json()
    assert first["state"] == "unchanged" and first["last_load"]["tag"] == "a"
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("DELETE FROM orders WHERE id = (SELECT max(id::text)::uuid FROM orders)")
    second = cli(store, "status", "--db", loaded, "--json").json()
    assert second["state"] == "changed" and second["changed_tables"] == ["orders"]
    human = cli(store, "status", "--db", loaded)
    assert "since then: changed (orders)" in human.stdout


def test_status_of_a_database_omc_data_never_loaded_is_unknown(store: Path, pg_db: str) -> None:
    doc = cli(store, "status", "--db", pg_db, "--json").json()
    assert doc["state"] == "unknown" and doc["last_load"] is None and doc["tables"] == {}


def test_clear_needs_yes_and_follows_the_load_rules(store: Path, loaded: str) -> None:
    before = db_state(loaded)
    refused = cli(store, "clear", "--db", loaded)
    assert refused.code == 2 and "--yes" in refused.stderr
    preview = cli(store, "clear", "--db", loaded, "--dry-run", "--json")
    assert preview.json()["tables"] == manifest_counts(store, "a")
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute('CREATE TABLE audit (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id))')
        conn.execute('INSERT INTO audit (user_id) SELECT id FROM "user" LIMIT 1')
    stop = cli(store, "clear", "--db", loaded, "--yes")
    assert stop.code == 1 and "1 in audit" in stop.stderr
    made_here = ("public.audit", "public.audit_id_seq")  # the app table this test adds
    assert {k: v for k, v in db_state(loaded).items() if k not in made_here} == before
    done = cli(
        store, "clear", "--db", loaded, "--yes", "--cascade", "--tables", "price_data_5min,user", "--json"
    )
    assert done.code == 0, done.stderr
    left = counts(loaded)
    assert left["price_data_5min"] == 0 and left["user"] == 0 and left["orders"] == 0  # children went too
    assert left["news_sentiment"] == manifest_counts(store, "a")["news_sentiment"]
    status = cli(store, "status", "--db", loaded, "--json").json()
    assert status["last_load"]["kind"] == "clear" and status["state"] == "unchanged"


# -- the index set-aside path -----------------------------------------------------------------------


def test_indexes_and_keys_set_aside_come_back_identical(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("COMMENT ON INDEX ix_price_data_5min_timestamp IS 'for range scans'")
        conn.execute("ALTER TABLE price_data_5min CLUSTER ON uq_price_data_5min_coin_timestamp")
        conn.execute("COMMENT ON CONSTRAINT orders_user_id_fkey ON orders IS 'owner'")
    shape = schema_state(loaded)
    result = postgres.load(snap(store, "b"), Target(loaded, "test"), rebuild_min_rows=0)
    rebuilt = {t.name: t.rebuilt for t in result.tables}
    assert "ix_price_data_5min_timestamp" in rebuilt["price_data_5min"]
    assert "orders_user_id_fkey" in rebuilt["orders"]
    assert "user_pkey" not in rebuilt["user"]  # other tables' foreign keys depend on it: kept
    assert schema_state(loaded) == shape
    assert counts(loaded) == manifest_counts(store, "b")


def test_a_failure_after_the_set_aside_restores_the_indexes(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("ALTER TABLE news_sentiment ADD CONSTRAINT no_news CHECK (false) NOT VALID")
    before, shape = db_state(loaded), schema_state(loaded)
    with pytest.raises(DatabaseError, match="no_news") as err:
        postgres.load(snap(store, "b"), Target(loaded, "test"), rebuild_min_rows=0)
    assert "nothing was changed" in str(err.value)
    assert db_state(loaded) == before and schema_state(loaded) == shape


def test_unknown_table_in_tables_is_refused_before_connecting(store: Path) -> None:
    with pytest.raises(SchemaMismatchError, match="no table 'nope'"):
        postgres.load(snap(store, "a"), Target("postgresql://nobody@127.0.0.1:1/x", "test"), tables=["nope"])


def test_materialized_views_are_refreshed_in_dependency_order(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            "CREATE MATERIALIZED VIEW mv_a AS SELECT coin_type, count(*) AS n FROM price_data_5min GROUP BY 1"
        )
        conn.execute("CREATE VIEW v_b AS SELECT coin_type, n FROM mv_a")
        conn.execute("CREATE MATERIALIZED VIEW mv_c AS SELECT count(*) AS coins FROM v_b")
        conn.execute("CREATE MATERIALIZED VIEW mv_never AS SELECT 1 AS x FROM orders WITH NO DATA")
    result = omc_data.load_snapshot("b", db=loaded, store=store)
    assert result.refreshed == ["mv_a", "mv_c"]
    with psycopg.connect(loaded) as conn:
        assert conn.execute("SELECT coins FROM mv_c").fetchone() == (3,)
        populated = conn.execute(
            sql.SQL("SELECT relispopulated FROM pg_class WHERE relname = 'mv_never'")
        ).fetchone()
        assert populated == (False,)


def test_a_compose_service_name_that_does_not_resolve_gets_a_hint_and_no_password(store: Path) -> None:
    env = {
        "POSTGRES_SERVER": "db",
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": "S3CRET-pw",
        "POSTGRES_DB": "app",
    }
    for command in (["load", "a"], ["check", "a", "--json"], ["status"]):
        run = run_cli("--store", str(store), *command, env=env)
        assert run.code == 1, run
        assert "S3CRET-pw" not in run.stdout + run.stderr
        assert "'db' does not resolve from here" in run.stdout + run.stderr
        assert "app@db:5432/app (from POSTGRES_*)" in run.stdout + run.stderr


# -- backups and the deep status --------------------------------------------------------------------


def test_backup_is_automatic_only_when_the_rows_are_nowhere_else(store: Path, loaded: str) -> None:
    untouched = cli(store, "load", "b", "--db", loaded, "--json")
    assert untouched.code == 0, untouched.stderr
    assert untouched.json()["backup"] is None  # the rows were snapshot a, still in the store
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("UPDATE orders SET status = 'cancelled', filled_quantity = 0, filled_at = NULL")
        conn.execute("DELETE FROM positions")
    edited = db_state(loaded)
    backed = cli(store, "load", "a", "--db", loaded, "--json")
    assert backed.code == 0, backed.stderr
    tag = backed.json()["backup"]
    assert tag is not None and tag.startswith("pre-load-")
    assert "backing up the current contents first: the tables changed" in backed.stderr
    # The backup puts the edited rows back, exactly.
    restored = cli(store, "load", tag, "--db", loaded, "--no-backup")
    assert restored.code == 0, restored.stderr
    dataset = {f"public.{t}" for t in manifest_counts(store, "a")}
    now = db_state(loaded)
    assert {k: now[k] for k in dataset} == {k: edited[k] for k in dataset}
    forced = cli(store, "load", "b", "--db", loaded, "--backup", "--json")
    assert forced.json()["backup"] not in (None, tag)
    none = cli(store, "load", "a", "--db", loaded, "--no-backup", "--json")
    assert none.json()["backup"] is None


def test_status_sees_an_update_that_counts_and_key_extremes_miss_and_deep_counts_it(
    store: Path, loaded: str
) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("UPDATE price_data_5min SET last = bid WHERE id = 7")
    shallow = cli(store, "status", "--db", loaded, "--json").json()  # the change-tracking trigger saw it
    assert shallow["state"] == "changed" and shallow["changed_tables"] == ["price_data_5min"]
    deep = cli(store, "status", "--db", loaded, "--deep", "--json").json()
    assert deep["state"] == "changed" and deep["changed_tables"] == ["price_data_5min"]
    assert deep["changed_rows"] == {"price_data_5min": {"added": 0, "removed": 0, "changed": 1}}
    human = cli(store, "status", "--db", loaded, "--deep")
    assert "price_data_5min: 0 added, 0 removed, 1 changed" in human.stdout


def test_cascade_refuses_a_chain_it_cannot_count_exactly(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE threads (id serial PRIMARY KEY,"
            ' user_id uuid REFERENCES "user"(id) ON DELETE CASCADE,'
            " parent_id int REFERENCES threads(id) ON DELETE CASCADE)"
        )
        conn.execute('INSERT INTO threads (user_id) SELECT id FROM "user" LIMIT 1')
        conn.execute("INSERT INTO threads (parent_id) SELECT id FROM threads")  # a reply, no user of its own
    before = db_state(loaded)
    run = cli(store, "load", "b", "--db", loaded, "--cascade")
    assert run.code == 1
    assert "threads references itself (threads_parent_id_fkey)" in run.stderr
    assert db_state(loaded) == before


def test_a_reference_added_while_the_load_holds_its_locks_waits_and_is_not_cascaded(
    store: Path, loaded: str
) -> None:
    """Between the count and the delete, the app cannot add a row pointing at a replaced user."""
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE credentials (id serial PRIMARY KEY,"
            ' user_id uuid REFERENCES "user"(id) ON DELETE CASCADE)'
        )
        user_id = conn.execute('SELECT id FROM "user" LIMIT 1').fetchone()
    with psycopg.connect(loaded) as load_conn:
        schema = introspect.read_schema(load_conn, ["user"])
        references.lock_against_new_references(load_conn, schema.foreign_keys, ["user"])
        with psycopg.connect(loaded, autocommit=True) as app:
            app.execute("SET lock_timeout = '300ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                app.execute("INSERT INTO credentials (user_id) VALUES (%s)", user_id)
        load_conn.rollback()
