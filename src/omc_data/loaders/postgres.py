"""Restore a snapshot into PostgreSQL in one transaction, with binary COPY FROM STDIN.

Order of work, all before the first write unless said:
1. verify every checksum (a bad snapshot stops here, the database untouched);
2. connect (TimeZone UTC, UTF8), take the advisory lock without waiting (``wait`` waits), set
   ``lock_timeout`` so a busy app cannot hang the load;
3. read the target's schema and make the plan (``plan.py``): bridges, blockers, privileges;
4. count app rows that reference the replaced rows, through cascades (``references.py``);
   any blocker, or any such row without ``cascade``, stops the load here; ``dry_run`` stops here too;
5. write: delete the counted rows (``cascade``), empty the tables children first (DELETE for tables
   other tables reference, TRUNCATE for the rest), COPY parents before children (a big table's indexes
   and keys set aside and rebuilt, ``indexes.py``; ``FREEZE`` after a TRUNCATE), move sequences past
   the loaded ids with ``ALTER SEQUENCE ... RESTART`` (transactional, unlike ``setval``), refresh the
   dependent materialized views in dependency order, ANALYZE, record the load in schema ``omc_data``;
6. commit. Any error (or Ctrl-C) rolls everything back: the database is exactly as it was.

The COPY streams Parquet batch by batch: a reader thread decodes and encodes the next batch
(``pgbinary.py``) while this thread sends the previous one, so memory stays flat whatever the size.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.parquet as pq
from psycopg import errors as pg_errors
from psycopg import sql

from omc_data import catalog
from omc_data.errors import ConnectionFailedError, DatabaseError, SchemaMismatchError
from omc_data.loaders import indexes, introspect, pgbinary, references
from omc_data.loaders.ddl import schema_ddl
from omc_data.loaders.plan import Plan, TablePlan, make_plan, replaced_tables
from omc_data.loaders.target import Target
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.store import Snapshot

log = logging.getLogger(__name__)

LOCK_KEY = 0x6F6D635F64617461  # "omc_data" as a bigint: one load at a time per database
BATCH_BYTES = 8 * 1024 * 1024  # encoded bytes per COPY batch: bounds memory for wide text tables
REBUILD_MIN_ROWS = 50_000  # below this, maintaining the indexes during the COPY is cheaper
LOCK_TIMEOUT_S = 10.0
_NOTHING_CHANGED = "nothing was changed"


@dataclass(frozen=True)
class TableLoad:
    name: str
    rows: int
    deleted: int
    seconds: float
    rebuilt: list[str] = field(default_factory=list)  # indexes and keys set aside and rebuilt
    copy_format: str = "binary"


@dataclass
class LoadResult:
    tag: str
    target: str  # masked
    tables: list[TableLoad] = field(default_factory=list)
    seconds: float = 0.0
    created_schema: bool = False
    dry_run: bool = False
    plan: Plan | None = None
    referencing: list[references.Referencing] = field(default_factory=list)
    cascaded: dict[str, int] = field(default_factory=dict)  # app rows deleted by --cascade, by table
    rows_before: dict[str, int] = field(default_factory=dict)
    refreshed: list[str] = field(default_factory=list)
    backup: str | None = None  # the tag of the capture taken before the load (load --backup)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        doc: dict[str, Any] = {
            "tag": self.tag,
            "target": self.target,
            "dry_run": self.dry_run,
            "created_schema": self.created_schema,
            "alembic_revision": plan.alembic_revision if plan else None,
            "rows": self.rows if not self.dry_run else sum(t.rows for t in plan.tables) if plan else 0,
            "seconds": round(self.seconds, 3),
        }
        if self.dry_run and plan:
            doc["tables"] = {
                t.name: {**t.to_json(), "rows_to_delete": self.rows_before.get(t.name, 0)}
                for t in plan.tables
            }
        else:
            doc["tables"] = {
                t.name: {
                    "rows": t.rows,
                    "deleted": t.deleted,
                    "seconds": round(t.seconds, 3),
                    "copy_format": t.copy_format,
                    "rebuilt": t.rebuilt,
                }
                for t in self.tables
            }
        doc["bridges"] = [b.to_json() for b in plan.bridges] if plan else []
        doc["blockers"] = [b.to_json() for b in plan.blockers] if plan else []
        doc["missing_privileges"] = plan.missing_privileges if plan else []
        doc["views_refreshed" if not self.dry_run else "views_to_refresh"] = (
            self.refreshed if not self.dry_run else (plan.views if plan else [])
        )
        doc["referencing_rows"] = [r.to_json() for r in self.referencing]
        doc["cascade_deleted"] = self.cascaded
        doc["backup"] = self.backup
        return doc


def connect(target: Target, *, purpose: str = "omc-data") -> psycopg.Connection[tuple[Any, ...]]:
    """Open a connection with the session settings every loader statement relies on."""
    try:
        conn = psycopg.connect(
            target.dsn, autocommit=False, connect_timeout=10, application_name=purpose[:63]
        )
    except psycopg.OperationalError as exc:
        raise ConnectionFailedError(
            f"cannot connect to {target.describe()}: {_first_line(exc, last=True)}",
            hint=_connect_hint(target, exc),
        ) from exc
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET client_encoding = 'UTF8'")
    conn.commit()
    return conn


def _first_line(exc: BaseException, *, last: bool = False) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[-1] if last else lines[0]


def _connect_hint(target: Target, exc: BaseException) -> str:
    text = str(exc).lower()
    if any(
        s in text for s in ("could not translate host name", "failed to resolve host", "name or service not")
    ):
        host = target.host or "the host"
        return (
            f"{host!r} does not resolve from here; a docker-compose service name (POSTGRES_SERVER=db) "
            "only resolves inside compose: use localhost and the published port, or pass --db"
        )
    if "password authentication failed" in text:
        return "check the user and password (DATABASE_URL, POSTGRES_USER/POSTGRES_PASSWORD or --db)"
    return "is the server running? 'omc-data db up' starts a local one"


def existing_tables(conn: psycopg.Connection[Any], names: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
        [list(names)],
    ).fetchall()
    return {r[0] for r in rows}


# --- locks -------------------------------------------------------------------------------------------


def _lock_holders(target: Target, conn_pid: int | None = None) -> str:
    """Who holds omc-data's advisory lock: 'pid 123 (omc-data load v11, user app, since 12:00:01Z)'."""
    query = """
        SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), a.usename,
               coalesce(a.xact_start, a.backend_start)
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid = %s AND l.objid = %s AND l.database = (SELECT oid FROM pg_database
                                                               WHERE datname = current_database())
    """
    return _describe_sessions(target, query, [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF])


