"""Capturing a database into a snapshot: exact round trips, older schemas, read-only and consistent
reading, refusals, atomicity, no password anywhere, and pruning the pre-load backups."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from appschema import ALEMBIC_HEADS, apply_schema, db_fingerprint
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

import omc_data
from omc_data import api, catalog
from omc_data.catalog import CURRENT_HEAD
from omc_data.errors import DatabaseError, SchemaMismatchError, SnapshotExistsError, UsageError
from omc_data.loaders.capture import backup_tag, pg_type_name
from omc_data.loaders.copyout import uuids_from_text
from omc_data.snapshots.store import BACKUP_TAG, TMP_PREFIX, Store, validate_tag
from pg import unique_name
from snaptools import (
    assert_json_error,
    build_small,
    fresh_copy,
    run_cli,
    run_cli_many,
    snapshot_rows,
    tree_state,
)

NEW_COLUMNS = {t.name: [c.name for c in t.columns if c.since == CURRENT_HEAD] for t in catalog.TABLES}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("capture-store")
    # In the past for any clock that runs these tests: a capture checks that no row lies in its future.
    build_small(root, "orig", as_of="2025-01-01T00:00:00Z")
    return root


@pytest.fixture
def store(built: Path, tmp_path: Path) -> Path:
    """A private copy of the module's store: the tests add captures to it."""
    return fresh_copy(built, tmp_path)


@pytest.fixture
def loaded(store: Path, pg_db: str) -> str:
    """A database holding snapshot ``orig`` (made by the loader from the catalog's DDL)."""
    api.load_snapshot("orig", db=pg_db, store=store, create_schema=True)
    return pg_db


@contextlib.contextmanager
def reader_role(url: str) -> Iterator[tuple[str, str]]:
    """A login role with a password that may only SELECT the tables of ``public``: (its URL, password)."""
    name, password = unique_name("omc_reader"), f"pw-{secrets.token_hex(12)}"
    role = sql.Identifier(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(password)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(role))
    params = conninfo_to_dict(url)
    role_url = f"postgresql://{name}:{password}@{params['host']}:{params['port']}/{params['dbname']}"
    try:
        yield role_url, password
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
            conn.execute(sql.SQL("DROP ROLE {}").format(role))


def execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def store_entries(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def all_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


# --- round trips ---------------------------------------------------------------------------------------


def test_capture_of_a_loaded_build_is_the_build(store: Path, pg_db: str) -> None:
    """load --create-schema, capture as a SELECT-only role with a password: same rows, same bytes, and
    verify, validate and diff agree; the database is untouched and the password appears nowhere."""
    load = run_cli("--store", str(store), "load", "orig", "--db", pg_db, "--create-schema", "--json")
    assert load.code == 0, load
    with reader_role(pg_db) as (role_url, password):
        before = db_fingerprint(pg_db)
        run = run_cli("--store", str(store), "capture", "--tag", "cap", "--db", role_url, "--json")
        assert run.code == 0, run
        refused, verify, validate = run_cli_many(
            [
                ["--store", str(store), "capture", "--tag", "cap", "--db", role_url, "--json"],
                ["--store", str(store), "verify", "cap", "--json"],
                ["--store", str(store), "validate", "cap", "--json"],
            ]
        )
        assert db_fingerprint(pg_db) == before  # rows, sequences and definitions exactly as they were
        assert password not in run.stdout + run.stderr + refused.stdout + refused.stderr
        assert password not in all_text(store / "cap")
    doc = run.json()
    assert doc["tag"] == "cap" and doc["kind"] == "capture" and doc["warnings"] == 0
    assert doc["rows"] == omc_data.open_snapshot("orig", store=store).manifest.rows
    assert "@" in doc["target"] and password not in doc["target"]

    for name in catalog.table_names():
        assert snapshot_rows(store, "cap", name) == snapshot_rows(store, "orig", name), name
    orig = omc_data.open_snapshot("orig", store=store).manifest
    cap = omc_data.open_snapshot("cap", store=store).manifest
    assert list(cap.tables) == list(orig.tables)
    for name, entry in orig.tables.items():  # sorted by key like a build: the very same Parquet bytes
        assert [p.sha256 for p in cap.tables[name].parts] == [p.sha256 for p in entry.parts], name
        assert cap.tables[name].schema == entry.schema
    assert cap.kind == "capture" and cap.format_version == 2  # json columns
    assert cap.inputs["isolation"] == "repeatable read" and cap.inputs["read_only"] is True
    assert cap.inputs["last_load_tag"] is None  # the reader role may not read omc_data.loads
    assert cap.sources["postgres"]["outcome"] == "collected"

    assert verify.code == 0 and verify.json()["ok"], verify
    assert validate.code == 0 and validate.json()["passed"] and validate.json()["warnings"] == 0, validate
    assert api.diff_snapshots("orig", "cap", store=store).same

    # An existing tag is refused before anything is read or written.
    assert_json_error(refused, kind="snapshot_exists_error", code=1)


def test_capture_from_the_apps_current_schema(store: Path, pg_db: str) -> None:
    """The alembic-made schema (app tables, materialized views, irregular names): the dataset tables only."""
    apply_schema(pg_db, "current")
    api.load_snapshot("orig", db=pg_db, store=store)
    result = api.capture_snapshot("cap", db=pg_db, store=store)
    held = list(result.snapshot.manifest.tables)
    for name in held:
        assert snapshot_rows(store, "cap", name) == snapshot_rows(store, "orig", name), name
    inputs = result.snapshot.manifest.inputs
    # the tables newer than the seed era, which this fixture lacks, are left out and recorded
    newer = [t.name for t in catalog.TABLES if t.since is not None]
    assert (
        newer and inputs["missing_tables"] == newer and set(held) == set(catalog.table_names()) - set(newer)
    )
    assert inputs["alembic_revision"] == ALEMBIC_HEADS["current"]
    assert inputs["last_load_tag"] == "orig"
    assert inputs["missing_columns"] == {} and inputs["ignored_columns"] == {}
    # A capture loads like any snapshot, and capturing again gives the same bytes.
    api.load_snapshot("cap", db=pg_db, store=store)
    again = api.capture_snapshot("again", db=pg_db, store=store).snapshot.manifest
    assert again.inputs["last_load_tag"] == "cap"
    for name, entry in result.snapshot.manifest.tables.items():
        assert [p.sha256 for p in again.tables[name].parts] == [p.sha256 for p in entry.parts], name


def test_capture_from_the_seed_era_schema_leaves_the_new_columns_null(store: Path, pg_db: str) -> None:
    apply_schema(pg_db, "seed_era")
    api.load_snapshot("orig", db=pg_db, store=store, allow_column_loss=True)
    before = db_fingerprint(pg_db)
    result = api.capture_snapshot("old", db=pg_db, store=store)
    assert db_fingerprint(pg_db) == before
    manifest = result.snapshot.manifest
    assert manifest.inputs["alembic_revision"] == ALEMBIC_HEADS["seed_era"]
    assert manifest.inputs["missing_columns"] == {t: cols for t, cols in NEW_COLUMNS.items() if cols}
    assert manifest.inputs["missing_tables"] == [t.name for t in catalog.TABLES if t.since is not None]
    for name in manifest.tables:
        new = NEW_COLUMNS[name]
        expected = [{**r, **dict.fromkeys(new)} for r in snapshot_rows(store, "orig", name)]
        assert snapshot_rows(store, "old", name) == expected, name
    diff = api.diff_snapshots("orig", "old", store=store)
    changed = {n for n, t in diff.tables.items() if t.status != "unchanged"}
    assert changed == {n for n, cols in NEW_COLUMNS.items() if cols} | set(manifest.inputs["missing_tables"])
    for name, t in diff.tables.items():
        if name not in manifest.tables:
            assert t.status == "removed"
            continue
        assert t.added == t.removed == 0
        assert set(t.columns_changed) <= set(NEW_COLUMNS[name]), name


def test_older_columns_extra_columns_and_other_types(store: Path, loaded: str) -> None:
    """A dropped column is NULL, an unknown one ignored, a wider numeric rounded and counted as a warning."""
    execute(
        loaded,
        "ALTER TABLE news_sentiment DROP COLUMN total_votes",
        "ALTER TABLE \"user\" ADD COLUMN nickname text DEFAULT 'x'",
        "ALTER TABLE protocol_fundamentals ALTER COLUMN tvl_usd TYPE numeric",
        "UPDATE protocol_fundamentals SET tvl_usd = tvl_usd + 0.004 WHERE id = 1",
        "ALTER TABLE positions ALTER COLUMN coin_type TYPE text",
        "DELETE FROM deployed_algorithms",
    )
    result = api.capture_snapshot("cap", db=loaded, store=store)
    inputs = result.snapshot.manifest.inputs
    assert inputs["missing_columns"] == {"news_sentiment": ["total_votes"]}
    assert inputs["ignored_columns"] == {"user": ["nickname"]}
    assert inputs["type_differences"] == {
        "positions": {"coin_type": "text"},
        "protocol_fundamentals": {"tvl_usd": "numeric"},
    }
    news = snapshot_rows(store, "cap", "news_sentiment")
    assert news == [{**r, "total_votes": None} for r in snapshot_rows(store, "orig", "news_sentiment")]
    assert snapshot_rows(store, "cap", "user") == snapshot_rows(store, "orig", "user")
    assert snapshot_rows(store, "cap", "positions") == snapshot_rows(store, "orig", "positions")
    assert result.snapshot.manifest.tables["deployed_algorithms"].rows == 0  # an empty table is a table
    assert snapshot_rows(store, "cap", "deployed_algorithms") == []
    assert snapshot_rows(store, "cap", "protocol_fundamentals") == snapshot_rows(
        store, "orig", "protocol_fundamentals"
    )  # x + 0.004 rounded back to x at the catalog's scale of 2
    rounded = [c for c in result.report.warnings if c.name == "capture.rounded.tvl_usd"]
    assert [c.failures for c in rounded] == [1]
    assert result.report.passed  # captured rows never block
    recorded = result.snapshot.manifest.validation
    assert recorded["warnings"] == 1 and recorded["blocking_failures"] == 0


def test_real_life_rule_breaks_are_warnings(store: Path, loaded: str) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        broken = conn.execute(
            "UPDATE agent_sessions SET completed_at = created_at - interval '1 day'"
            " WHERE completed_at IS NOT NULL"
        ).rowcount
    assert broken > 0
    result = api.capture_snapshot("cap", db=loaded, store=store)
    assert [(c.name, c.failures) for c in result.report.warnings] == [
        ("agent_sessions.completed_after_created", broken)
    ]
    report = api.validate_snapshot("cap", store=store)
    assert report.passed and [c.severity for c in report.warnings] == ["warning"]


def test_tables_are_read_in_one_snapshot_of_the_database(store: Path, loaded: str) -> None:
    """Rows committed while the capture runs (after it began) are not in it, whatever table they are in."""

    class Meddler:
        def task(self, description: str, total: int | None = None) -> Any:
            if description == "capture user":  # the first table: news is read much later
                execute(
                    loaded,
                    "INSERT INTO news_sentiment (title, collected_at) VALUES ('late', now())",
                    "DELETE FROM orders",
                )
            return contextlib.nullcontext(NullTask())

    api.capture_snapshot("cap", db=loaded, store=store, progress=Meddler())
    for name in ("news_sentiment", "orders"):
        assert snapshot_rows(store, "cap", name) == snapshot_rows(store, "orig", name)


class NullTask:
    def advance(self, amount: int = 1) -> None:
        return None


# --- refusals and failures -------------------------------------------------------------------------------


def test_missing_tables_bad_arguments_and_unreadable_rows(store: Path, loaded: str) -> None:
    execute(
        loaded,
        "DROP TABLE news_sentiment",
        "ALTER TABLE orders ALTER COLUMN coin_type DROP NOT NULL",
        "UPDATE orders SET coin_type = NULL WHERE id = (SELECT id FROM orders ORDER BY id LIMIT 1)",
    )
    before = tree_state(store)
    base = ["--store", str(store), "capture", "--db", loaded, "--json"]
    everything_else = ",".join(t for t in catalog.table_names() if t not in ("news_sentiment", "orders"))
    missing, unknown, bad_tag, null_in_orders, narrowed, help_capture, help_prune = run_cli_many(
        [
            [*base, "--tag", "a"],
            [*base, "--tag", "b", "--tables", "user,nope"],
            [*base, "--tag", "../x"],
            [*base, "--tag", "c", "--tables", "orders"],
            [*base, "--tag", "d", "--tables", everything_else],
            ["capture", "--help"],
            ["prune", "--help"],
        ]
    )
    error = assert_json_error(missing, kind="schema_mismatch_error", code=1)
    assert "news_sentiment" in error["message"] and "--tables" in error["hint"]
    assert_json_error(unknown, kind="usage_error", code=2)
    assert_json_error(bad_tag, kind="invalid_tag_error", code=2)
    error = assert_json_error(null_in_orders, kind="schema_mismatch_error", code=1)
    assert "orders.coin_type" in error["message"]
    for run in (help_capture, help_prune):
        assert run.code == 0 and "Example" in run.stdout, run
    assert narrowed.code == 0, narrowed
    assert set(narrowed.json()["tables"]) == set(everything_else.split(","))
    after = tree_state(store)
    assert {k: after[k] for k in before} == before
    assert sorted(set(after) - set(before)) == sorted(k for k in after if k == "d" or k.startswith("d/"))
    assert not any(name.startswith(TMP_PREFIX) for name in store_entries(store))


def test_a_failure_mid_capture_leaves_no_snapshot_and_no_temporary_files(store: Path, loaded: str) -> None:
    """The server connection dies while the capture is under way (after two tables were written)."""

    class Killer:
        def task(self, description: str, total: int | None = None) -> Any:
            if description == "capture agent_session_messages":
                with psycopg.connect(loaded, autocommit=True) as conn:
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND state = 'idle in transaction'"
                    )
            return contextlib.nullcontext(NullTask())

    entries = store_entries(store)
    with pytest.raises(DatabaseError, match="agent_session_messages") as info:
        api.capture_snapshot("cap", db=loaded, store=store, progress=Killer())
    assert info.value.table == "agent_session_messages"
    assert store_entries(store) == entries  # no cap/, no .tmp-cap-*, no lock


