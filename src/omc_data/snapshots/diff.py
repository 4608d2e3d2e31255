"""Compare two snapshots table by table, with DuckDB over their Parquet files.

Rows are matched by the table's diff key (the primary key for uuid tables, the natural key for serial
ones, whose sequence numbers are not content). A table whose parts have identical checksums on both
sides is unchanged without being read; otherwise status is about content, not bytes. Comparisons are
by value: numerics at any scale, timestamps as instants, NULL equal to NULL, arrays element-wise, and
json/jsonb as JSON values (key order and whitespace are not content: ``jsonvalue``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from omc_data import catalog
from omc_data.catalog import JSON_TYPES, KeyPart
from omc_data.errors import SnapshotError, UsageError
from omc_data.progress import NULL_PROGRESS, Progress
from omc_data.snapshots import jsonvalue
from omc_data.snapshots.manifest import TableEntry
from omc_data.snapshots.store import Snapshot
from omc_data.snapshots.validate import key_sql, q

UNCHANGED, CHANGED, ADDED, REMOVED = "unchanged", "changed", "added", "removed"


@dataclass
class TableDiff:
    name: str
    status: str
    rows_a: int | None
    rows_b: int | None
    added: int = 0
    removed: int = 0
    changed: int = 0
    columns_changed: dict[str, int] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)
    # up to N rows of each kind, in key order: {"added": [{"key": {...}}], "removed": [...],
    # "changed": [{"key": {...}, "columns": {COLUMN: {"a": value, "b": value}}}]}; JSON-ready values
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "columns_changed": self.columns_changed,
            "schema": self.schema,
            "samples": self.samples,
        }


@dataclass
class SnapshotDiff:
    a: str
    b: str
    tables: dict[str, TableDiff]

    @property
    def same(self) -> bool:
        return all(t.status == UNCHANGED for t in self.tables.values())

    def summary(self) -> dict[str, Any]:
        tables = self.tables.values()
        return {
            "tables_changed": sum(t.status != UNCHANGED for t in tables),
            "tables_unchanged": sum(t.status == UNCHANGED for t in tables),
            "rows_added": sum(t.added for t in tables),
            "rows_removed": sum(t.removed for t in tables),
            "rows_changed": sum(t.changed for t in tables),
            "same": self.same,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "tables": {name: t.to_json() for name, t in self.tables.items()},
            "summary": self.summary(),
        }


def _schema_changes(a: TableEntry, b: TableEntry) -> dict[str, Any]:
    types_a = {c.name: c.type for c in a.schema}
    types_b = {c.name: c.type for c in b.schema}
    return {
        "added": [c for c in types_b if c not in types_a],
        "removed": [c for c in types_a if c not in types_b],
        "type_changed": {
            c: [types_a[c], types_b[c]] for c in types_a if c in types_b and types_a[c] != types_b[c]
        },
    }


def _key_parts(name: str, entry: TableEntry) -> tuple[KeyPart, ...]:
    try:
        return catalog.table(name).diff_key
    except KeyError:
        return tuple(
            KeyPart(p[len("utc_date(") : -1], utc_date=True) if p.startswith("utc_date(") else KeyPart(p)
            for p in entry.diff_key
        )


def _files(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def jsonable(value: Any) -> Any:
    """A sample value for JSON, exactly: decimals as text at their scale, instants in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


@dataclass(frozen=True)
class _Plan:
    """The SQL pieces of one table's comparison."""

    keys: tuple[KeyPart, ...]
    compared: list[str]  # content columns on both sides: not key columns, not serial ids
    source: str  # "a FULL JOIN b ON key", each side projecting only what the comparison needs
    json_columns: frozenset[str] = frozenset()  # compared as JSON values

    def _diff(self, c: str) -> str:
        if c in self.json_columns:
            return f"{jsonvalue.value_sql('a.' + q(c))} IS DISTINCT FROM {jsonvalue.value_sql('b.' + q(c))}"
        return f"a.{q(c)} IS DISTINCT FROM b.{q(c)}"

    @property
    def diffs(self) -> list[str]:
        return [self._diff(c) for c in self.compared]

    @property
    def any_diff(self) -> str:
        return " OR ".join(self.diffs) if self.diffs else "false"


