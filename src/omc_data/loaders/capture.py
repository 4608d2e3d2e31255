"""Capture a database's dataset tables into a snapshot: the way back from PostgreSQL to the store.

Everything is read in one transaction, ``REPEATABLE READ, READ ONLY``, so the tables agree with each
other and nothing is written. Each table is read with ``COPY (SELECT ... ORDER BY <primary key>) TO
STDOUT``, rows in the order a build writes them (so a capture of a loaded build has the build's very
bytes), and streamed through the snapshot writer in blocks (``copyout``): memory stays flat.

Older schemas: a catalog column the table lacks is NULL in the snapshot (``inputs.missing_columns``),
columns the catalog does not know are left out (``inputs.ignored_columns``), a column of another type
is cast to the catalog's in SQL (``inputs.type_differences``; numerics rounded to the catalog's scale are
counted as warnings). A missing table is an error when ``tables`` names it; a whole capture leaves
out the tables newer than the seed era that an older schema lacks (``inputs.missing_tables``). So is
a missing NOT NULL column or a NULL in one, which a snapshot's schema cannot hold. Captured rows are
real life: every snapshot check runs, as a warning that never blocks the publish. The manifest says
``kind: capture`` and names the database without its password.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq, sql

from omc_data import catalog
from omc_data.catalog import Column, Table
from omc_data.errors import (
    DatabaseError,
    SchemaMismatchError,
    SnapshotExistsError,
    UsageError,
)
from omc_data.loaders.copyout import CopyFailed, copy_batches, select_expression
from omc_data.loaders.session import connect, first_line, scrub
from omc_data.loaders.target import Target

if TYPE_CHECKING:
    from typing_extensions import LiteralString  # in typing from Python 3.11
from omc_data.progress import NULL_PROGRESS, Progress, Task
from omc_data.snapshots.manifest import TableEntry
from omc_data.snapshots.provenance import library_versions, omc_data_version
from omc_data.snapshots.store import BACKUP_PREFIX, TMP_PREFIX, Snapshot, Store, validate_tag
from omc_data.snapshots.timefmt import format_timestamp
from omc_data.snapshots.validate import WARNING, CheckResult, Report, run_checks
from omc_data.snapshots.writer import SnapshotWriter

log = logging.getLogger(__name__)

# The libraries whose versions shape a capture's bytes (the builder keeps its own list: the two
# packages never import each other).
SHAPING_LIBRARIES = ("pyarrow", "numpy", "psycopg", "duckdb")


@dataclass(frozen=True)
class TableCapture:
    name: str
    rows: int
    seconds: float
    missing_columns: tuple[str, ...] = ()  # catalog columns the database lacks: NULL in the snapshot
    ignored_columns: tuple[str, ...] = ()  # database columns the catalog does not know
    type_differences: dict[str, str] = field(default_factory=dict)  # column -> the database's type

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "missing_columns": list(self.missing_columns),
            "ignored_columns": list(self.ignored_columns),
            "type_differences": self.type_differences,
        }


@dataclass(frozen=True)
class CaptureResult:
    snapshot: Snapshot
    target: str  # masked: user@host:port/dbname
    tables: list[TableCapture]
    report: Report
    seconds: float

    @property
    def tag(self) -> str:
        return self.snapshot.tag

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        warnings = self.report.warnings
        return {
            "tag": self.tag,
            "path": str(self.snapshot.path),
            "kind": self.snapshot.manifest.kind,
            "target": self.target,
            "as_of": self.snapshot.manifest.inputs.get("as_of"),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "tables": {t.name: t.to_json() for t in self.tables},
            "checks_run": len(self.report.checks),
            "warnings": len(warnings),
            "failed_checks": [{"table": c.table, "check": c.name, "failures": c.failures} for c in warnings],
        }


def backup_tag(store: Store, now: dt.datetime) -> str:
    """``pre-load-YYYYMMDDTHHMMSSZ`` for ``now`` (aware), with ``-1``, ``-2``... when that tag is taken."""
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant, e.g. datetime.now(UTC)")
    base = BACKUP_PREFIX + now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    tag, n = base, 0
    while store.exists(tag) or (store.root.is_dir() and any(store.root.glob(f"{TMP_PREFIX}{tag}-*"))):
        n += 1
        tag = f"{base}-{n}"
    return validate_tag(tag)


def chosen_tables(tables: Sequence[str] | None) -> list[str]:
    """``tables`` (or every dataset table) in load order; UsageError naming an unknown one."""
    if tables is None:
        return catalog.load_order()
    unknown = [t for t in tables if t not in catalog.table_names()]
    if unknown:
        raise UsageError(
            f"no dataset table {unknown[0]!r}", hint=f"tables: {', '.join(catalog.table_names())}"
        )
    if not tables:
        raise UsageError("no table to capture", hint="leave tables=[...] out to capture every dataset table")
    return catalog.load_order(tables)


def capture(
    store: Store,
    tag: str,
    target: Target,
    *,
    tables: Sequence[str] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> CaptureResult:
    """Read the target's dataset tables in one read-only transaction and publish them as snapshot ``tag``."""
    validate_tag(tag)
    if store.exists(tag):  # before touching the database: tags are immutable
        raise SnapshotExistsError(tag, store.root)
    chosen_tables(tables)  # a bad --tables is a usage error before the database is touched
    started = time.perf_counter()
    conn = connect(target, purpose="omc-data capture")
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return capture_from(
            conn, store, tag, target=target, tables=tables, progress=progress, started=started
        )
    finally:
        conn.close()  # ends the read-only transaction: there is nothing to commit