def _table_lock_holders(target: Target, tables: Sequence[str]) -> str:
    query = """
        SELECT DISTINCT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), a.usename,
               coalesce(a.xact_start, a.backend_start), a.state, left(a.query, 80)
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.granted AND a.pid <> pg_backend_pid()
          AND l.relation IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = current_schema() AND c.relname = ANY(%s))
    """
    return _describe_sessions(target, query, [list(tables)])


def _describe_sessions(target: Target, query: str, params: list[Any]) -> str:
    try:
        with psycopg.connect(target.dsn, connect_timeout=5, autocommit=True) as other:
            rows = other.execute(query, params).fetchall()
    except psycopg.Error:
        return "unknown sessions"
    if not rows:
        return "a session that has since finished"
    parts = []
    for row in rows[:5]:
        pid, app, user, since = row[:4]
        text = f"pid {pid} ({app}, user {user}, since {since.astimezone(dt.UTC):%H:%M:%SZ}"
        if len(row) > 4:
            text += f", {row[4]}: {' '.join(str(row[5]).split())}"
        parts.append(text + ")")
    return "; ".join(parts) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def _take_lock(
    conn: psycopg.Connection[Any], target: Target, *, wait: bool, on_wait: Callable[[str], None]
) -> None:
    got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY]).fetchone()
    if got and got[0]:
        return
    holders = _lock_holders(target)
    if not wait:
        raise DatabaseError(
            f"another omc-data load is running on {target.masked}: {holders}",
            hint="wait for it to finish, or pass --wait to queue behind it",
        )
    on_wait(f"waiting for the load held by {holders}")
    conn.execute("SET LOCAL lock_timeout = 0")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


# --- COPY --------------------------------------------------------------------------------------------


