"""PostgreSQL for the tests: a throwaway cluster (or the server in OMC_DATA_TEST_DSN), a template, clones.

The fixtures in conftest.py are thin wrappers around these helpers. Every test database is cloned
from one empty template made per session, which nobody stays connected to (CREATE DATABASE ...
TEMPLATE refuses a template with open connections).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, urlencode

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from omc_data.loaders.localpg import (
    chown_to_server_user,
    create_database,
    drop_database,
    find_binaries,
    init_cluster,
    start_cluster,
    stop_cluster,
)

TEST_DSN_ENV = "OMC_DATA_TEST_DSN"


def unavailable(reason: str) -> NoReturn:
    """Skip: no PostgreSQL here. Under CI=true fail instead, so a broken CI cannot pass by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class PgServer:
    admin_url: str  # a superuser connection to the server's "postgres" database
    template: str  # the empty template database every test database is cloned from


def with_dbname(dsn: str, dbname: str) -> str:
    """``dsn`` (a URL or key=value string) as a postgresql:// URL pointing at ``dbname``."""
    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items() if value is not None}
    params["dbname"] = dbname
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", "")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = params.pop("host", "")
    if "/" in host or "," in host:  # a socket folder or several hosts: keep them as parameters
        params["host"], host = host, ""
    elif ":" in host:
        host = f"[{host}]"
    port = params.pop("port", "")
    netloc = f"{auth}{host}{':' + port if port and host else ''}"
    if port and not host:
        params["port"] = port
    query = urlencode(sorted((k, v) for k, v in params.items() if k != "dbname"))
    return f"postgresql://{netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a fast (no fsync) cluster in a fresh /tmp folder; yield its admin URL; stop and delete it."""
    binaries = find_binaries()
    data_dir = Path(tempfile.mkdtemp(prefix="omc-data-test-pg-", dir="/tmp"))
    try:
        chown_to_server_user(data_dir)
        init_cluster(data_dir, binaries, fast=True)
        cluster = start_cluster(data_dir, binaries)
        try:
            yield cluster.url()
        finally:
            stop_cluster(data_dir, binaries, mode="immediate")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextlib.contextmanager
def admin_server(dsn: str | None) -> Iterator[str]:
    """The admin URL of the server in ``dsn``, else of a throwaway cluster."""
    if dsn:
        admin_url = with_dbname(dsn, "postgres")
        with psycopg.connect(admin_url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        yield admin_url
    else:
        with throwaway_cluster() as admin_url:
            yield admin_url


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@contextlib.contextmanager
def template_database(admin_url: str) -> Iterator[str]:
    """Create an empty template database for the session; drop it afterwards."""
    name = unique_name("omc_tpl")
    create_database(admin_url, name)
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))
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