def capture_from(
    conn: psycopg.Connection[Any],
    store: Store,
    tag: str,
    *,
    target: Target,
    tables: Sequence[str] | None = None,
    progress: Progress = NULL_PROGRESS,
    started: float | None = None,
) -> CaptureResult:
    """Capture inside the transaction already open on ``conn``; the caller ends it.

    For a capture consistent across tables the transaction must be REPEATABLE READ or SERIALIZABLE (a
    loader's backup can run at the start of its own transaction, before it changes anything). Session
    settings are changed with ``SET LOCAL``, so they end with the caller's transaction.
    """
    started = time.perf_counter() if started is None else started
    validate_tag(tag)
    if store.exists(tag):
        raise SnapshotExistsError(tag, store.root)
    wanted = chosen_tables(tables)
    if conn.autocommit and conn.info.transaction_status == pq.TransactionStatus.IDLE:
        raise ValueError("capture_from needs a transaction open on the connection")
    try:
        facts = _prepare(conn)
        columns = _columns(conn, facts["schema"])
    except psycopg.Error as exc:
        raise _database_error(exc, target, "reading the schema of") from exc
    missing = [t for t in wanted if t not in columns]
    skipped: list[str] = []
    if missing and tables is None:
        # a whole capture of an older schema: the tables newer than the seed era that it lacks are left
        # out, and recorded; a missing table of the seed era is still an error
        skipped = [t for t in missing if catalog.table(t).since is not None]
        missing = [t for t in missing if t not in skipped]
        wanted = [t for t in wanted if t not in skipped]
        log.info("%s lacks %s: left out of the capture", target.masked, ", ".join(skipped))
    if missing:
        others = f" (and {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise SchemaMismatchError(
            f"{target.masked} has no table {missing[0]!r}{others} in schema {facts['schema']!r}",
            hint="migrate the database, or leave the table out with tables=[...]",
            table=missing[0],
        )
    plans = [_Plan.make(catalog.table(name), columns[name], target) for name in wanted]
    with SnapshotWriter(store, tag) as writer:
        captured: list[TableCapture] = []
        extra: list[CheckResult] = []
        for plan in plans:
            t0 = time.perf_counter()
            try:
                estimate = plan.estimate(conn)
                extra += _rounding_checks(conn, plan, facts["schema"])
            except psycopg.Error as exc:
                raise _database_error(
                    exc, target, f"reading {plan.table.name} from", table=plan.table.name
                ) from exc
            with progress.task(f"capture {plan.table.name}", total=estimate) as task:
                entry = _copy_table(conn, writer, plan, facts["schema"], target, task)
            captured.append(plan.result(entry.rows, time.perf_counter() - t0))
            log.info("captured %s rows of %s", entry.rows, plan.table.name)
        parts = {name: [writer.dir / p.path for p in e.parts] for name, e in writer.tables.items()}
        with progress.task("validate"):
            checks = run_checks(parts, as_of=facts["as_of"], severity=WARNING, proven=writer.proven)
        report = Report(checks.checks + tuple(extra))
        rows = sum(t.rows for t in captured)
        writer.publish(
            inputs=_inputs(facts, target, captured, skipped),
            libraries=library_versions(SHAPING_LIBRARIES),
            omc_data_version=omc_data_version(),
            sources={
                "postgres": {
                    "outcome": "collected",
                    "endpoint": target.masked,
                    "fetched_at": format_timestamp(facts["as_of"]),
                    "records": rows,
                }
            },
            validation=report.to_json(),
            kind="capture",
        )
    for c in report.warnings:
        log.info("warning: %s: %s: %s rows (captured rows are kept as they are)", c.table, c.name, c.failures)
    return CaptureResult(store.open(tag), target.masked, captured, report, time.perf_counter() - started)


