"""The plugin's own PostgreSQL: the server in ``OMC_DATA_TEST_DSN``, else a throwaway cluster.

It never uses ``DATABASE_URL`` (that may be a developer's own database): on the server it is given it
only creates and drops databases of its own (``omc_test_*``, ``omc_tpl_*``).

Snapshot databases: each tag is loaded once per session into a template database, and each test gets
``CREATE DATABASE ... TEMPLATE`` of it (a file copy, not a reload). Nobody stays connected to a template,
which ``CREATE DATABASE ... TEMPLATE`` requires.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from omc_data.localdb.cluster import (
    chown_to_server_user,
    create_database,
    drop_database,
    find_binaries,
    init_cluster,
    start_cluster,
    stop_cluster,
)

log = logging.getLogger(__name__)

TEST_DSN_ENV = "OMC_DATA_TEST_DSN"


def with_dbname(dsn: str, dbname: str) -> str:
    """``dsn`` (a URL or key=value string) as a postgresql:// URL pointing at ``dbname``."""
    params = {key: str(value) for key, value in conninfo_to_dict(dsn).items() if value is not None}
    params.pop("dbname", None)
    user = quote(params.pop("user", ""), safe="")
    password = params.pop("password", "")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = params.pop("host", "")
    if "/" in host or "," in host:
        params["host"], host = host, ""
    elif ":" in host:
        host = f"[{host}]"
    port = params.pop("port", "")
    netloc = f"{auth}{host}{':' + port if port and host else ''}"
    if port and not host:
        params["port"] = port
    query = urlencode(sorted(params.items()))
    return f"postgresql://{netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")


def sqlalchemy_url(url: str) -> str:
    """A postgresql:// URL for SQLAlchemy's psycopg 3 driver."""
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


@contextlib.contextmanager
def throwaway_cluster(prefix: str = "omc-data-plugin-pg-") -> Iterator[str]:
    """Start a fast (no fsync) cluster in a fresh /tmp folder; yield its admin URL; stop and delete it."""
    binaries = find_binaries()
    data_dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
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
def admin_server(dsn: str | None, *, prefix: str = "omc-data-plugin-pg-") -> Iterator[str]:
    """The admin URL (database ``postgres``) of the server in ``dsn``, else of a throwaway cluster."""
    if dsn:
        admin_url = with_dbname(dsn, "postgres")
        with psycopg.connect(admin_url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
        yield admin_url
    else:
        with throwaway_cluster(prefix) as admin_url:
            yield admin_url


def mark_template(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} IS_TEMPLATE true").format(sql.Identifier(name)))


def create_schema(url: str) -> None:
    """The dataset tables as the current OMC schema has them, in the empty database ``url``."""
    from omc_data.loaders.ddl import schema_ddl

    with psycopg.connect(url) as conn:
        for stmt in schema_ddl():
            conn.execute(stmt)


@dataclass
class TestServer:
    """One PostgreSQL server for a pytest session, and the template databases made on it."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of its name

    admin_url: str
    schema_template: str | None = None
    snapshot_templates: dict[tuple[str, str], str] = field(default_factory=dict)

    def url(self, dbname: str) -> str:
        return with_dbname(self.admin_url, dbname)

    def empty_schema_template(self) -> str:
        """A template holding the empty dataset tables (made on first use)."""
        if self.schema_template is None:
            name = unique_name("omc_tpl_schema")
            create_database(self.admin_url, name)
            create_schema(self.url(name))
            mark_template(self.admin_url, name)
            self.schema_template = name
        return self.schema_template

    def snapshot_template(self, tag: str, store: Path) -> str:
        """A template database holding snapshot ``tag`` of ``store``, loaded once per session."""
        key = (str(store.resolve()), tag)
        if key not in self.snapshot_templates:
            from omc_data.api import load_snapshot

            name = unique_name("omc_tpl_snap")
            create_database(self.admin_url, name)
            try:
                load_snapshot(
                    tag, db=self.url(name), store=store, create_schema=True, origin="omc_snapshot_db"
                )
                mark_template(self.admin_url, name)
            except BaseException:
                drop_database(self.admin_url, name)
                raise
            log.info("loaded snapshot %s into template database %s", tag, name)
            self.snapshot_templates[key] = name
        return self.snapshot_templates[key]

    @contextlib.contextmanager
    def clone(self, template: str, prefix: str = "omc_test") -> Iterator[str]:
        """A fresh database copied from ``template``; yield its name; drop it afterwards."""
        name = unique_name(prefix)
        create_database(self.admin_url, name, template=template)
        try:
            yield name
        finally:
            drop_database(self.admin_url, name)

    def close(self) -> None:
        for name in [self.schema_template, *self.snapshot_templates.values()]:
            if name is not None:
                drop_database(self.admin_url, name)
        self.schema_template = None
        self.snapshot_templates.clear()
