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

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
import pyarrow.parquet as pq
from psycopg import sql

from omc_data import catalog
from omc_data.errors import (
    ConnectionLostError,
    DatabaseError,
    IntegrityError,
    SchemaMismatchError,
    UncountableReferencesError,
)
from omc_data.loaders import indexes, introspect, pgbinary, records, references, tracking
from omc_data.loaders.ddl import schema_ddl
from omc_data.loaders.plan import (
    Plan,
    TablePlan,
    empty_with,
    make_plan,
    replaced_tables,
    with_dataset_children,
)
from omc_data.loaders.session import (
    NOTHING_CHANGED,
    connect,
    existing_tables,
    explain,
    set_lock_timeout,
    take_lock,
)
from omc_data.loaders.target import Target
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots.store import Snapshot

log = logging.getLogger(__name__)

CopyFormat = Literal["binary", "text"]  # binary COPY, or text for types the encoder does not send

BATCH_BYTES = 8 * 1024 * 1024  # encoded bytes per COPY batch: bounds memory for wide text tables
REBUILD_MIN_ROWS = 50_000  # below this, maintaining the indexes during the COPY is cheaper
LOCK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TableLoad:
    name: str
    rows: int
    deleted: int
    seconds: float
    rebuilt: list[str] = field(default_factory=list)  # indexes and keys set aside and rebuilt
    copy_format: CopyFormat = "binary"


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
        doc["absent_tables"] = plan.absent if plan else []  # dataset tables the snapshot lacks: left alone
        doc["skipped_tables"] = plan.skipped if plan else []  # snapshot tables the target lacks
        doc["blockers"] = [b.to_json() for b in plan.blockers] if plan else []
        doc["missing_privileges"] = plan.missing_privileges if plan else []
        doc["views_refreshed" if not self.dry_run else "views_to_refresh"] = (
            self.refreshed if not self.dry_run else (plan.views if plan else [])
        )
        doc["referencing_rows"] = [r.to_json() for r in self.referencing]
        doc["cascade_deleted"] = self.cascaded
        doc["backup"] = self.backup
        return doc


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
    catalog.some_tables(tables)
    started = time.perf_counter()
    _verify(snapshot, tables, progress)
    result = LoadResult(tag=snapshot.tag, target=target.masked, created_schema=create_schema, dry_run=dry_run)
    with connect(target, purpose=f"omc-data load {snapshot.tag}") as conn:
        try:
            _begin(conn, target, dry_run=dry_run, read_only=dry_run and not create_schema, wait=wait,
                   lock_timeout=lock_timeout, notice=notice)  # fmt: skip
            if create_schema:
                _create_schema(conn, target, snapshot, dry_run=dry_run)
            plan, schema = _plan(conn, snapshot, tables, allow_column_loss)
            result.plan = plan
            if plan.blockers and not dry_run:
                raise _blocked(plan, snapshot, target)
            if not plan.blockers:
                if not dry_run:  # what is counted now is what gets deleted: no new references meanwhile
                    references.lock_against_new_references(conn, schema.foreign_keys, plan.table_names)
                result.referencing = references.count_referencing(conn, schema.foreign_keys, plan.table_names)
            if dry_run:
                result.rows_before = _counts(conn, plan.table_names, present=set(plan.table_names))
                conn.rollback()
                result.seconds = time.perf_counter() - started
                return result
            _refuse_referencing(result.referencing, schema, cascade=cascade)
            if before_write is not None:
                before_write(plan.table_names)
            _write(conn, snapshot, plan, schema, result, rebuild_min_rows, progress, notice)
            conn.commit()
        except BaseException as exc:
            _rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise _explain(
                    conn, exc, f"loading {snapshot.tag!r} into", target, plan_tables(result)
                ) from exc
            raise
    result.seconds = time.perf_counter() - started
    return result


def _verify(snapshot: Snapshot, tables: Sequence[str] | None, progress: Progress) -> None:
    """Step 1: every checksum, and the tables asked for: a bad snapshot stops before any connection."""
    with progress.task("verify checksums"):
        snapshot.verify()
    unknown = [t for t in (tables or []) if t not in snapshot.manifest.tables]
    if unknown:
        raise SchemaMismatchError(
            f"snapshot {snapshot.tag!r} has no table {unknown[0]!r}",
            hint=f"it holds: {', '.join(snapshot.manifest.tables)}",
        )


