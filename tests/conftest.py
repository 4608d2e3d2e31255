"""Session-wide fixtures: ``pg_server`` (one PostgreSQL per session) and ``pg_db`` (one database per test).

Set OMC_DATA_TEST_DSN to test against an existing server; otherwise a throwaway cluster is started.
Without a server the PostgreSQL tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import psycopg
import pytest

from omc_data.errors import OmcDataError
from pg import TEST_DSN_ENV, PgServer, admin_server, cloned_database, template_database, unavailable


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
