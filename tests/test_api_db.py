"""The API's database chores: ``clear_dataset_tables`` on a real server, and the local server's
``local_server_up/status/reset/down`` returning typed values (what ``omc-data db`` prints)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import omc_data
from omc_data.api import LocalServer, LocalServerStopped
from omc_data.errors import ReferencingRowsError, UsageError

SMALL: dict[str, Any] = {"as_of": "2026-11-01T00:00:00Z", "days": 1, "bcrypt_rounds": 4}


def counts(db: str) -> dict[str, int]:
    with psycopg.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        out = {}
        for name in names:
            row = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            out[name] = int(row[0]) if row else 0
    return out


def test_clear_dataset_tables_counts_refuses_and_empties(tmp_path: Path, pg_db: str) -> None:
    omc_data.build_snapshot("a", store=tmp_path, seed=1, users=3, coins=2, **SMALL)
    omc_data.load_snapshot("a", db=pg_db, store=tmp_path, create_schema=True)
    before = counts(pg_db)

    dry = omc_data.clear_dataset_tables(pg_db, dry_run=True)
    assert dry.dry_run and dry.tables == {name: before[name] for name in dry.tables}
    assert sum(dry.tables.values()) > 0 and counts(pg_db) == before

    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute('CREATE TABLE audit (id serial PRIMARY KEY, user_id uuid REFERENCES "user"(id))')
        conn.execute('INSERT INTO audit (user_id) SELECT id FROM "user" LIMIT 1')
    with pytest.raises(ReferencingRowsError) as caught:
        omc_data.clear_dataset_tables(pg_db, tables=["user"])
    assert caught.value.tables == {"audit": 1}

    said: list[str] = []
    done = omc_data.clear_dataset_tables(pg_db, cascade=True, notice=said.append)
    assert not done.dry_run and done.cascaded == {"audit": 1}
    after = counts(pg_db)
    assert all(after[name] == 0 for name in done.tables) and after["audit"] == 0
    last = omc_data.database_status(pg_db)["last_load"]
    assert last is not None and last["kind"] == "clear"


def test_local_server_status_without_a_server_changes_nothing(tmp_path: Path) -> None:
    status = omc_data.local_server_status(tmp_path / "home")
    assert status == LocalServer(exists=False, running=False)
    assert status.to_json() == {"exists": False, "running": False, "url": None}
    assert omc_data.local_server_down(tmp_path / "home") == LocalServerStopped(stopped=False, removed=False)
    with pytest.raises(UsageError, match="no local server runs"):
        omc_data.local_server_reset(tmp_path / "home")
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())


@pytest.fixture
def home() -> Iterator[Path]:
    """A /tmp folder the server's OS user can traverse (pytest's tmp_path is private for root)."""
    path = Path(tempfile.mkdtemp(prefix="omc-data-test-home-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    omc_data.local_server_down(path, remove=True)
    shutil.rmtree(path, ignore_errors=True)


def test_local_server_up_status_reset_down(home: Path) -> None:
    up = omc_data.local_server_up(home)
    assert up.exists and up.running and up.url and up.port and up.postgres_version
    assert omc_data.local_server_up(home) == up  # idempotent
    assert omc_data.local_server_status(home) == up
    assert up.to_json()["url"] == up.url and up.to_json()["data_dir"] == str(up.data_dir)

    with psycopg.connect(up.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE scratch (id int)")
    assert omc_data.local_server_reset(home) == up
    with psycopg.connect(up.url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert row == (0,)

    assert omc_data.local_server_down(home) == LocalServerStopped(stopped=True, removed=False)
    stopped = omc_data.local_server_status(home)
    assert stopped.exists and not stopped.running and stopped.url == up.url
    assert omc_data.local_server_down(home, remove=True) == LocalServerStopped(stopped=True, removed=True)
    assert omc_data.local_server_status(home) == LocalServer(exists=False, running=False)