def _batch_rows(entry_rows: int, plan: TablePlan, snapshot: Snapshot) -> int:
    """Rows per batch so an encoded batch is about BATCH_BYTES, from the manifest's widest values."""
    stats = snapshot.manifest.tables[plan.name].stats
    width = 2
    for spec in plan.columns:
        longest = stats.get(spec.name, {}).get("max_length")
        width += 4 + (int(longest) * 4 + 16 if longest is not None else 24)
    return max(256, min(131_072, BATCH_BYTES // width))


def _open_parquet(path: Path) -> pq.ParquetFile:
    """Page by page through a 1 MB buffer, not whole column chunks: flat memory on wide text tables."""
    return pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)


def _encoded_batches(
    snapshot: Snapshot, plan: TablePlan, stop: threading.Event
) -> Iterator[tuple[int, bytes | memoryview]]:
    columns = [c.name for c in plan.columns]
    encoder: pgbinary.BatchEncoder | None = None
    batch_rows = _batch_rows(plan.rows, plan, snapshot)
    for path in snapshot.part_paths(plan.name):
        with _open_parquet(path) as pf:
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                if stop.is_set():
                    return
                if encoder is None:
                    encoder = pgbinary.BatchEncoder(plan.columns, batch.schema)
                yield batch.num_rows, encoder.encode(batch)


def _threaded(source: Iterator[Any], stop: threading.Event, depth: int = 2) -> Iterator[Any]:
    """Run ``source`` on a reader thread, ``depth`` items ahead; its exceptions re-raise here."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in source:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed over to the consumer, which re-raises it
            put(("error", exc))

    thread = threading.Thread(target=run, name="omc-data-encoder", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


def _copy_binary(
    cur: psycopg.Cursor[Any], snapshot: Snapshot, plan: TablePlan, freeze: bool, task: Any
) -> int:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary{})").format(
        sql.Identifier(plan.name),
        sql.SQL(", ").join(sql.Identifier(c.name) for c in plan.columns),
        sql.SQL(", FREEZE") if freeze else sql.SQL(""),
    )
    rows = 0
    stop = threading.Event()
    with cur.copy(stmt) as copy:
        copy.write(pgbinary.HEADER)
        for n, data in _threaded(_encoded_batches(snapshot, plan, stop), stop):
            copy.write(data)
            rows += n
            task.advance(n)
        copy.write(pgbinary.TRAILER)
    return rows


def _copy_text(cur: psycopg.Cursor[Any], snapshot: Snapshot, plan: TablePlan, freeze: bool, task: Any) -> int:
    """For tables with a type the binary encoder does not send (arrays): psycopg adapts each row."""
    columns = [c.name for c in plan.columns]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(plan.name),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FREEZE)") if freeze else sql.SQL(""),
    )
    rows = 0
    batch_rows = _batch_rows(plan.rows, plan, snapshot)
    with cur.copy(stmt) as copy:
        for path in snapshot.part_paths(plan.name):
            with _open_parquet(path) as pf:
                for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
                    values = [batch.column(c).to_pylist() for c in columns]
                    for row in zip(*values, strict=True):
                        copy.write_row(row)
                    rows += batch.num_rows
                    task.advance(batch.num_rows)
    return rows


# --- the load ----------------------------------------------------------------------------------------


def load(
    snapshot: Snapshot,
    target: Target,
    *,
    create_schema: bool = False,
    tables: Sequence[str] | None = None,
    cascade: bool = False,
    allow_column_loss: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    lock_timeout: float = LOCK_TIMEOUT_S,
    rebuild_min_rows: int = REBUILD_MIN_ROWS,
    progress: Progress = NULL_PROGRESS,
    notice: Callable[[str], None] = log.info,
    before_write: Callable[[list[str]], None] | None = None,
) -> LoadResult:
    """Replace the snapshot's tables in the target database with the snapshot's rows, atomically.

    ``before_write(tables)`` runs once the plan is settled and the lock held, just before the first
    write (``load --backup`` captures the current contents of ``tables`` there, on its own connection).
    """
    started = time.perf_counter()
    with progress.task("verify checksums"):
        snapshot.verify()
    unknown = [t for t in (tables or []) if t not in snapshot.manifest.tables]
    if unknown:
        raise SchemaMismatchError(
            f"snapshot {snapshot.tag!r} has no table {unknown[0]!r}",
            hint=f"it holds: {', '.join(snapshot.manifest.tables)}",
        )
    result = LoadResult(tag=snapshot.tag, target=target.masked, created_schema=create_schema, dry_run=dry_run)
    with connect(target, purpose=f"omc-data load {snapshot.tag}") as conn:
        try:
            if dry_run and not create_schema:  # with create_schema, the DDL runs and is rolled back
                conn.execute("SET TRANSACTION READ ONLY")
            if not dry_run:
                _take_lock(conn, target, wait=wait, on_wait=notice)
            conn.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms"))
            )
            if create_schema:
                _create_schema(conn, target, snapshot, dry_run=dry_run)
            plan = _plan(conn, snapshot, tables, allow_column_loss)
            result.plan = plan
            if plan.blockers and not dry_run:
                first, more = plan.blockers[0], len(plan.blockers) - 1
                raise SchemaMismatchError(
                    f"cannot load {snapshot.tag!r} into {target.masked}: {first.what}"
                    + (f" (and {more} more blocking difference{'s' if more > 1 else ''})" if more else ""),
                    hint=f"{first.way_out}; {_NOTHING_CHANGED}",
                    table=first.table,
                    details=[str(b) for b in plan.blockers] if more else [],
                )
            schema = introspect.read_schema(conn, plan.table_names) if not plan.blockers else None
            if schema is not None:
                result.referencing = references.count_referencing(conn, schema.foreign_keys, plan.table_names)
            if dry_run:
                result.rows_before = _counts(conn, plan.table_names, present=set(plan.table_names))
                conn.rollback()
                result.seconds = time.perf_counter() - started
                return result
            if result.referencing and not cascade:
                where = ", ".join(f"{r.rows:,} in {r.table}" for r in result.referencing)
                raise DatabaseError(
                    f"rows in other tables reference the rows this load replaces: {where}",
                    hint=f"{_NOTHING_CHANGED}; pass --cascade to delete exactly those rows "
                    "(and --backup to keep a copy)",
                    details=[str(r) for r in result.referencing],
                )
            if before_write is not None:
                before_write(plan.table_names)
            assert schema is not None
            _write(conn, snapshot, plan, schema, result, rebuild_min_rows, progress, notice)
            conn.commit()
        except BaseException as exc:
            conn.rollback()
            if isinstance(exc, psycopg.Error):
                raise _explain(exc, f"loading {snapshot.tag!r} into", target, plan_tables(result)) from exc
            raise
    result.seconds = time.perf_counter() - started
    return result


def plan_tables(result: LoadResult) -> list[str]:
    return result.plan.table_names if result.plan else []


def _create_schema(
    conn: psycopg.Connection[Any], target: Target, snapshot: Snapshot, *, dry_run: bool
) -> None:
    present = existing_tables(conn, catalog.table_names())
    if present:
        raise SchemaMismatchError(
            f"--create-schema refuses: {target.masked} already has {', '.join(sorted(present))}",
            hint="load without --create-schema, or into an empty database",
        )
    for stmt in schema_ddl():
        conn.execute(stmt)


def _plan(
    conn: psycopg.Connection[Any], snapshot: Snapshot, tables: Sequence[str] | None, allow_column_loss: bool
) -> Plan:
    names = replaced_tables(snapshot.manifest, tables)
    schema = introspect.read_schema(conn, names)
    return make_plan(snapshot.manifest, schema, tables=tables, allow_column_loss=allow_column_loss)


def check(snapshot: Snapshot, target: Target, *, tables: Sequence[str] | None = None,
          allow_column_loss: bool = False) -> LoadResult:  # fmt: skip
    """The plan and blockers of a load, read-only: ``omc-data check`` and ``load --dry-run``."""
    return load(snapshot, target, tables=tables, allow_column_loss=allow_column_loss, dry_run=True)


def _counts(conn: psycopg.Connection[Any], names: Sequence[str], *, present: set[str]) -> dict[str, int]:
    out = {}
    for name in names:
        if name in present:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()
            out[name] = int(row[0]) if row else 0
    return out


def _write(
    conn: psycopg.Connection[Any],
    snapshot: Snapshot,
    plan: Plan,
    schema: introspect.TargetSchema,
    result: LoadResult,
    rebuild_min_rows: int,
    progress: Progress,
    notice: Callable[[str], None],
) -> None:
    deleted: dict[str, int] = {}
    truncated: set[str] = set()
    with progress.task("empty tables"):
        for t in reversed(plan.tables):
            references.delete_referencing(conn, result.referencing, t.name, result.cascaded)
            ident = sql.Identifier(t.name)
            before = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
            deleted[t.name] = int(before[0]) if before else 0
            if t.empty_with == "TRUNCATE":
                conn.execute(sql.SQL("TRUNCATE {}").format(ident))
                truncated.add(t.name)
            else:
                conn.execute(sql.SQL("DELETE FROM {}").format(ident))
    for t in plan.tables:
        target = schema.tables[t.name]
        t0 = time.perf_counter()
        rebuilt: list[indexes.SetAside] = []
        with progress.task(f"load {t.name}", total=t.rows) as task, conn.cursor() as cur:
            if t.rows >= rebuild_min_rows and target.is_owner:
                rebuilt = indexes.set_aside(conn, t.name, target.oid)
            freeze = t.name in truncated and not target.partitioned
            copy = _copy_binary if t.binary else _copy_text
            rows = copy(cur, snapshot, t, freeze, task)
        if rebuilt:
            with progress.task(f"index {t.name}"):
                indexes.rebuild(conn, rebuilt)
        seconds = time.perf_counter() - t0
        notice(
            f"loaded {t.name}: {rows:,} rows in {seconds:.2f}s"
            + (f", {len(rebuilt)} indexes rebuilt" if rebuilt else "")
        )
        result.tables.append(
            TableLoad(
                t.name, rows, deleted.get(t.name, 0), seconds,
                rebuilt=[r.name for r in rebuilt], copy_format="binary" if t.binary else "text",
            )
        )  # fmt: skip
    _restart_sequences(conn, plan.tables)
    for view in plan.views:
        with progress.task(f"refresh {view}"):
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(view)))
            result.refreshed.append(view)
    with progress.task("analyze"):
        for t in plan.tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(t.name)))
    _record_load(conn, snapshot, plan, result)


def _restart_sequences(conn: psycopg.Connection[Any], plans: Sequence[TablePlan]) -> None:
    """Move each serial column's sequence past the loaded ids, transactionally.

    ``setval`` is not transactional: a rolled-back load would leave the sequence moved. ``ALTER
    SEQUENCE ... RESTART`` writes a new sequence file that the rollback discards.
    """
    for t in plans:
        for column, sequence in t.sequences.items():
            high = conn.execute(
                sql.SQL("SELECT coalesce(max({}), 0) + 1 FROM {}").format(
                    sql.Identifier(column), sql.Identifier(t.name)
                )
            ).fetchone()
            conn.execute(  # the sequence's name comes from regclass output: already quoted and qualified
                sql.SQL("ALTER SEQUENCE {} RESTART WITH {}").format(
                    sql.SQL(sequence), sql.Literal(int(high[0]) if high else 1)
                )
            )


@dataclass
class ClearResult:
    target: str
    tables: dict[str, int]  # rows deleted (or, with dry_run, that would be), by table
    referencing: list[references.Referencing]
    cascaded: dict[str, int]
    refreshed: list[str]
    dry_run: bool
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "dry_run": self.dry_run,
            "tables": self.tables,
            "rows": sum(self.tables.values()),
            "referencing_rows": [r.to_json() for r in self.referencing],
            "cascade_deleted": self.cascaded,
            "views_refreshed": self.refreshed,
            "seconds": round(self.seconds, 3),
        }


def clear(
    target: Target,
    *,
    tables: Sequence[str] | None = None,
    cascade: bool = False,
    dry_run: bool = False,
    wait: bool = False,
    lock_timeout: float = LOCK_TIMEOUT_S,
    notice: Callable[[str], None] = log.info,
) -> ClearResult:
    """Empty the dataset tables (narrowed by ``tables``, with their dataset children), same safety rules."""
    started = time.perf_counter()
    unknown = [t for t in (tables or []) if t not in catalog.table_names()]
    if unknown:
        raise SchemaMismatchError(
            f"{unknown[0]!r} is not a dataset table",
            hint=f"dataset tables: {', '.join(catalog.table_names())}",
        )
    with connect(target, purpose="omc-data clear") as conn:
        try:
            if dry_run:
                conn.execute("SET TRANSACTION READ ONLY")
            else:
                _take_lock(conn, target, wait=wait, on_wait=notice)
            conn.execute(
                sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms"))
            )
            wanted = set(catalog.table_names() if tables is None else tables)
            for t in catalog.current():  # dataset children go with their parents
                if any(fk.ref_table in wanted for fk in t.foreign_keys):
                    wanted.add(t.name)
            present = existing_tables(conn, catalog.table_names())
            names = catalog.load_order(wanted & present)
            schema = introspect.read_schema(conn, names)
            found = references.count_referencing(conn, schema.foreign_keys, names)
            counts = _counts(conn, names, present=present)
            result = ClearResult(target.masked, counts, found, {}, [], dry_run)
            if dry_run:
                conn.rollback()
                result.seconds = time.perf_counter() - started
                return result
            if found and not cascade:
                where = ", ".join(f"{r.rows:,} in {r.table}" for r in found)
                raise DatabaseError(
                    f"rows in other tables reference the rows clear would delete: {where}",
                    hint=f"{_NOTHING_CHANGED}; pass --cascade to delete exactly those rows too",
                    details=[str(r) for r in found],
                )
            for name in reversed(names):
                references.delete_referencing(conn, found, name, result.cascaded)
                table = schema.tables[name]
                verb = (
                    "TRUNCATE {}"
                    if not schema.referenced(name) and "TRUNCATE" in table.privileges
                    else "DELETE FROM {}"
                )
                conn.execute(sql.SQL(verb).format(sql.Identifier(name)))
            for view in (v.name for v in schema.views if v.populated):
                conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(view)))
                result.refreshed.append(view)
            for stmt in _RECORD_DDL:
                conn.execute(stmt)
            conn.execute(
                _INSERT_LOAD,
                [
                    "",
                    catalog.fingerprint(),
                    "",
                    json.dumps(counts),
                    "clear",
                    json.dumps(table_fingerprint(conn, names)),
                ],
            )
            conn.commit()
        except BaseException as exc:
            conn.rollback()
            if isinstance(exc, psycopg.Error):
                raise _explain(exc, "clearing", target, list(catalog.table_names())) from exc
            raise
    result.seconds = time.perf_counter() - started
    return result


# --- the record of loads, and status -----------------------------------------------------------------

_RECORD_DDL = [
    "CREATE SCHEMA IF NOT EXISTS omc_data",
    "CREATE TABLE IF NOT EXISTS omc_data.loads ("
    " id bigserial PRIMARY KEY, tag text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),"
    " loaded_by text NOT NULL DEFAULT current_user, catalog_fingerprint text NOT NULL,"
    " manifest_sha256 text NOT NULL, tables jsonb NOT NULL)",
    "ALTER TABLE omc_data.loads ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'load'",
    "ALTER TABLE omc_data.loads ADD COLUMN IF NOT EXISTS fingerprint jsonb",
]
_INSERT_LOAD = (
    "INSERT INTO omc_data.loads (tag, catalog_fingerprint, manifest_sha256, tables, kind, fingerprint)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


def table_fingerprint(
    conn: psycopg.Connection[Any], names: Sequence[str], known_rows: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Row count and key extremes of each table: cheap (the key's index answers min/max).

    ``known_rows``: counts the caller knows exactly (a load knows what it copied), not counted again.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        key = list(catalog.table(name).primary_key) if name in catalog.table_names() else []
        table = sql.Identifier(name)
        rows = (known_rows or {}).get(name)
        count = sql.SQL("(SELECT count(*) FROM {})").format(table) if rows is None else sql.Literal(rows)
        parts: list[sql.Composable] = [count]
        for column in key[:1]:  # ORDER BY + LIMIT, not min(): there is no min(uuid); the key index answers
            col = sql.Identifier(column)
            for direction in (sql.SQL("ASC"), sql.SQL("DESC")):
                parts.append(
                    # "AS extreme": a bare ORDER BY name would sort the text cast instead of using the index
                    sql.SQL("(SELECT {}::text AS extreme FROM {} ORDER BY {} {} LIMIT 1)").format(
                        col, table, col, direction
                    )
                )
        row = conn.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(parts))).fetchone()
        assert row is not None
        out[name] = {
            "rows": int(row[0]),
            "key_min": row[1] if key else None,
            "key_max": row[2] if key else None,
        }
    return out


def _record_load(conn: psycopg.Connection[Any], snapshot: Snapshot, plan: Plan, result: LoadResult) -> None:
    for stmt in _RECORD_DDL:
        conn.execute(stmt)
    manifest_digest = (snapshot.path / "manifest.json.sha256").read_text().split()[0]
    conn.execute(
        _INSERT_LOAD,
        [
            snapshot.tag,
            snapshot.manifest.catalog_fingerprint,
            manifest_digest,
            json.dumps({t.name: t.rows for t in result.tables}),
            "load",
            json.dumps(table_fingerprint(conn, plan.table_names, {t.name: t.rows for t in result.tables})),
        ],
    )


def database_status(target: Target) -> dict[str, Any]:
    """What the database holds now, and whether its dataset tables changed since the last load."""
    with connect(target, purpose="omc-data status") as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        present = existing_tables(conn, catalog.table_names())
        names = catalog.load_order(present)
        now = table_fingerprint(conn, names)
        last = None
        has_log = conn.execute("SELECT to_regclass('omc_data.loads') IS NOT NULL").fetchone()
        if has_log and has_log[0]:
            columns = {
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute"
                    " WHERE attrelid = 'omc_data.loads'::regclass AND attnum > 0"
                ).fetchall()
            }
            fingerprint = sql.SQL("fingerprint" if "fingerprint" in columns else "NULL::jsonb")
            kind = sql.SQL("kind" if "kind" in columns else "'load'")
            row = conn.execute(
                sql.SQL(
                    "SELECT tag, loaded_at, loaded_by, tables, {}, {}"
                    " FROM omc_data.loads ORDER BY id DESC LIMIT 1"
                ).format(fingerprint, kind)
            ).fetchone()
            if row:
                last = {
                    "tag": row[0],
                    "kind": row[5],
                    "loaded_at": row[1].astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                    "loaded_by": row[2],
                    "tables": row[3],
                    "fingerprint": row[4],
                }
        revision = introspect.alembic_revision(conn)
        conn.rollback()
    state, changed = _compare_fingerprints(last.get("fingerprint") if last else None, now)
    if last is not None:
        last.pop("fingerprint")
    return {
        "target": target.masked,
        "tables": {name: fp["rows"] for name, fp in now.items()},
        "last_load": last,
        "alembic_revision": revision,
        "state": state,
        "changed_tables": changed,
    }


def _compare_fingerprints(
    recorded: dict[str, dict[str, Any]] | None, now: dict[str, dict[str, Any]]
) -> tuple[str, list[str]]:
    """unchanged | changed (with the tables) | unknown (no load recorded with a fingerprint)."""
    if not recorded:
        return "unknown", []
    changed = [name for name, fp in recorded.items() if now.get(name) != fp]
    return ("changed" if changed else "unchanged"), changed


# --- errors ------------------------------------------------------------------------------------------


def _explain(exc: psycopg.Error, doing: str, target: Target, tables: Sequence[str]) -> DatabaseError:
    """A psycopg error as a one-line DatabaseError that says nothing changed, and what to do."""
    if isinstance(exc, pg_errors.LockNotAvailable):
        return DatabaseError(
            f"{doing} {target.masked} timed out waiting for locks held by "
            f"{_table_lock_holders(target, tables)}",
            hint=f"{_NOTHING_CHANGED}; end those sessions (stop the app, or close idle transactions) "
            "and retry, or raise --lock-timeout",
        )
    diag = getattr(exc, "diag", None)
    table = getattr(diag, "table_name", None) if diag else None
    constraint = getattr(diag, "constraint_name", None) if diag else None
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        way_out = (
            "the snapshot's rows point at rows the target lacks, or a row outside the dataset blocks the "
            "change: load the parent tables too (--tables), or see 'omc-data load --dry-run'"
        )
    elif isinstance(exc, pg_errors.IntegrityError):
        way_out = (
            f"the target enforces a rule ({constraint or 'a constraint'} on {table or 'a table'}) that the "
            "snapshot's rows break: relax it, or load a snapshot that obeys it"
        )
    else:
        way_out = "'omc-data check TAG' compares a snapshot with the target's schema"
    return DatabaseError(
        f"{doing} {target.masked} failed: {_first_line(exc)}",
        hint=f"{_NOTHING_CHANGED}; {way_out}",
        table=table,
    )