def test_refusals_before_touching_the_database(store: Path, tmp_path: Path) -> None:
    nowhere = "postgresql://nobody:hunter2-secret@127.0.0.1:1/nothing"
    with pytest.raises(SnapshotExistsError):
        api.capture_snapshot("orig", db=nowhere, store=store)
    with pytest.raises(UsageError):
        api.capture_snapshot("x", db=nowhere, store=store, tables=["no_such_table"])
    with pytest.raises(DatabaseError) as info:  # unreachable: named without the password
        api.capture_snapshot("x", db=nowhere, store=store)
    assert "nobody@127.0.0.1:1/nothing" in str(info.value) and "hunter2" not in str(info.value)
    run = run_cli("--store", str(store), "capture", "--tag", "x", "--db", nowhere, "--json")
    assert_json_error(run, kind="connection_failed_error", code=1)
    assert "hunter2" not in run.stdout + run.stderr
    assert not (store / "x").exists()


def test_values_a_snapshot_cannot_hold_fail_by_name(store: Path, loaded: str) -> None:
    """A NULL where the catalog says NOT NULL (seen by the client), a text that is no uuid (cast by the
    server in the middle of the COPY): each fails naming the table, and leaves nothing behind."""
    execute(
        loaded,
        "ALTER TABLE agent_sessions ALTER COLUMN user_goal DROP NOT NULL",
        "UPDATE agent_sessions SET user_goal = NULL",
        "ALTER TABLE orders ALTER COLUMN algorithm_id TYPE text",
        "UPDATE orders SET algorithm_id = 'not-a-uuid'"
        " WHERE id = (SELECT id FROM orders ORDER BY id DESC LIMIT 1)",  # the last row the COPY sends
    )
    entries = store_entries(store)
    with pytest.raises(SchemaMismatchError, match=r"agent_sessions\.user_goal"):
        api.capture_snapshot("cap", db=loaded, store=store)
    with pytest.raises(DatabaseError, match="not-a-uuid") as info:
        api.capture_snapshot("cap", db=loaded, store=store, tables=["orders"])
    assert info.value.table == "orders"
    assert store_entries(store) == entries