def _plan(name: str, sa: Snapshot, sb: Snapshot, ea: TableEntry, eb: TableEntry) -> _Plan:
    keys = _key_parts(name, eb)
    key_cols = {p.column for p in keys if not p.utc_date}  # utc_date(x) matches rows; x itself is content
    serial: set[str] = set()
    try:
        t = catalog.table(name)
        if t.has_surrogate_key:
            serial = set(t.primary_key)
    except KeyError:
        pass
    in_a = set(ea.column_names)
    common = [c for c in eb.column_names if c in in_a]
    compared = [c for c in common if c not in key_cols and c not in serial]
    needed = [c for c in common if c in key_cols or c in compared or c in {p.column for p in keys}]
    cols = ", ".join([*(q(c) for c in needed), "true AS __present"])
    join = " AND ".join(f"{key_sql(p, 'a')} IS NOT DISTINCT FROM {key_sql(p, 'b')}" for p in keys)
    source = (
        f"(SELECT {cols} FROM read_parquet({_files(sa.part_paths(name))})) a FULL JOIN "
        f"(SELECT {cols} FROM read_parquet({_files(sb.part_paths(name))})) b ON {join}"
    )
    json_a = {c.name for c in ea.schema if c.type in JSON_TYPES}
    json_b = {c.name for c in eb.schema if c.type in JSON_TYPES}
    return _Plan(keys, compared, source, frozenset(json_a & json_b))


def _counts(con: duckdb.DuckDBPyConnection, plan: _Plan) -> tuple[int, int, int, dict[str, int]]:
    both = "a.__present AND b.__present"
    select = [
        "count(*) FILTER (WHERE a.__present IS NULL)",
        "count(*) FILTER (WHERE b.__present IS NULL)",
        f"count(*) FILTER (WHERE {both} AND ({plan.any_diff}))",
        *(f"count(*) FILTER (WHERE {both} AND {d})" for d in plan.diffs),
    ]
    (row,) = con.execute(f"SELECT {', '.join(select)} FROM {plan.source}").fetchall()
    columns_changed = {c: int(n) for c, n in zip(plan.compared, row[3:], strict=True) if n}
    return int(row[0]), int(row[1]), int(row[2]), columns_changed


def _samples(con: duckdb.DuckDBPyConnection, plan: _Plan, rows: int) -> dict[str, list[dict[str, Any]]]:
    """Up to ``rows`` rows of each kind in key order; changed rows with the changed columns only."""
    keys = [f"coalesce({key_sql(p, 'a')}, {key_sql(p, 'b')})" for p in plan.keys]
    key_names = [f"__k{i}" for i in range(len(keys))]
    kind = (
        "CASE WHEN a.__present IS NULL THEN 'added' WHEN b.__present IS NULL THEN 'removed' "
        f"WHEN {plan.any_diff} THEN 'changed' END"
    )
    values = [
        f"a.{q(c)} AS __a{i}, b.{q(c)} AS __b{i}, ({d}) AS __d{i}"
        for i, (c, d) in enumerate(zip(plan.compared, plan.diffs, strict=True))
    ]
    inner = ", ".join([f"{kind} AS __kind", *(f"{k} AS {n}" for k, n in zip(keys, key_names, strict=True))])
    inner += "".join(", " + v for v in values)
    order = ", ".join(key_names)
    sql = (
        f"SELECT * FROM (SELECT {inner} FROM {plan.source}) WHERE __kind IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY __kind ORDER BY {order}) <= {int(rows)} "
        f"ORDER BY __kind, {order}"
    )
    out: dict[str, list[dict[str, Any]]] = {ADDED: [], REMOVED: [], CHANGED: []}
    # through Arrow: DuckDB's own Python conversion of timestamptz needs pytz
    for row in con.sql(sql).to_arrow_table().to_pylist():
        key = {str(p): jsonable(row[n]) for p, n in zip(plan.keys, key_names, strict=True)}
        sample: dict[str, Any] = {"key": key}
        if row["__kind"] == CHANGED:
            sample["columns"] = {
                c: {"a": jsonable(row[f"__a{i}"]), "b": jsonable(row[f"__b{i}"])}
                for i, c in enumerate(plan.compared)
                if row[f"__d{i}"]
            }
        out[row["__kind"]].append(sample)
    return out