# --- the database side --------------------------------------------------------------------------------


def _prepare(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Session settings the CSV parsing relies on, and facts about the server for the manifest."""
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
    conn.execute("SET LOCAL bytea_output = 'hex'")
    if conn.info.encoding != "utf-8":
        conn.execute("SET LOCAL client_encoding = 'UTF8'")
    row = conn.execute(
        "SELECT now(), current_schema(), current_setting('server_version'),"
        " current_setting('transaction_isolation'), current_setting('transaction_read_only')"
    ).fetchone()
    assert row is not None
    as_of, schema, version, isolation, read_only = row
    if schema is None:
        schema = ""  # no schema of the search_path exists: every table is missing
    if isolation not in ("repeatable read", "serializable"):
        log.warning("capturing at isolation %s: the tables may not be consistent with each other", isolation)
    return {
        "as_of": as_of.astimezone(dt.timezone.utc),
        "schema": schema,
        "server_version": version,
        "isolation": isolation,
        "read_only": read_only == "on",
        "alembic_revision": _optional(
            conn, schema, "alembic_version", "SELECT version_num FROM alembic_version LIMIT 1"
        ),
        "last_load_tag": _optional(
            conn, "omc_data", "loads", "SELECT tag FROM omc_data.loads ORDER BY id DESC LIMIT 1"
        ),
    }


def _optional(conn: psycopg.Connection[Any], schema: str, relation: str, query: LiteralString) -> Any:
    """The first value of ``query`` if ``schema.relation`` exists and can be read, else None, quietly.

    Looked up in pg_catalog rather than with to_regclass, which raises on a schema the user may not use.
    """
    row = conn.execute(
        "SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        [schema, relation],
    ).fetchone()
    if not row or not row[0]:
        return None
    conn.execute("SAVEPOINT omc_data_capture_probe")  # another layout must not end the capture
    try:
        found = conn.execute(query).fetchone()
    except psycopg.Error:
        conn.execute("ROLLBACK TO SAVEPOINT omc_data_capture_probe")
        return None
    conn.execute("RELEASE SAVEPOINT omc_data_capture_probe")
    return found[0] if found else None


_PG_SPELLING = {
    "character varying": "varchar",
    "character varying[]": "varchar[]",
    "timestamp with time zone": "timestamptz",
}


def pg_type_name(formatted: str) -> str:
    """``format_type()`` output in the catalog's spelling (``character varying(20)`` -> ``varchar(20)``)."""
    m = re.fullmatch(r"character varying\((\d+)\)", formatted)
    return f"varchar({m[1]})" if m else _PG_SPELLING.get(formatted, formatted)


def _columns(conn: psycopg.Connection[Any], schema: str) -> dict[str, dict[str, str]]:
    """The dataset tables present in ``schema``: table -> {column: type in the catalog's spelling}."""
    rows = conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)"
        " ORDER BY c.relname, a.attnum",
        [schema, list(catalog.table_names())],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, formatted in rows:
        cols = out.setdefault(table, {})
        if column is not None:
            cols[column] = pg_type_name(formatted)
    return out