# --- backups and prune ------------------------------------------------------------------------------------


def test_backup_tags(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    now = dt.datetime(2026, 11, 24, 10, 9, 8, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    first = backup_tag(store, now)
    assert first == "pre-load-20261124T080908Z" and validate_tag(first) and BACKUP_TAG.fullmatch(first)
    (store.root / first).mkdir(parents=True)
    (store.root / f"{TMP_PREFIX}{first}-1-abc").mkdir()  # a capture under way takes -1
    assert backup_tag(store, now) == f"{first}-2"
    assert BACKUP_TAG.fullmatch(f"{first}-2") and validate_tag(f"{first}-2")
    with pytest.raises(ValueError, match="naive"):
        backup_tag(store, dt.datetime(2026, 11, 24))


def test_prune_keeps_the_newest_backups(store: Path, loaded: str) -> None:
    s = Store(store)
    start = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    backups = []
    for i in range(4):  # created in this order, so the manifests' created_at order them too
        tag = backup_tag(s, start + dt.timedelta(minutes=i))
        api.capture_snapshot(tag, db=loaded, store=store, tables=["user"])
        backups.append(tag)
    api.capture_snapshot("manual", db=loaded, store=store, tables=["user"])  # not a backup tag
    build_small(store, "pre-load-20200101T000000Z")  # a backup's name, but a build: never pruned
    (store / "pre-load-20200101T000001Z").mkdir()  # unreadable: its age is unknown, so it stays
    before = tree_state(store)
    base = ["--store", str(store), "prune"]
    dry, no_kind = run_cli_many(
        [[*base, "--backups", "--keep", "2", "--dry-run", "--json"], [*base, "--keep", "2"]]
    )
    assert dry.code == 0, dry
    assert [e["tag"] for e in dry.json()["removed"]] == backups[:2]
    assert dry.json()["kept"] == backups[2:]
    assert [e["tag"] for e in dry.json()["unreadable"]] == ["pre-load-20200101T000001Z"]
    assert tree_state(store) == before  # a dry run deletes nothing
    assert no_kind.code == 2, no_kind

    real = run_cli(*base, "--backups", "--keep", "2")
    assert real.code == 0, real
    assert [line.split()[1] for line in real.stdout.splitlines()] == backups[:2]
    assert Store(store).tags() == sorted(
        ["orig", "manual", "pre-load-20200101T000000Z", "pre-load-20200101T000001Z", *backups[2:]]
    )
    assert Store(store).prune_backups(5).removed == []


# --- helpers ---------------------------------------------------------------------------------------------


def test_type_spelling_and_uuid_decoding() -> None:
    import uuid

    import pyarrow as pa

    assert pg_type_name("character varying(20)") == "varchar(20)"
    assert pg_type_name("timestamp with time zone") == "timestamptz"
    assert pg_type_name("character varying[]") == "varchar[]"
    assert pg_type_name("numeric(20,8)") == "numeric(20,8)"
    values = [uuid.uuid4(), None, uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)]
    text = pa.array([str(uuid.uuid4())] + [None if v is None else str(v) for v in values]).slice(1)
    assert uuids_from_text(text).to_pylist() == values  # a sliced array: its offset is honoured
    assert uuids_from_text(pa.array([str(values[0]).upper()])).to_pylist() == [values[0]]
    assert uuids_from_text(pa.array([], pa.string())).to_pylist() == []
    for bad in ("not-a-uuid", str(values[0]).replace("-", "+")):
        with pytest.raises(ValueError):
            uuids_from_text(pa.array([bad]))
