"""Session-wide fixtures: ``pg_server`` (one PostgreSQL per session), ``pg_db`` (one database per test)
and ``pg_binaries`` (the server programs, for tests that run clusters of their own).

Set OMC_DATA_TEST_DSN to test against an existing server; otherwise a throwaway cluster is started.
Without a server the PostgreSQL tests skip, except under CI=true where they fail.

The ``postgres`` marker is applied here, not by hand: every test that uses one of ``PG_FIXTURES``,
directly or through other fixtures, gets it (``-m "not postgres"`` runs the rest).
``tests/test_markers.py`` checks it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psycopg
import pytest

from omc_data.errors import LocalServerError, OmcDataError
from omc_data.localdb.cluster import PgBinaries, find_binaries
from pg import (
    PG_FIXTURES,
    TEST_DSN_ENV,
    PgServer,
    admin_server,
    cloned_database,
    template_database,
    unavailable,
)

# netguard: a test that reaches another machine fails (also from the child Pythons it starts).
# pytester: the plugin tests run small pytest sessions of their own.
pytest_plugins = ["netguard", "pytester"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a PostgreSQL fixture (``fixturenames`` is the transitive closure)."""
    for item in items:
        if PG_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_binaries() -> PgBinaries:
    """The PostgreSQL server programs (initdb, pg_ctl, postgres), for tests that start clusters."""
    try:
        return find_binaries()
    except LocalServerError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server and an empty template database, for the whole session."""
    with contextlib.ExitStack() as stack:
        try:
            admin_url = stack.enter_context(admin_server(os.environ.get(TEST_DSN_ENV)))
            template = stack.enter_context(template_database(admin_url))
        except (OmcDataError, psycopg.Error) as exc:
            unavailable(f"no PostgreSQL server for the tests: {exc}")
        yield PgServer(admin_url=admin_url, template=template)


@pytest.fixture
def pg_db(pg_server: PgServer) -> Iterator[str]:
    """The URL of a fresh database cloned from the template, dropped after the test."""
    with cloned_database(pg_server) as url:
        yield url