@dataclass(frozen=True)
class _Plan:
    """How one table is read: the catalog columns the database has, and what differs."""

    table: Table
    db_types: dict[str, str]  # catalog column -> database type, for the columns the database has
    missing: tuple[str, ...]
    ignored: tuple[str, ...]
    differences: dict[str, str]

    @staticmethod
    def make(table: Table, db_columns: Mapping[str, str], target: Target) -> _Plan:
        missing = tuple(c.name for c in table.columns if c.name not in db_columns)
        required = [c for c in missing if not table.column(c).nullable]
        if required:
            raise SchemaMismatchError(
                f"table {table.name!r} of {target.masked} has no column {required[0]!r}, "
                "which the catalog requires (NOT NULL)",
                hint=f"migrate the database, or leave {table.name} out with tables=[...]",
                table=table.name,
            )
        return _Plan(
            table=table,
            db_types={c.name: db_columns[c.name] for c in table.columns if c.name in db_columns},
            missing=missing,
            ignored=tuple(c for c in db_columns if c not in table.column_names),
            differences={
                c.name: db_columns[c.name]
                for c in table.columns
                if c.name in db_columns and db_columns[c.name] != c.type.sql
            },
        )

    @property
    def selected(self) -> list[Column]:
        return [self.table.column(name) for name in self.db_types]

    def statement(self, schema: str) -> sql.Composed:
        cols = sql.SQL(", ").join(select_expression(c, self.db_types[c.name]) for c in self.selected)
        order = sql.SQL(", ").join(map(sql.Identifier, self.table.primary_key))
        return sql.SQL("COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT (FORMAT csv)").format(
            cols, sql.Identifier(schema, self.table.name), order
        )

    def estimate(self, conn: psycopg.Connection[Any]) -> int | None:
        """The planner's row estimate, for a progress bar (None when the table was never analysed)."""
        row = conn.execute(
            "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relname = %s",
            [self.table.name],
        ).fetchone()
        return int(row[0]) if row and row[0] is not None and row[0] > 0 else None

    def result(self, rows: int, seconds: float) -> TableCapture:
        return TableCapture(self.table.name, rows, seconds, self.missing, self.ignored, self.differences)


def _rounding_checks(conn: psycopg.Connection[Any], plan: _Plan, schema: str) -> list[CheckResult]:
    """Numerics of another type are rounded to the catalog's scale: count the values that change."""
    out = []
    for name, db_type in plan.differences.items():
        column = plan.table.column(name)
        if column.type.name != "numeric":
            continue
        ident = sql.Identifier(name)
        query = sql.SQL("SELECT count(*) FROM {} WHERE {} IS DISTINCT FROM {}::{}").format(
            sql.Identifier(schema, plan.table.name), ident, ident, sql.SQL(column.type.sql)
        )
        row = conn.execute(query).fetchone()  # an overflow fails here, naming the value's type
        out.append(
            CheckResult(
                f"capture.rounded.{name}",
                plan.table.name,
                f"{name} fits {column.type.sql} without rounding (the database has {db_type})",
                int(row[0]) if row else 0,
                WARNING,
            )
        )
    return out


def _copy_table(
    conn: psycopg.Connection[Any],
    writer: SnapshotWriter,
    plan: _Plan,
    schema: str,
    target: Target,
    task: Task,
) -> TableEntry:
    name = plan.table.name
    statement = plan.statement(schema).as_bytes(conn)
    batches = copy_batches(conn, statement, plan.table, plan.selected, on_rows=task.advance)
    try:
        return writer.write_table(plan.table, batches)
    except psycopg.Error as exc:
        raise _database_error(exc, target, f"reading {name} from", table=name) from exc
    except CopyFailed as exc:
        raise DatabaseError(
            f"reading {name} from {target.masked} failed: {scrub(str(exc), target.dsn)}",
            hint="nothing was published; check the server log, or capture the other tables with tables=[...]",
            table=name,
        ) from exc
    finally:
        batches.close()  # stops the reader thread, which cancels the COPY if it is still running


# --- messages --------------------------------------------------------------------------------------------


def _database_error(
    exc: psycopg.Error, target: Target, doing: str, *, table: str | None = None
) -> DatabaseError:
    reason = scrub(first_line(exc), target.dsn)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        hint = "grant SELECT on the dataset tables to this user"
    elif isinstance(exc, psycopg.OperationalError):
        hint = "the connection was lost; nothing was published"
    else:
        hint = "nothing was published; the database was only read"
    return DatabaseError(f"{doing} {target.masked} failed: {reason}", hint=hint, table=table)


def _inputs(
    facts: Mapping[str, Any], target: Target, captured: Sequence[TableCapture], skipped: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "as_of": format_timestamp(facts["as_of"]),
        "target": target.masked,
        "origin": target.origin,
        "schema": facts["schema"],
        "server_version": facts["server_version"],
        "alembic_revision": facts["alembic_revision"],
        "last_load_tag": facts["last_load_tag"],  # what omc-data last recorded loading there
        "isolation": facts["isolation"],
        "read_only": facts["read_only"],
        "tables": [t.name for t in captured],
        "missing_columns": {t.name: list(t.missing_columns) for t in captured if t.missing_columns},
        "ignored_columns": {t.name: list(t.ignored_columns) for t in captured if t.ignored_columns},
        "type_differences": {t.name: t.type_differences for t in captured if t.type_differences},
        "missing_tables": list(skipped),  # dataset tables the database lacks (an older schema)
    }