def _require_unique_keys(
    con: duckdb.DuckDBPyConnection, name: str, side: Snapshot, keys: Sequence[KeyPart]
) -> None:
    """Rows sharing a diff key cannot be paired (the join would multiply them): refuse, naming them.

    A build's keys are proven unique before it is published; a capture of a live database only warns,
    so captures (``@db`` included) are checked here.
    """
    if side.manifest.kind == "build":
        return
    cols = ", ".join(key_sql(p, "t") for p in keys)
    query = (
        f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT {cols}, count(*) AS n "
        f"FROM read_parquet({_files(side.part_paths(name))}) t GROUP BY ALL HAVING count(*) > 1)"
    )
    (groups, rows), *_ = con.execute(query).fetchall()
    if groups:
        key = ", ".join(str(p) for p in keys)
        raise SnapshotError(
            f"{side.tag}: {int(rows):,} rows of {name} share {int(groups):,} values of its diff key ({key}),"
            " so they cannot be paired with the other side",
            tag=side.tag,
            hint="remove the duplicates (omc-data validate lists them as a warning), or diff other tables",
        )


def _compare(
    con: duckdb.DuckDBPyConnection,
    name: str,
    sa: Snapshot,
    sb: Snapshot,
    ea: TableEntry,
    eb: TableEntry,
    rows: int = 0,
) -> TableDiff:
    plan = _plan(name, sa, sb, ea, eb)
    for side in (sa, sb):
        _require_unique_keys(con, name, side, plan.keys)
    added, removed, changed, columns_changed = _counts(con, plan)
    schema = _schema_changes(ea, eb)
    has_schema_change = any(schema.values())
    status = CHANGED if (added or removed or changed or has_schema_change) else UNCHANGED
    samples = _samples(con, plan, rows) if rows > 0 and (added or removed or changed) else {}
    return TableDiff(
        name, status, ea.rows, eb.rows, added, removed, changed, columns_changed, schema, samples
    )


def diff(
    sa: Snapshot,
    sb: Snapshot,
    *,
    tables: Sequence[str] | None = None,
    rows: int = 0,
    threads: int | None = None,
    memory_limit: str | None = None,
    labels: tuple[str, str] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> SnapshotDiff:
    """What changed from ``sa`` to ``sb``. ``rows``: sample rows of each kind per changed table;
    ``threads``/``memory_limit``: DuckDB's settings (its defaults when None); ``labels``: the names
    the report gives the two sides (their tags when None)."""
    if rows < 0:
        raise UsageError(f"rows must be 0 or more, not {rows}", hint="sample rows per kind, e.g. rows=5")
    ta, tb = sa.manifest.tables, sb.manifest.tables
    names = catalog.load_order(set(ta) | set(tb))
    names += sorted((set(ta) | set(tb)) - set(names))
    if tables is not None:
        unknown = [t for t in tables if t not in names]
        if unknown:
            raise UsageError(
                f"neither snapshot has a table {unknown[0]!r}", hint=f"tables: {', '.join(names)}"
            )
        names = [n for n in names if n in set(tables)]
    out: dict[str, TableDiff] = {}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    jsonvalue.register(con)
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        con.execute("SET memory_limit = ?", [memory_limit])
    try:
        for name in names:
            ea, eb = ta.get(name), tb.get(name)
            if ea is None:
                assert eb is not None
                out[name] = TableDiff(name, ADDED, None, eb.rows, added=eb.rows)
            elif eb is None:
                out[name] = TableDiff(name, REMOVED, ea.rows, None, removed=ea.rows)
            elif [p.sha256 for p in ea.parts] == [p.sha256 for p in eb.parts] and ea.schema == eb.schema:
                out[name] = TableDiff(name, UNCHANGED, ea.rows, eb.rows)
            else:
                with progress.task(f"diff {name}"):
                    out[name] = _compare(con, name, sa, sb, ea, eb, rows)
    finally:
        con.close()
    a, b = labels or (sa.tag, sb.tag)
    return SnapshotDiff(a, b, out)
