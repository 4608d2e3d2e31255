"""The local throwaway cluster and the project database, against real PostgreSQL servers."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from omc_data.errors import LocalServerError
from omc_data.localdb import cluster as local_cluster
from omc_data.localdb.cluster import (
    PgBinaries,
    chown_to_server_user,
    cluster_running,
    ensure_role_and_database,
    find_binaries,
    init_cluster,
    start_cluster,
    stop_cluster,
)
from omc_data.localdb.project import STATE_FILE, project_down, project_status, project_up
from pg import PgServer, with_dbname

if TYPE_CHECKING:
    from typing_extensions import LiteralString  # in typing from Python 3.11


@pytest.fixture(scope="module")
def binaries(pg_binaries: PgBinaries) -> PgBinaries:
    return pg_binaries


@pytest.fixture(scope="module")
def data_dir(binaries: PgBinaries) -> Iterator[Path]:
    """An initialised, stopped cluster shared by this module's tests; each test leaves it stopped."""
    path = Path(tempfile.mkdtemp(prefix="omc-data-test-localpg-", dir="/tmp"))
    try:
        chown_to_server_user(path)
        init_cluster(path, binaries, fast=True)
        yield path
    finally:
        stop_cluster(path, binaries, mode="immediate")
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 somebody else listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def reachable_dir(pg_binaries: PgBinaries) -> Iterator[Path]:
    """A fresh /tmp folder that the server's OS user can traverse (pytest's tmp_path is private for root)."""
    path = Path(tempfile.mkdtemp(prefix="omc-data-test-state-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    project_down(path, remove=True)
    shutil.rmtree(path, ignore_errors=True)


def query(url: str, sql: LiteralString, *params: object) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params or None).fetchone()
    assert row is not None
    return tuple(row)


def test_find_binaries_reports_the_server_version(binaries: PgBinaries) -> None:
    assert re.match(r"\d+", binaries.version)
    assert (binaries.bindir / "pg_ctl").is_file()
    assert find_binaries(binaries.bindir) == binaries


def test_find_binaries_in_a_folder_without_them_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(LocalServerError, match="no PostgreSQL server binaries") as info:
        find_binaries(tmp_path)
    assert "apt-get install postgresql" in str(info.value)


def test_a_cluster_starts_answers_and_stops(binaries: PgBinaries, data_dir: Path) -> None:
    assert cluster_running(data_dir) is None
    cluster = start_cluster(data_dir, binaries)
    try:
        assert cluster_running(data_dir) == cluster.port
        assert cluster.url() == f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        settings = query(
            cluster.url(),
            "SELECT current_setting('fsync'), current_setting('TimeZone'), "
            "current_setting('server_encoding'), inet_server_addr()::text",
        )
        assert settings == ("off", "UTC", "UTF8", "127.0.0.1/32")
        assert start_cluster(data_dir, binaries) == cluster  # already running: the same cluster
    finally:
        stop_cluster(data_dir, binaries)
    assert cluster_running(data_dir) is None
    stop_cluster(data_dir, binaries)  # stopping a stopped cluster is fine


def test_an_explicit_port_that_is_taken_is_an_error(
    binaries: PgBinaries, data_dir: Path, taken_port: int
) -> None:
    with pytest.raises(LocalServerError, match=f"port {taken_port} on 127.0.0.1 is already in use"):
        start_cluster(data_dir, binaries, port=taken_port)
    assert cluster_running(data_dir) is None


def test_a_picked_port_taken_before_the_server_binds_it_is_retried(
    binaries: PgBinaries, data_dir: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    picked: list[int] = []
    real_free_port = local_cluster.free_port

    def racy_free_port() -> int:  # the first pick loses the race to another process
        picked.append(taken_port if not picked else real_free_port())
        return picked[-1]

    monkeypatch.setattr(local_cluster, "free_port", racy_free_port)
    cluster = start_cluster(data_dir, binaries)
    try:
        assert picked[0] == taken_port
        assert cluster.port == picked[1] != taken_port
        assert "could not bind" in (data_dir / "server.log").read_text()
    finally:
        stop_cluster(data_dir, binaries)


def test_start_gives_up_when_every_picked_port_is_taken(
    binaries: PgBinaries, data_dir: Path, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_cluster, "free_port", lambda: taken_port)
    with pytest.raises(LocalServerError, match=f"no free port in {local_cluster.START_ATTEMPTS} attempts"):
        start_cluster(data_dir, binaries)
    assert cluster_running(data_dir) is None


def test_a_failed_start_quotes_the_server_log(binaries: PgBinaries, data_dir: Path) -> None:
    auto_conf = data_dir / "postgresql.auto.conf"
    original = auto_conf.read_text()
    auto_conf.write_text(original + "shared_buffers = 'plenty'\n")
    try:
        with pytest.raises(LocalServerError, match=r"did not start: .*shared_buffers"):
            start_cluster(data_dir, binaries)
    finally:
        auto_conf.write_text(original)
    assert cluster_running(data_dir) is None


def test_cluster_running_ignores_missing_and_stale_pid_files(tmp_path: Path) -> None:
    assert cluster_running(tmp_path / "absent") is None
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(finished.stdout)
    (tmp_path / "postmaster.pid").write_text(f"{dead_pid}\n{tmp_path}\n0\n54321\n")
    assert cluster_running(tmp_path) is None
    (tmp_path / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path}\n0\n54321\n")
    assert cluster_running(tmp_path) == 54321


def test_ensure_role_and_database_makes_a_plain_role_owning_the_database(
    binaries: PgBinaries, data_dir: Path
) -> None:
    cluster = start_cluster(data_dir, binaries)
    try:
        ensure_role_and_database(cluster, role="app user", dbname="app db")
        ensure_role_and_database(cluster, role="app user", dbname="app db")  # idempotent
        role = query(
            cluster.url(),
            "SELECT r.rolsuper, r.rolcanlogin, d.datdba::regrole::text "
            "FROM pg_roles r, pg_database d WHERE r.rolname = 'app user' AND d.datname = 'app db'",
        )
        assert role == (False, True, '"app user"')
        assert query(cluster.url("app db", user="app user"), "SELECT current_user") == ("app user",)
    finally:
        stop_cluster(data_dir, binaries)


def test_project_up_is_idempotent_and_down_remove_forgets_it(tmp_path: Path, pg_binaries: PgBinaries) -> None:
    state_dir = tmp_path / "state"
    try:
        db = project_up(state_dir)
        assert project_up(state_dir) == db
        assert project_status(state_dir) == (db, True)
        assert db.url() == f"postgresql://omc@127.0.0.1:{db.port}/omc"
        assert query(db.url(), "SELECT current_user, current_database()") == ("omc", "omc")
        if os.geteuid() == 0:  # pytest's tmp is private: the data went to a fresh /tmp folder
            assert db.data_dir.parent == Path("/tmp")
            assert db.data_dir.name.startswith("omc-data-pg-")
        else:
            assert db.data_dir == state_dir / "pgdata"

        assert project_down(state_dir) == db
        assert project_status(state_dir) == (db, False)
        again = project_up(state_dir)  # stopped: started again on the same data
        assert again.data_dir == db.data_dir
        assert project_status(state_dir) == (again, True)
        recorded = json.loads((state_dir / STATE_FILE).read_text())
        assert recorded["port"] == again.port
        assert recorded["data_dir"] == str(db.data_dir)
    finally:
        project_down(state_dir, remove=True)
    assert not (state_dir / STATE_FILE).exists()
    assert not db.data_dir.exists()
    assert project_down(state_dir) is None
    assert project_status(state_dir) == (None, False)


def test_project_data_stays_in_the_state_dir_when_the_server_can_reach_it(reachable_dir: Path) -> None:
    db = project_up(reachable_dir)
    assert db.data_dir == reachable_dir / "pgdata"
    assert cluster_running(db.data_dir) == db.port


def test_a_damaged_state_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(LocalServerError, match="cannot read the cluster state"):
        project_status(tmp_path)


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_its_own_database(pg_db: str, pg_server: PgServer, turn: str) -> None:
    with psycopg.connect(pg_db) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        assert name[0] != pg_server.template
        assert conn.execute("SELECT to_regclass('public.marker')").fetchone() == (None,)
        conn.execute("CREATE TABLE marker (turn text)")
    template = query(
        pg_server.admin_url, "SELECT datistemplate FROM pg_database WHERE datname = %s", pg_server.template
    )
    assert template == (True,)


def test_a_dsn_is_pointed_at_another_database_without_losing_its_parameters() -> None:
    url = with_dbname("host=db.example port=6543 user=me password=p@ss dbname=x sslmode=require", "y z")
    assert url == "postgresql://me:p%40ss@db.example:6543/y%20z?sslmode=require"
    assert with_dbname("postgresql:///x?host=/run/pg", "y") == "postgresql:///y?host=%2Frun%2Fpg"
