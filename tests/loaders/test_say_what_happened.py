"""Issue 14, item 7 (database side): errors say what happened without leaking other sessions' data.

A lock-timeout error names the blocking sessions' statement kind and tables ("UPDATE on user"), never
their SQL text (which holds literal values). Connection errors that are not "nothing listens on the
local server" do not suggest 'omc-data db up'.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from test_load import db_state

import omc_data
from omc_data.errors import ConnectionFailedError
from omc_data.loaders import session
from omc_data.loaders.target import Target
from pg import with_dbname
from snaptools import Run, run_cli

SMALL: dict[str, Any] = {"as_of": "2026-11-01T00:00:00Z", "days": 1, "bcrypt_rounds": 4}
SECRET = "hunter2-s3cr3t-9b1e"  # a literal value in the blocking session's UPDATE


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("say-store")
    omc_data.build_snapshot("a", store=root, seed=1, users=3, coins=2, **SMALL)
    omc_data.build_snapshot("b", store=root, seed=2, users=4, coins=3, **SMALL)
    return root


def cli(store: Path, *args: str) -> Run:
    return run_cli("--store", str(store), *args)


def test_a_lock_timeout_names_the_statement_kind_and_table_never_its_literals(
    store: Path, pg_db: str
) -> None:
    omc_data.load_snapshot("a", db=pg_db, store=store, create_schema=True)
    with psycopg.connect(pg_db) as app:
        app.execute("SET application_name = 'omc-backend'")
        app.execute(f"""UPDATE "user" SET full_name = '{SECRET}' WHERE is_superuser""")
        before = db_state(pg_db)  # another session: the uncommitted UPDATE is not part of it
        as_json = cli(store, "load", "b", "--db", pg_db, "--lock-timeout", "0.5", "--json")
        human = cli(store, "load", "b", "--db", pg_db, "--lock-timeout", "0.5")
        assert db_state(pg_db) == before
        app.rollback()
    for run in (as_json, human):
        assert run.code == 1, run
        assert SECRET not in run.stdout and SECRET not in run.stderr, run
        assert "idle in transaction: UPDATE on user)" in run.stderr, run
    error = as_json.json()["error"]
    assert error["kind"] == "lock_timeout" and SECRET not in json.dumps(error)
    assert "UPDATE on user" in error["message"]


def test_the_kind_of_a_statement_skips_comments_and_never_shows_text() -> None:
    assert (
        session.statement_kind("  /* app */ -- x\n update \"user\" set x = 'v'", "user") == "UPDATE on user"
    )
    assert session.statement_kind("", None) == "a statement"
    assert session.statement_kind("SELECT 'secret'", "orders, user") == "SELECT on orders, user"


def _hint(dsn: str) -> str:
    with pytest.raises(ConnectionFailedError) as caught:
        session.connect(Target(dsn, "--db"))
    return caught.value.hint or ""


def test_connection_errors_suggest_db_up_only_when_nothing_listens_locally(pg_db: str) -> None:
    missing = _hint(with_dbname(pg_db, "no_such_database_here"))
    assert "db up" not in missing and "database name" in missing, missing
    port = psycopg.conninfo.conninfo_to_dict(pg_db).get("port") or 5432
    no_role = _hint(f"postgresql://no_such_role_x@127.0.0.1:{port}/postgres")
    assert "db up" not in no_role and "user name" in no_role, no_role
    assert "db up" in _hint("postgresql://x@127.0.0.1:1/postgres")  # nothing listens locally
    elsewhere = _hint("postgresql://x@127.0.0.2:1/postgres")  # refused, but not the local default
    assert "db up" not in elsewhere and "127.0.0.2" in elsewhere, elsewhere
    # a server that asks for a password (the test cluster trusts local users): libpq's own words
    asked = session._connect_hint(
        Target("postgresql://x@db.example/app", "--db"),
        psycopg.OperationalError(
            'connection to server at "db.example" failed: fe_sendauth: no password supplied'
        ),
    )
    assert "db up" not in asked and "password" in asked
