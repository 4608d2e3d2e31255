"""Trust (issue 14) on a real PostgreSQL: check and load refuse a damaged snapshot by name, the rows each
COPY wrote are compared with the manifest before the commit, and ordinary failures (a read-only store
for the backup, a server restarted mid-load, an empty table list) are one-line errors. Each case proves
the database fingerprint and the store unchanged.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from appschema import db_fingerprint, fingerprint_diff

import omc_data
from omc_data.errors import ConnectionLostError, IntegrityError, StoreError, UsageError
from omc_data.loaders import postgres
from omc_data.loaders.target import Target
from omc_data.localdb.cluster import (
    chown_to_server_user,
    find_binaries,
    init_cluster,
    start_cluster,
    stop_cluster,
)
from omc_data.progress import NULL_PROGRESS
from omc_data.snapshots.store import Snapshot
from snaptools import build_small, fresh_copy, run_cli_many
from trusttools import half_the_rows, numeric_to_integer, stat_of_wrong_type, store_state, symlink_outside

TAG = "v1"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trust-load") / "s"
    build_small(root, "v0")
    build_small(root, TAG, seed=8)
    return root


@pytest.fixture
def store(base: Path, tmp_path: Path) -> Path:
    return fresh_copy(base, tmp_path)


@pytest.fixture
def loaded(pg_db: str, base: Path) -> str:
    """A database holding snapshot v0, as an app's would after its first load."""
    omc_data.load_snapshot("v0", db=pg_db, store=base, create_schema=True)
    return pg_db


def _unchanged(db: str, before: dict[str, Any]) -> None:
    after = db_fingerprint(db)
    assert after == before, fingerprint_diff(before, after)


DAMAGES: list[Callable[[Path, Path], str]] = [
    symlink_outside,
    half_the_rows,
    numeric_to_integer,
    stat_of_wrong_type,
]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__ for d in DAMAGES])
def test_check_and_load_refuse_a_damaged_snapshot_by_name(
    damage: Callable[[Path, Path], str], store: Path, loaded: str, tmp_path: Path
) -> None:
    named = damage(store / TAG, tmp_path)
    before, files = db_fingerprint(loaded), store_state(store)
    runs = run_cli_many(
        [
            ["--store", str(store), "check", TAG, "--db", loaded],
            ["--store", str(store), "load", TAG, "--db", loaded, "--backup"],
            ["--store", str(store), "verify", TAG],
        ]
    )
    for run in runs:
        assert run.code == 1, run
        assert named in run.stderr and "internal error" not in run.stderr, run
        if run.args[2] != "verify":  # verify lists the problems; it never writes anything
            assert "nothing was changed" in run.stderr, run
    _unchanged(loaded, before)
    assert store_state(store) == files


def test_the_rows_each_copy_wrote_are_compared_before_the_commit(
    store: Path, loaded: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part changed after verification (simulated: verification skipped) fails at its COPY."""
    expected = half_the_rows(store / TAG, tmp_path)
    assert "row count mismatch" in expected
    before = db_fingerprint(loaded)
    monkeypatch.setattr(Snapshot, "verify", lambda self: None)
    manifest_rows = omc_data.open_snapshot(TAG, store=store).manifest.tables["price_data_5min"].rows
    with pytest.raises(IntegrityError, match=r"COPY into price_data_5min wrote [0-9,]+ rows") as info:
        omc_data.load_snapshot(TAG, db=loaded, store=store)
    assert f"manifest says {manifest_rows:,}" in str(info.value)
    _unchanged(loaded, before)


def test_a_read_only_store_stops_the_backup_and_the_load(base: Path, loaded: str, tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(root)], check=False).returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        shutil.copytree(base, root / "s")
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        store = root / "s"
        before, files = db_fingerprint(loaded), store_state(store)
        with pytest.raises(StoreError, match=f"store {store} is not writable while backing up"):
            omc_data.load_snapshot(TAG, db=loaded, store=store, backup=True)
        _unchanged(loaded, before)
        assert store_state(store) == files
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_an_empty_table_list_never_means_every_table(store: Path, loaded: str) -> None:
    before, files = db_fingerprint(loaded), store_state(store)
    (clear,) = run_cli_many([["--store", str(store), "clear", "--yes", "--tables", "", "--db", loaded]])
    assert clear.code == 2 and "names no table" in clear.stderr, clear
    with pytest.raises(UsageError, match="empty table list"):
        postgres.clear(Target(loaded, "argument"), tables=[])
    with pytest.raises(UsageError, match="empty table list"):
        omc_data.load_snapshot(TAG, db=loaded, store=store, tables=[])
    _unchanged(loaded, before)
    assert store_state(store) == files


# --- a server restarted in the middle of a load ------------------------------------------------------


@pytest.fixture
def own_server() -> Iterator[tuple[str, Callable[[], None]]]:
    """A private throwaway cluster (the shared one is never restarted) and a function restarting it."""
    binaries = find_binaries()
    with tempfile.TemporaryDirectory(prefix="omc-data-restart-") as tmp:
        chown_to_server_user(Path(tmp))
        data = Path(tmp) / "data"
        init_cluster(data, binaries, fast=True)
        cluster = start_cluster(data, binaries)
        try:
            with psycopg.connect(cluster.url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE app")

            def restart() -> None:
                stop_cluster(data, binaries)
                start_cluster(data, binaries, port=cluster.port)

            yield cluster.url("app"), restart
        finally:
            stop_cluster(data, binaries)


class _RestartAt:
    """Progress that restarts the server when the load reaches the task named ``at``."""

    def __init__(self, at: str, restart: Callable[[], None]) -> None:
        self.at, self.restart, self.done = at, restart, False

    def task(self, description: str, total: int | None = None) -> contextlib.AbstractContextManager[Any]:
        if description == self.at and not self.done:
            self.done = True
            self.restart()
        return NULL_PROGRESS.task(description, total)


def test_a_server_restarted_mid_load_is_a_lost_connection_and_changes_nothing(
    base: Path, own_server: tuple[str, Callable[[], None]]
) -> None:
    db, restart = own_server
    omc_data.load_snapshot("v0", db=db, store=base, create_schema=True)
    before, files = db_fingerprint(db), store_state(base)
    progress = _RestartAt("load price_data_5min", restart)
    with pytest.raises(ConnectionLostError, match="connection to the server was lost") as info:
        omc_data.load_snapshot(TAG, db=db, store=base, progress=progress)
    assert progress.done
    assert "nothing was changed" in str(info.value)
    _unchanged(db, before)
    assert store_state(base) == files
