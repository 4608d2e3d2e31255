"""The pytest fixtures (registered through the ``pytest11`` entry point as ``omc_data.testing``).

- ``omc_db``: the host project's ``db`` fixture when it has one (a SQLAlchemy Session or Connection),
  else a Session on a database of the plugin's own (``OMC_DATA_TEST_DSN``'s server, else a throwaway
  cluster; never ``DATABASE_URL``) inside a transaction rolled back after the test. Rows the helpers
  insert through it are deleted again at teardown, children first.
- ``test_user``, ``test_superuser``, ``test_price_data`` (50 ticks of ``btc``), ``test_algorithm``.
- ``omc_snapshot_db``: a database holding a snapshot, cloned per test from a template loaded once per
  session; the tag comes from indirect parametrisation, ``@pytest.mark.omc_snapshot("tag")`` or
  ``OMC_DATA_TEST_SNAPSHOT``; the store from the marker's ``store=`` or ``OMC_DATA_STORE``.
- ``omc_data_seed``: this test's seed, from ``OMC_DATA_TEST_SEED`` (default 42) and the test's id.

Everything heavy (SQLAlchemy, psycopg, the loaders) is imported inside the fixtures, so the plugin
costs the host's test start next to nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from omc_data.testing.server import TestServer

SEED_ENV = "OMC_DATA_TEST_SEED"
SNAPSHOT_ENV = "OMC_DATA_TEST_SNAPSHOT"
DEFAULT_SEED = 42
MARKER = "omc_snapshot"


@dataclass(frozen=True)
class SnapshotDb:
    """A test's own copy of a snapshot's database."""

    tag: str
    dbname: str
    url: str  # postgresql://... (psycopg, libpq, omc-data's API)

    @property
    def sqlalchemy_url(self) -> str:  # postgresql+psycopg://... (create_engine)
        from omc_data.testing.server import sqlalchemy_url

        return sqlalchemy_url(self.url)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(tag, store=None): the snapshot the omc_snapshot_db fixture clones"
    )


def _env() -> dict[str, str]:
    from omc_data.config import environ

    return dict(environ())


def _unavailable(reason: str) -> None:
    """Skip: no PostgreSQL here. Under CI=true fail instead, so CI cannot pass by skipping."""
    if _env().get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def omc_data_seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: ``OMC_DATA_TEST_SEED`` (default 42) mixed with the test's id."""
    from omc_data.testing.factories import derive_seed

    text = _env().get(SEED_ENV, "")
    try:
        base = int(text) if text else DEFAULT_SEED
    except ValueError:
        raise pytest.UsageError(f"{SEED_ENV} must be an integer, not {text!r}") from None
    return derive_seed(base, request.node.nodeid)


@pytest.fixture(scope="session")
def omc_data_server() -> Iterator[TestServer]:
    """The plugin's PostgreSQL for the session (``OMC_DATA_TEST_DSN``, else a throwaway cluster)."""
    import contextlib

    import psycopg

    from omc_data.errors import OmcDataError
    from omc_data.testing.server import TEST_DSN_ENV, TestServer, admin_server

    with contextlib.ExitStack() as stack:
        try:
            admin_url = stack.enter_context(admin_server(_env().get(TEST_DSN_ENV) or None))
        except (OmcDataError, psycopg.Error) as exc:
            _unavailable(f"omc-data: no PostgreSQL server for the test database: {exc}")
        server = TestServer(admin_url)
        stack.callback(server.close)
        yield server


@pytest.fixture(scope="session")
def _omc_data_engine(omc_data_server: TestServer) -> Iterator[Any]:
    """An engine on one database per session holding the empty dataset tables."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from omc_data.testing.server import sqlalchemy_url

    with omc_data_server.clone(omc_data_server.empty_schema_template(), prefix="omc_test_own") as name:
        engine = create_engine(sqlalchemy_url(omc_data_server.url(name)), poolclass=NullPool)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture
def omc_db(request: pytest.FixtureRequest, omc_data_seed: int) -> Iterator[Any]:
    """The database the helpers write to: the host's ``db`` fixture, else the plugin's own Session."""
    from omc_data.testing.factories import remove_created, seeded

    try:
        host = request.getfixturevalue("db")
    except pytest.FixtureLookupError:
        host = None
    if host is not None:
        seeded(host, omc_data_seed, request.node.nodeid)
        yield host
        remove_created(host)
        return

    from sqlalchemy.orm import Session

    engine = request.getfixturevalue("_omc_data_engine")
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            seeded(session, omc_data_seed, request.node.nodeid)
            yield session
            remove_created(session)
        finally:
            session.close()
            outer.rollback()


@pytest.fixture(name="test_user")
def _test_user(omc_db: Any) -> dict[str, Any]:
    """An active user (password ``omc-dev-password``); the row as a dict."""
    from omc_data.testing.factories import create_test_user

    return create_test_user(omc_db)


@pytest.fixture(name="test_superuser")
def _test_superuser(omc_db: Any) -> dict[str, Any]:
    """A superuser (password ``omc-dev-password``); the row as a dict."""
    from omc_data.testing.factories import create_test_superuser

    return create_test_superuser(omc_db)


@pytest.fixture(name="test_price_data")
def _test_price_data(omc_db: Any) -> list[dict[str, Any]]:
    """50 consecutive 5-minute ``price_data_5min`` ticks of ``btc``, oldest first."""
    from omc_data.testing.factories import create_test_price_data

    return create_test_price_data(omc_db)


@pytest.fixture(name="test_algorithm")
def _test_algorithm(omc_db: Any, test_user: dict[str, Any]) -> dict[str, Any]:
    """An active algorithm created by ``test_user``."""
    from omc_data.testing.factories import create_test_algorithm

    return create_test_algorithm(omc_db, user=test_user)


def _snapshot_choice(request: pytest.FixtureRequest) -> tuple[str, Path]:
    from omc_data.config import store_path

    env = _env()
    marker = request.node.get_closest_marker(MARKER)
    tag = getattr(request, "param", None)
    if tag is None and marker is not None and marker.args:
        tag = marker.args[0]
    tag = tag or env.get(SNAPSHOT_ENV)
    if not tag:
        raise pytest.UsageError(
            "omc_snapshot_db needs a snapshot tag: parametrize it indirectly, mark the test "
            f"@pytest.mark.{MARKER}('tag') or set {SNAPSHOT_ENV}"
        )
    store = marker.kwargs.get("store") if marker is not None else None
    return str(tag), store_path(Path(store) if store else None, env)


@pytest.fixture
def omc_snapshot_db(request: pytest.FixtureRequest, omc_data_server: TestServer) -> Iterator[SnapshotDb]:
    """A database of this test's own holding the snapshot, cloned from a template loaded once."""
    tag, store = _snapshot_choice(request)
    template = omc_data_server.snapshot_template(tag, store)
    with omc_data_server.clone(template, prefix="omc_test_snap") as name:
        yield SnapshotDb(tag=tag, dbname=name, url=omc_data_server.url(name))


__all__ = [
    "SnapshotDb",
    "omc_data_seed",
    "omc_data_server",
    "omc_db",
    "omc_snapshot_db",
    "pytest_configure",
]
