"""Compare two snapshots table by table, with DuckDB over their Parquet files.

Rows are matched by the table's diff key (the primary key for uuid tables, the natural key for serial
ones, whose sequence numbers are not content). A table whose parts have identical checksums on both
sides is unchanged without being read; otherwise status is about content, not bytes. Comparisons are
by value: numerics at any scale, timestamps as instants, NULL equal to NULL, arrays element-wise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from omc_data import catalog
from omc_data.catalog import KeyPart
from omc_data.errors import UsageError
from omc_data.progress import NULL_PROGRESS, Progress
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


def _compare(
    con: duckdb.DuckDBPyConnection, name: str, sa: Snapshot, sb: Snapshot, ea: TableEntry, eb: TableEntry
) -> TableDiff:
    keys = _key_parts(name, eb)
    key_cols = {p.column for p in keys if not p.utc_date}  # utc_date(x) matches rows; x itself is content
    serial = set()
    try:
        t = catalog.table(name)
        if t.has_surrogate_key:
            serial = set(t.primary_key)
    except KeyError:
        pass
    common = [c for c in eb.column_names if c in set(ea.column_names)]
    compared = [c for c in common if c not in key_cols and c not in serial]
    join = " AND ".join(f"{key_sql(p, 'a')} IS NOT DISTINCT FROM {key_sql(p, 'b')}" for p in keys)
    a_missing, b_missing = "a.__present IS NULL", "b.__present IS NULL"
    both = "a.__present AND b.__present"
    diffs = [f"a.{q(c)} IS DISTINCT FROM b.{q(c)}" for c in compared]
    any_diff = " OR ".join(diffs) if diffs else "false"
    select = [
        f"count(*) FILTER (WHERE {a_missing})",
        f"count(*) FILTER (WHERE {b_missing})",
        f"count(*) FILTER (WHERE {both} AND ({any_diff}))",
        *(f"count(*) FILTER (WHERE {both} AND {d})" for d in diffs),
    ]
    sql = (
        f"SELECT {', '.join(select)} FROM "
        f"(SELECT *, true AS __present FROM read_parquet({_files(sa.part_paths(name))})) a FULL JOIN "
        f"(SELECT *, true AS __present FROM read_parquet({_files(sb.part_paths(name))})) b ON {join}"
    )
    row = con.execute(sql).fetchone()
    assert row is not None
    added, removed, changed = int(row[0]), int(row[1]), int(row[2])
    columns_changed = {c: int(n) for c, n in zip(compared, row[3:], strict=True) if n}
    schema = _schema_changes(ea, eb)
    has_schema_change = any(schema.values())
    status = CHANGED if (added or removed or changed or has_schema_change) else UNCHANGED
    return TableDiff(name, status, ea.rows, eb.rows, added, removed, changed, columns_changed, schema)


def diff(
    sa: Snapshot, sb: Snapshot, *, tables: Sequence[str] | None = None, progress: Progress = NULL_PROGRESS
) -> SnapshotDiff:
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
                    out[name] = _compare(con, name, sa, sb, ea, eb)
    finally:
        con.close()
    return SnapshotDiff(sa.tag, sb.tag, out)