def _begin(
    conn: psycopg.Connection[Any],
    target: Target,
    *,
    dry_run: bool,
    read_only: bool,
    wait: bool,
    lock_timeout: float,
    notice: Callable[[str], None],
) -> None:
    """Step 2: the transaction's settings, and the advisory lock unless nothing will be written."""
    if read_only:  # a dry run with create_schema runs the DDL and rolls it back
        conn.execute("SET TRANSACTION READ ONLY")
    if not dry_run:
        take_lock(conn, target, wait=wait, on_wait=notice)
    set_lock_timeout(conn, lock_timeout)


def _blocked(plan: Plan, snapshot: Snapshot, target: Target) -> SchemaMismatchError:
    first, more = plan.blockers[0], len(plan.blockers) - 1
    return SchemaMismatchError(
        f"cannot load {snapshot.tag!r} into {target.masked}: {first.what}"
        + (f" (and {more} more blocking difference{'s' if more > 1 else ''})" if more else ""),
        hint=f"{first.way_out}; {NOTHING_CHANGED}",
        table=first.table,
        details=[str(b) for b in plan.blockers] if more else [],
    )


def _refuse_referencing(
    found: Sequence[references.Referencing], schema: introspect.TargetSchema, *, cascade: bool
) -> None:
    """Step 4's verdict: referencing rows stop the load without ``cascade``, or when uncountable."""
    if found and not cascade:
        where = ", ".join(f"{r.rows:,} in {r.table}" for r in found)
        raise references.refusal(
            found,
            f"rows in other tables reference the rows this load replaces: {where}",
            hint=f"{NOTHING_CHANGED}; cascade=True deletes exactly those rows (a backup keeps the "
            "dataset tables, not them)",
        )
    unsure = references.uncountable(found, schema.foreign_keys) if found else []
    if unsure:
        raise UncountableReferencesError(
            f"cascade=True cannot say exactly which rows it would delete: {unsure[0]}",
            hint=f"{NOTHING_CHANGED}; delete those rows yourself first, then load",
            chains=unsure,
        )


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """Roll back; on a lost connection the server has already discarded the transaction.

    A command cut short on the client (Ctrl-C mid-COPY) leaves the connection busy, so ROLLBACK cannot
    be sent: closing the connection makes the server discard the transaction instead.
    """
    if conn.broken or conn.closed:
        return
    try:
        conn.rollback()
    except psycopg.Error:
        conn.close()


def _explain(
    conn: psycopg.Connection[Any], exc: psycopg.Error, doing: str, target: Target, tables: list[str]
) -> DatabaseError:
    if conn.broken or conn.closed:
        return ConnectionLostError(
            f"{doing} {target.masked} failed: the connection to the server was lost (restarted or stopped?)",
            hint=f"{NOTHING_CHANGED}: the server discards an unfinished transaction; retry once the "
            "server is back",
        )
    return explain(exc, doing, target, tables)


def plan_tables(result: LoadResult) -> list[str]:
    return result.plan.table_names if result.plan else []


def _create_schema(
    conn: psycopg.Connection[Any], target: Target, snapshot: Snapshot, *, dry_run: bool
) -> None:
    present = existing_tables(conn, catalog.table_names())
    if present:
        raise SchemaMismatchError(
            f"create_schema=True refuses: {target.masked} already has {', '.join(sorted(present))}",
            hint="load without create_schema=True, or into an empty database",
        )
    for stmt in schema_ddl():
        conn.execute(stmt)


def _plan(
    conn: psycopg.Connection[Any], snapshot: Snapshot, tables: Sequence[str] | None, allow_column_loss: bool
) -> tuple[Plan, introspect.TargetSchema]:
    """The plan, and the target's schema it was made from (the load goes on with the same reading)."""
    schema = introspect.read_schema(conn, replaced_tables(snapshot.manifest, tables))
    return make_plan(snapshot.manifest, schema, tables=tables, allow_column_loss=allow_column_loss), schema


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
    """Step 5: empty, copy, sequences, views and statistics, and the record of the load."""
    baseline = tracking.install(conn, plan.table_names)  # the tables are locked: no app write lands
    deleted, truncated = _empty(conn, plan, result, progress)
    for t in plan.tables:
        loaded = _copy_table(conn, snapshot, t, schema.tables[t.name], t.name in truncated, rebuild_min_rows,
                             progress, notice)  # fmt: skip
        result.tables.append(dataclasses.replace(loaded, deleted=deleted.get(t.name, 0)))
    _restart_sequences(conn, plan.tables)
    _finish(conn, plan, result, progress)
    _record(conn, snapshot, result, baseline)


