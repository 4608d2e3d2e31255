"""Restore a snapshot into PostgreSQL in one transaction, with COPY FROM STDIN.

Order of work: verify every checksum (before the database is touched); connect; check the target has the
snapshot's tables (or create them with ``create_schema`` in a database that has none); take an advisory
lock without waiting; empty the tables children first; COPY parents before children, streamed from
Parquet batch by batch; move sequences past the loaded ids with ``ALTER SEQUENCE ... RESTART`` (which,
unlike ``setval``, rolls back with the transaction); record the load in schema ``omc_data``; commit.
Any error rolls everything back: the database is exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from omc_data import catalog
from omc_data.errors import ConnectionFailedError, DatabaseError, SchemaMismatchError
from omc_data.loaders.ddl import schema_ddl
from omc_data.loaders.target import Target
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.store import Snapshot

log = logging.getLogger(__name__)

LOCK_KEY = 0x6F6D635F64617461  # "omc_data" as a bigint: one load at a time per database
BATCH_ROWS = 20_000


@dataclass(frozen=True)
class TableLoad:
    name: str
    rows: int
    deleted: int
    seconds: float


@dataclass(frozen=True)
class LoadResult:
    tag: str
    target: str  # masked
    tables: list[TableLoad] = field(default_factory=list)
    seconds: float = 0.0
    created_schema: bool = False

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "target": self.target,
            "created_schema": self.created_schema,
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "tables": {
                t.name: {"rows": t.rows, "deleted": t.deleted, "seconds": round(t.seconds, 3)}
                for t in self.tables
            },
        }


def connect(target: Target) -> psycopg.Connection[tuple[Any, ...]]:
    """Open a connection with the session settings every loader statement relies on."""
    try:
        conn = psycopg.connect(target.dsn, autocommit=False, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "connection failed"
        raise ConnectionFailedError(
            f"cannot connect to {target.describe()}: {reason}",
            hint="is the server running? 'omc-data db up' starts a local one",
        ) from exc
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def existing_tables(conn: psycopg.Connection[Any], names: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
        [list(names)],
    ).fetchall()
    return {r[0] for r in rows}


def _batches(snapshot: Snapshot, table: str, columns: Sequence[str]) -> Iterator[list[tuple[Any, ...]]]:
    for path in snapshot.part_paths(table):
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(columns)):
                yield list(zip(*(batch.column(c).to_pylist() for c in columns), strict=True))


def _record_load(conn: psycopg.Connection[Any], snapshot: Snapshot, result: list[TableLoad]) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS omc_data")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS omc_data.loads ("
        " id bigserial PRIMARY KEY, tag text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),"
        " loaded_by text NOT NULL DEFAULT current_user, catalog_fingerprint text NOT NULL,"
        " manifest_sha256 text NOT NULL, tables jsonb NOT NULL)"
    )
    manifest_digest = (snapshot.path / "manifest.json.sha256").read_text().split()[0]
    conn.execute(
        "INSERT INTO omc_data.loads (tag, catalog_fingerprint, manifest_sha256, tables)"
        " VALUES (%s, %s, %s, %s)",
        [
            snapshot.tag,
            snapshot.manifest.catalog_fingerprint,
            manifest_digest,
            json.dumps({t.name: t.rows for t in result}),
        ],
    )


def load(
    snapshot: Snapshot,
    target: Target,
    *,
    create_schema: bool = False,
    tables: Sequence[str] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> LoadResult:
    """Replace the snapshot's tables in the target database with the snapshot's rows, atomically."""
    started = time.perf_counter()
    with progress.task("verify checksums"):
        snapshot.verify()
    wanted = list(snapshot.manifest.tables) if tables is None else list(tables)
    unknown = [t for t in wanted if t not in snapshot.manifest.tables]
    if unknown:
        raise SchemaMismatchError(
            f"snapshot {snapshot.tag!r} has no table {unknown[0]!r}",
            hint=f"it holds: {', '.join(snapshot.manifest.tables)}",
        )
    order = catalog.load_order(wanted)
    with connect(target) as conn:
        try:
            present = existing_tables(conn, catalog.table_names())
            if create_schema:
                if present:
                    raise SchemaMismatchError(
                        f"--create-schema refuses: {target.masked} already has {', '.join(sorted(present))}",
                        hint="load without --create-schema, or into an empty database",
                    )
                for stmt in schema_ddl():
                    conn.execute(stmt)
            else:
                missing = [t for t in order if t not in present]
                if missing:
                    raise SchemaMismatchError(
                        f"{target.masked} has no table {missing[0]!r}",
                        hint="run the app's migrations first, or pass --create-schema for an empty database",
                        table=missing[0],
                    )
            got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY]).fetchone()
            if not got or not got[0]:
                raise DatabaseError(
                    f"another omc-data load is running on {target.masked}",
                    hint="wait for it to finish and try again",
                )
            deleted = {}
            for name in reversed(order):
                cur = conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(name)))
                deleted[name] = max(cur.rowcount, 0)
            loads: list[TableLoad] = []
            for name in order:
                loads.append(_copy_table(conn, snapshot, name, deleted.get(name, 0), progress))
            _restart_sequences(conn, order)
            _record_load(conn, snapshot, loads)
            conn.commit()
        except BaseException as exc:
            conn.rollback()
            if isinstance(exc, psycopg.Error):  # e.g. DELETE blocked by an app table's foreign key
                first_line = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
                raise DatabaseError(
                    f"loading {snapshot.tag!r} into {target.masked} failed: {first_line}",
                    hint="nothing was changed; check the target schema with the app's migrations",
                ) from exc
            raise
    return LoadResult(
        tag=snapshot.tag,
        target=target.masked,
        tables=loads,
        seconds=time.perf_counter() - started,
        created_schema=create_schema,
    )


def _copy_table(
    conn: psycopg.Connection[Any], snapshot: Snapshot, name: str, deleted: int, progress: Progress
) -> TableLoad:
    entry = snapshot.manifest.tables[name]
    columns = entry.column_names
    t0 = time.perf_counter()
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    rows = 0
    with progress.task(f"load {name}", total=entry.rows) as task, conn.cursor() as cur:
        try:
            with cur.copy(stmt) as copy:
                for batch in _batches(snapshot, name, columns):
                    for row in batch:
                        copy.write_row(row)
                    rows += len(batch)
                    task.advance(len(batch))
        except psycopg.Error as exc:
            raise DatabaseError(
                f"COPY into {name} failed: {str(exc).strip().splitlines()[0]}",
                hint="nothing was changed; check the target schema with the app's migrations",
                table=name,
            ) from exc
    log.info("loaded %s rows into %s", rows, name)
    return TableLoad(name, rows, deleted, time.perf_counter() - t0)


def _restart_sequences(conn: psycopg.Connection[Any], order: Sequence[str]) -> None:
    """Move each serial column's sequence past the loaded ids, transactionally."""
    for name in order:
        for column in catalog.table(name).serial_columns:
            row = conn.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", [sql.Identifier(name).as_string(conn), column.name]
            ).fetchone()
            if not row or not row[0]:
                continue
            high = conn.execute(
                sql.SQL("SELECT coalesce(max({}), 0) + 1 FROM {}").format(
                    sql.Identifier(column.name), sql.Identifier(name)
                )
            ).fetchone()
            conn.execute(  # pg_get_serial_sequence returns the name already quoted and qualified
                sql.SQL("ALTER SEQUENCE {} RESTART WITH {}").format(
                    sql.SQL(row[0]), sql.Literal(int(high[0]) if high else 1)
                )
            )


def database_status(target: Target) -> dict[str, Any]:
    """What the database holds now: row counts of the dataset tables and the last recorded load."""
    with connect(target) as conn:
        present = existing_tables(conn, catalog.table_names())
        counts = {}
        for name in catalog.load_order(present):
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
            counts[name] = int(row[0]) if row else 0
        last = None
        has_log = conn.execute("SELECT to_regclass('omc_data.loads') IS NOT NULL").fetchone()
        if has_log and has_log[0]:
            row = conn.execute(
                "SELECT tag, loaded_at, loaded_by, tables FROM omc_data.loads ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row:
                last = {
                    "tag": row[0],
                    "loaded_at": row[1].astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "loaded_by": row[2],
                    "tables": row[3],
                }
        revision = None
        if conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone() == (True,):
            rev = conn.execute("SELECT version_num FROM alembic_version LIMIT 1").fetchone()
            revision = rev[0] if rev else None
        conn.rollback()
    return {"target": target.masked, "tables": counts, "last_load": last, "alembic_revision": revision}
