"""Refusals that scripts tell apart: each has its own kind, and ``--json`` carries its fields.

A real server: rows referencing replaced rows (``referencing_rows``), a chain cascade cannot count
(``uncountable_references``), another load holding the lock (``lock_held``) and the app holding the
tables' locks past ``--lock-timeout`` (``lock_timeout``). Fields never hold SQL text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_load import db_state

import omc_data
from omc_data.errors import (
    LockHeldError,
    LockTimeoutError,
    ReferencingRowsError,
    UncountableReferencesError,
)
from omc_data.loaders import session
from snaptools import Run, run_cli

SMALL: dict[str, Any] = {"as_of": "2026-11-01T00:00:00Z", "days": 1, "bcrypt_rounds": 4}
SECRET_LITERAL = "not-a-field-7f3a"  # a literal in the blocking session's SQL


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kinds-store")
    omc_data.build_snapshot("a", store=root, seed=1, users=3, coins=2, **SMALL)
    omc_data.build_snapshot("b", store=root, seed=2, users=4, coins=3, **SMALL)
    return root


@pytest.fixture
def loaded(store: Path, pg_db: str) -> str:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    return pg_db


def cli(store: Path, *args: str) -> Run:
    return run_cli("--store", str(store), *args)


def assert_json_error(run: Run, *, kind: str, code: int) -> dict[str, Any]:
    """Failed with ``code`` and one JSON error document of ``kind``; stderr starts with the error line
    (an error that counts items lists them on the lines after it)."""
    assert run.code == code, run
    error = run.json()["error"]
    assert error["kind"] == kind and error["exit_code"] == code, run
    assert error["message"] and error["hint"], run
    assert "Traceback" not in run.stderr and run.stderr.startswith("error: "), run
    assert len(run.stderr.strip().splitlines()) == 1 + len(error["details"]), run
    return dict(error)


def test_rows_referencing_replaced_rows_are_kind_referencing_rows_with_tables_and_rows(
    store: Path, loaded: str
) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute('CREATE TABLE audit (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id))')
        conn.execute('INSERT INTO audit (user_id) SELECT id FROM "user" LIMIT 2')
    before = db_state(loaded)

    run = cli(store, "load", "b", "--db", loaded, "--json")
    error = assert_json_error(run, kind="referencing_rows", code=1)
    assert error["tables"] == {"audit": 2} and error["rows"] == 2
    assert error["referencing"] == [
        {
            "table": "audit",
            "constraint": "audit_user_id_fkey",
            "references": "user",
            "on_delete": "no action",
            "rows": 2,
            "depth": 1,
        }
    ]
    assert "--cascade" in error["hint"] and "cascade=True" not in error["hint"]  # the CLI's words
    assert "--cascade" in run.stderr
    assert db_state(loaded) == before

    cleared = cli(store, "clear", "--yes", "--db", loaded, "--json")
    error = assert_json_error(cleared, kind="referencing_rows", code=1)
    assert error["tables"] == {"audit": 2}
    assert db_state(loaded) == before

    with pytest.raises(ReferencingRowsError) as caught:  # the library names its parameter
        omc_data.load_snapshot("b", db=loaded, store=store)
    assert caught.value.kind == "referencing_rows" and caught.value.tables == {"audit": 2}
    assert "cascade=True" in str(caught.value) and "--cascade" not in str(caught.value)


def test_a_self_referencing_chain_under_cascade_is_kind_uncountable_references(
    store: Path, loaded: str
) -> None:
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE folders (id serial PRIMARY KEY,"
            ' user_id uuid REFERENCES "user"(id) ON DELETE CASCADE,'
            " parent_id int REFERENCES folders(id) ON DELETE CASCADE)"
        )
        conn.execute('INSERT INTO folders (user_id) SELECT id FROM "user" LIMIT 1')
        conn.execute("INSERT INTO folders (parent_id) SELECT id FROM folders")
    before = db_state(loaded)

    run = cli(store, "load", "b", "--db", loaded, "--cascade", "--json")
    error = assert_json_error(run, kind="uncountable_references", code=1)
    assert error["chains"] == [
        "folders references itself (folders_parent_id_fkey): rows under the counted ones go too"
    ]
    assert error["message"].startswith("--cascade cannot say")
    assert db_state(loaded) == before
    with pytest.raises(UncountableReferencesError, match=r"^cascade=True cannot say"):
        omc_data.load_snapshot("b", db=loaded, store=store, cascade=True)


def test_a_load_while_another_holds_the_lock_is_kind_lock_held_naming_the_holder(
    store: Path, loaded: str
) -> None:
    with psycopg.connect(loaded, autocommit=True) as holder:
        holder.execute("SET application_name = 'omc-data load other'")
        holder.execute("SELECT pg_advisory_lock(%s)", [session.LOCK_KEY])
        run = cli(store, "load", "b", "--db", loaded, "--json")
        error = assert_json_error(run, kind="lock_held", code=1)
        [who] = error["holders"]
        assert who["pid"] == holder.info.backend_pid
        assert who["application_name"] == "omc-data load other"
        assert who["user"] and who["since"].endswith("Z")
        assert "--wait" in error["hint"]
        with pytest.raises(LockHeldError, match="another omc-data load") as caught:
            omc_data.clear_dataset_tables(loaded)
        assert "wait=True" in str(caught.value)
        assert [h["pid"] for h in caught.value.holders] == [holder.info.backend_pid]


def test_the_app_holding_locks_past_lock_timeout_is_kind_lock_timeout_naming_the_sessions(
    store: Path, loaded: str
) -> None:
    before = db_state(loaded)
    with psycopg.connect(loaded) as app:
        app.execute("SET application_name = 'omc-backend'")
        app.execute(f"SELECT count(*) FROM price_data_5min WHERE coin_type <> '{SECRET_LITERAL}'")
        run = cli(store, "load", "b", "--db", loaded, "--lock-timeout", "0.5", "--json")
        error = assert_json_error(run, kind="lock_timeout", code=1)
        [who] = error["blocking"]
        assert who["pid"] == app.info.backend_pid and who["application_name"] == "omc-backend"
        assert who["state"] == "idle in transaction"
        assert "price_data_5min" in error["tables"]
        assert "--lock-timeout" in error["hint"]
        fields = {k: v for k, v in error.items() if k not in ("message", "hint", "details")}
        assert SECRET_LITERAL not in json.dumps(fields)  # SQL text stays out of the fields
        with pytest.raises(LockTimeoutError) as caught:
            omc_data.load_snapshot("b", db=loaded, store=store, lock_timeout=0.5)
        assert "raise lock_timeout" in str(caught.value)
        app.rollback()
    assert db_state(loaded) == before


def test_error_documents_carry_the_errors_attributes(store: Path) -> None:
    run = cli(store, "show", "nope", "--json")
    error = assert_json_error(run, kind="snapshot_not_found_error", code=1)
    assert error["tag"] == "nope" and error["store"] == str(store)
    assert error["hint"].endswith("or pass --store")