def _empty(
    conn: psycopg.Connection[Any], plan: Plan, result: LoadResult, progress: Progress
) -> tuple[dict[str, int], set[str]]:
    """Children first: the counted referencing rows (cascade), then each table. Rows deleted, truncated."""
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
    return deleted, truncated


def _copy_table(
    conn: psycopg.Connection[Any],
    snapshot: Snapshot,
    t: TablePlan,
    target: introspect.TargetTable,
    truncated: bool,
    rebuild_min_rows: int,
    progress: Progress,
    notice: Callable[[str], None],
) -> TableLoad:
    """One table's COPY, its indexes set aside and rebuilt when it is big (``deleted`` is filled later)."""
    t0 = time.perf_counter()
    rebuilt: list[indexes.SetAside] = []
    with progress.task(f"load {t.name}", total=t.rows) as task, conn.cursor() as cur:
        if t.rows >= rebuild_min_rows and target.is_owner and not target.partitioned:
            rebuilt = indexes.set_aside(conn, t.name, target.oid)
        freeze = truncated and not target.partitioned
        copy = _copy_binary if t.binary else _copy_text
        rows = copy(cur, snapshot, t, freeze, task)
        written = cur.rowcount if cur.rowcount >= 0 else rows  # the server's count, from COPY's tag
        if written != t.rows:  # the footers were checked; this catches a part changed since
            raise IntegrityError(
                snapshot.tag, [f"COPY into {t.name} wrote {written:,} rows, manifest says {t.rows:,}"]
            )
    if rebuilt:
        with progress.task(f"index {t.name}"):
            indexes.rebuild(conn, rebuilt)
    seconds = time.perf_counter() - t0
    notice(
        f"loaded {t.name}: {rows:,} rows in {seconds:.2f}s"
        + (f", {len(rebuilt)} indexes rebuilt" if rebuilt else "")
    )
    return TableLoad(
        t.name, rows, 0, seconds,
        rebuilt=[r.name for r in rebuilt], copy_format="binary" if t.binary else "text",
    )  # fmt: skip


def _finish(conn: psycopg.Connection[Any], plan: Plan, result: LoadResult, progress: Progress) -> None:
    """The dependent materialized views in dependency order, then fresh statistics for the planner."""
    for view in plan.views:
        with progress.task(f"refresh {view}"):
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(view)))
            result.refreshed.append(view)
    with progress.task("analyze"):
        for t in plan.tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(t.name)))


def _record(
    conn: psycopg.Connection[Any], snapshot: Snapshot, result: LoadResult, baseline: dict[str, int]
) -> None:
    """The load in schema ``omc_data``, in the same transaction: ``status`` reads it."""
    manifest_sha256 = snapshot.read_bytes("manifest.json.sha256").decode().split()[0]
    loaded = {t.name: t.rows for t in result.tables}
    records.record(
        conn, kind="load", tag=snapshot.tag, manifest_sha256=manifest_sha256, rows=loaded, baseline=baseline
    )


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
    catalog.some_tables(tables)
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
                take_lock(conn, target, wait=wait, on_wait=notice)
            set_lock_timeout(conn, lock_timeout)
            wanted = with_dataset_children(catalog.table_names() if tables is None else tables)
            present = existing_tables(conn, catalog.table_names())
            names = [name for name in wanted if name in present]
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
                raise references.refusal(
                    found,
                    f"rows in other tables reference the rows clear would delete: {where}",
                    hint=f"{NOTHING_CHANGED}; pass cascade=True to delete exactly those rows too",
                )
            baseline = tracking.install(conn, names)
            for name in reversed(names):
                references.delete_referencing(conn, found, name, result.cascaded)
                verb = (
                    "TRUNCATE {}"
                    if empty_with(schema, schema.tables[name]) == "TRUNCATE"
                    else "DELETE FROM {}"
                )
                conn.execute(sql.SQL(verb).format(sql.Identifier(name)))
            for view in (v.name for v in schema.views if v.populated):
                conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(view)))
                result.refreshed.append(view)
            records.record(conn, kind="clear", tag="", manifest_sha256="", rows=dict.fromkeys(names, 0),
                           baseline=baseline)  # fmt: skip
            conn.commit()
        except BaseException as exc:
            _rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise _explain(conn, exc, "clearing", target, list(catalog.table_names())) from exc
            raise
    result.seconds = time.perf_counter() - started
    return result
