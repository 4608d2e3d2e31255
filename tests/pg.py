"""PostgreSQL for the tests: a throwaway cluster (or the server in OMC_DATA_TEST_DSN), a template, clones.

The fixtures in conftest.py are thin wrappers around these helpers, which stand on the pytest plugin's
own (``omc_data.testing.server``: the throwaway cluster, URLs, names). Every test database is cloned
from one empty template made per session, which nobody stays connected to (CREATE DATABASE ...
TEMPLATE refuses a template with open connections).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import pytest

from omc_data.localdb.cluster import create_database, drop_database
from omc_data.testing import server
from omc_data.testing.server import mark_template, unique_name, with_dbname

__all__ = [  # with_dbname and unique_name are the plugin's: the test modules take them from here
    "PG_FIXTURES",
    "PgServer",
    "admin_server",
    "cloned_database",
    "template_database",
    "unavailable",
    "unique_name",
    "with_dbname",
]

TEST_DSN_ENV = "OMC_DATA_TEST_DSN"

# The fixtures that need PostgreSQL, this suite's and the omc_data.testing plugin's: conftest.py marks
# every test using one of them ``postgres``. omc_db reaches the plugin's engine through
# request.getfixturevalue (it prefers a host project's ``db``), so it is listed itself.
PG_FIXTURES = frozenset(
    {"pg_server", "pg_db", "pg_binaries", "omc_data_server", "_omc_data_engine", "omc_db", "omc_snapshot_db"}
)


def unavailable(reason: str) -> NoReturn:
    """Skip: no PostgreSQL here. Under CI=true fail instead, so a broken CI cannot pass by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class PgServer:
    admin_url: str  # a superuser connection to the server's "postgres" database
    template: str  # the empty template database every test database is cloned from


@contextlib.contextmanager
def admin_server(dsn: str | None) -> Iterator[str]:
    """The plugin's ``admin_server``, its throwaway cluster's folder named for the test suite."""
    with server.admin_server(dsn, prefix="omc-data-test-pg-") as admin_url:
        yield admin_url


@contextlib.contextmanager
def template_database(admin_url: str) -> Iterator[str]:
    """Create an empty template database for the session; drop it afterwards."""
    name = unique_name("omc_tpl")
    create_database(admin_url, name)
    try:
        mark_template(admin_url, name)
        yield name
    finally:
        drop_database(admin_url, name)


@contextlib.contextmanager
def cloned_database(server: PgServer) -> Iterator[str]:
    """A fresh database cloned from the template; yield its URL; drop it (WITH (FORCE)) afterwards."""
    name = unique_name("omc_test")
    create_database(server.admin_url, name, template=server.template)
    try:
        yield with_dbname(server.admin_url, name)
    finally:
        drop_database(server.admin_url, name)
