"""What a load will do, decided before anything is written: the snapshot compared with the target.

``make_plan`` is pure (snapshot manifest + ``TargetSchema`` in, ``Plan`` out), so every rule below is
tested without a server. Differences are either *bridged* (done automatically and reported) or
*blockers* (the load stops, naming table, column and the way out):

- target column the snapshot lacks: nullable or with a default -> bridged (left to the server);
  NOT NULL without default -> blocker;
- snapshot column the target lacks: all NULL -> bridged (nothing is lost); holding data -> blocker,
  unless ``allow_column_loss`` (then dropped and reported);
- a type that cannot hold the data, judged from the manifest's column statistics without scanning:
  longer text than varchar(n), more integer digits or a finer scale than numeric(p, s), integers out of
  range, tz-aware timestamps into tz-naive columns, unrelated types -> blocker;
- column order never matters (COPY names its columns);
- missing privileges -> blocker, naming the GRANT to ask for.

Whole tables (the catalog grows with the app; snapshots and targets are older or newer):

- a dataset table the snapshot lacks but the target has (a dataset child of the replaced tables, or a
  table added since the snapshot was made) -> bridged: left as it is (an empty one stays empty), and
  like an app table its rows that point at replaced rows stop the load (or go with ``--cascade``);
- a snapshot table newer than the seed era that the target lacks (an older schema) -> bridged:
  skipped, unless a loaded table's foreign key points at it; a missing table of the seed era, or a
  target with none of the snapshot's tables -> blocker (run the migrations, or --create-schema).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from omc_data import catalog
from omc_data.catalog import PgType
from omc_data.loaders.introspect import TargetColumn, TargetSchema, TargetTable
from omc_data.loaders.pgbinary import FIXED_TYPES, TEXT_TYPES, VARIABLE_TYPES, ColumnSpec, order_columns
from omc_data.snapshots.manifest import Manifest, TableEntry

_ASK_OWNER = "load as the tables' owner, or ask the owner for that GRANT"
_INT_RANGES = {"int2": 2**15, "int4": 2**31, "int8": 2**63}
_SNAPSHOT_FAMILY = {
    "uuid": "uuid",
    "integer": "int",
    "bigint": "int",
    "boolean": "bool",
    "text": "text",
    "varchar": "text",
    "numeric": "numeric",
    "timestamptz": "timestamptz",
    "varchar[]": "text[]",
    "json": "json",
    "jsonb": "json",
    "bytea": "bytea",
    "double precision": "float",
}
_TARGET_FAMILY = {
    "uuid": "uuid",
    "int2": "int",
    "int4": "int",
    "int8": "int",
    "numeric": "numeric",
    "bool": "bool",
    "timestamptz": "timestamptz",
    "timestamp": "timestamp",
    "_varchar": "text[]",
    "_text": "text[]",
    "json": "json",
    "jsonb": "json",
    "bytea": "bytea",
    "float8": "float",
    **dict.fromkeys(TEXT_TYPES, "text"),
}


EmptyWith = Literal["TRUNCATE", "DELETE"]  # DELETE for tables other tables reference


@dataclass(frozen=True)
class Blocker:
    table: str
    column: str | None
    reason: str
    way_out: str

    @property
    def what(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else repr(self.table)
        return f"{where}: {self.reason}"

    def __str__(self) -> str:
        return f"{self.what} ({self.way_out})"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "reason": self.reason, "way_out": self.way_out}


@dataclass(frozen=True)
class Bridge:
    table: str
    column: str | None  # None: the whole table
    action: str  # what the load does about the difference

    def __str__(self) -> str:
        where = self.table if self.column is None else f"{self.table}.{self.column}"
        return f"{where}: {self.action}"

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "action": self.action}


@dataclass(frozen=True)
class TablePlan:
    name: str
    rows: int  # rows the snapshot loads
    columns: list[ColumnSpec]  # the COPY column list, in the encoder's order
    binary: bool  # binary COPY (else text COPY for types the encoder cannot send)
    empty_with: EmptyWith
    sequences: dict[str, str]  # column -> sequence to move past the loaded ids
    dropped: list[str] = field(default_factory=list)  # snapshot columns left out (--allow-column-loss)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": [c.name for c in self.columns],
            "copy_format": "binary" if self.binary else "text",
            "empty_with": self.empty_with,
            "sequences": self.sequences,
            "dropped_columns": self.dropped,
        }


@dataclass
class Plan:
    tables: list[TablePlan]  # in load order (parents first)
    blockers: list[Blocker]
    bridges: list[Bridge]
    views: list[str]  # materialized views to refresh, in dependency order
    skipped_views: list[str]  # not populated: left as they are
    missing_privileges: list[str]
    alembic_revision: str | None
    absent: list[str] = field(default_factory=list)  # dataset tables the snapshot lacks: left as they are
    skipped: list[str] = field(default_factory=list)  # snapshot tables the target lacks: not loaded

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]


def replaced_tables(manifest: Manifest, wanted: Sequence[str] | None) -> list[str]:
    """The snapshot's tables narrowed to ``wanted`` plus, recursively, their dataset children; for a
    whole load (``wanted`` None) every dataset table, so those the snapshot lacks are reported too."""
    if wanted is None:
        return with_dataset_children([*manifest.tables, *catalog.table_names()])
    return with_dataset_children(wanted)


def with_dataset_children(tables: Iterable[str]) -> list[str]:
    """``tables`` and, recursively, the dataset tables whose foreign keys point at them, in load order."""
    names = set(tables)
    changed = True
    while changed:
        changed = False
        for t in catalog.current():
            if t.name not in names and any(fk.ref_table in names for fk in t.foreign_keys):
                names.add(t.name)
                changed = True
    return catalog.load_order(names)


def _snapshot_type(entry: TableEntry, column: str) -> PgType:
    for c in entry.schema:
        if c.name == column:
            return catalog.parse_type(c.type)
    raise KeyError(column)


def _type_blocker(table: str, col: TargetColumn, snap_type: PgType, stats: dict[str, Any]) -> str | None:
    """Why ``col`` cannot hold the snapshot's values (from their statistics), or None."""
    src, dst = _SNAPSHOT_FAMILY.get(snap_type.name), _TARGET_FAMILY.get(col.pg_type)
    has_values = stats.get("min") is not None and stats.get("max") is not None
    if src == "timestamptz" and dst == "timestamp":
        return "timestamptz values into a timestamp without time zone column would lose their zone"
    if src is None or dst is None or (src != dst and not (src == "int" and dst == "numeric")):
        return f"{snap_type} values cannot go into a {col.sql_type} column"
    if src == "text" or src == "text[]":
        longest = stats.get("max_length")
        if col.length is not None and longest is not None and longest > col.length:
            return f"values up to {longest} characters do not fit {col.sql_type}"
    if dst == "int" and has_values:
        limit = _INT_RANGES[col.pg_type]
        lo, hi = int(stats["min"]), int(stats["max"])
        if lo < -limit or hi >= limit:
            return f"values from {lo} to {hi} do not fit {col.sql_type}"
    if dst == "numeric" and col.precision is not None and has_values:
        scale = col.scale or 0
        if src == "int":
            digits = max(len(str(abs(int(stats[k])))) for k in ("min", "max"))
            finest = 0
        else:
            digits = int(stats.get("max_integer_digits") or 0)
            finest = int(stats.get("max_scale") or 0)
        if finest > scale:
            return f"values with {finest} decimal places are finer than {col.sql_type} keeps"
        if digits > col.precision - scale:
            return f"values with {digits} integer digits do not fit {col.sql_type}"
    return None


def empty_with(schema: TargetSchema, table: TargetTable) -> EmptyWith:
    """DELETE for tables other tables reference (TRUNCATE would refuse), TRUNCATE for the rest."""
    if schema.referenced(table.name) or "TRUNCATE" not in table.privileges or table.partitioned:
        return "DELETE"
    return "TRUNCATE"


def make_plan(
    manifest: Manifest,
    schema: TargetSchema,
    *,
    tables: Sequence[str] | None = None,
    allow_column_loss: bool = False,
) -> Plan:
    """Compare the snapshot's tables with the target's and decide what the load will do."""
    blockers: list[Blocker] = []
    bridges: list[Bridge] = []
    privileges: list[str] = []
    plans: list[TablePlan] = []
    names = replaced_tables(manifest, tables)
    held = [n for n in names if n in manifest.tables]
    absent = [n for n in names if n not in manifest.tables and n in schema.tables]
    for name in absent:
        bridges.append(Bridge(name, None, "not in the snapshot; left as it is"))
    skipped = _skipped_tables(held, schema, blockers, bridges)
    for name in held:
        target = schema.tables.get(name)
        entry = manifest.tables[name]
        if target is None:
            continue
        plans.append(_table_plan(schema, target, entry, allow_column_loss, blockers, bridges))
        for missing in _missing_privileges(target, plans[-1]):
            privileges.append(missing)
            blockers.append(Blocker(name, None, f"missing privilege: {missing}", _ASK_OWNER))
    for view in schema.views:
        if view.populated and not view.is_owner:
            missing = f"ownership of materialized view {view.name} (to refresh it)"
            privileges.append(missing)
            blockers.append(Blocker(view.name, None, f"missing privilege: {missing}", _ASK_OWNER))
    return Plan(
        tables=plans,
        blockers=blockers,
        bridges=bridges,
        views=[v.name for v in schema.views if v.populated],
        skipped_views=[v.name for v in schema.views if not v.populated],
        missing_privileges=privileges,
        alembic_revision=schema.alembic_revision,
        absent=absent,
        skipped=skipped,
    )


def _skipped_tables(
    held: list[str], schema: TargetSchema, blockers: list[Blocker], bridges: list[Bridge]
) -> list[str]:
    """The snapshot's tables the target lacks: a table newer than the seed era is skipped (a bridge: an
    older schema), unless a loaded table points at it; any other missing table is a blocker."""
    missing = [n for n in held if n not in schema.tables]
    loaded = [n for n in held if n in schema.tables]
    skipped: list[str] = []
    for name in missing:
        referrers = [t for t in loaded if name in _catalog_parents(t)]
        if not _newer_than_seed_era(name) or len(missing) == len(held):
            blockers.append(
                Blocker(
                    name, None, "the target has no such table",
                    "run the app's migrations, or --create-schema in a database without dataset tables",
                )
            )  # fmt: skip
        elif referrers:
            blockers.append(
                Blocker(
                    name, None, f"the target has no such table, and {', '.join(referrers)} would point at it",
                    "run the app's migrations (alembic upgrade head)",
                )
            )  # fmt: skip
        else:
            skipped.append(name)
            bridges.append(Bridge(name, None, "not in the target (an older schema); skipped"))
    return skipped


def _newer_than_seed_era(name: str) -> bool:
    try:
        return catalog.table(name).since is not None
    except KeyError:
        return False


def _catalog_parents(name: str) -> tuple[str, ...]:
    try:
        return catalog.table(name).parents
    except KeyError:
        return ()


def _table_plan(
    schema: TargetSchema,
    target: TargetTable,
    entry: TableEntry,
    allow_column_loss: bool,
    blockers: list[Blocker],
    bridges: list[Bridge],
) -> TablePlan:
    name = entry.name
    specs: list[ColumnSpec] = []
    dropped: list[str] = []
    binary = True
    for column in entry.column_names:
        stats = entry.stats.get(column, {})
        col = target.columns.get(column)
        if col is None:
            non_null = entry.rows - int(stats.get("nulls", 0))
            if non_null == 0:
                bridges.append(Bridge(name, column, "not in the target; all NULL in the snapshot, left out"))
            elif allow_column_loss:
                bridges.append(
                    Bridge(name, column, f"not in the target; {non_null:,} non-null values dropped")
                )
                dropped.append(column)
            else:
                blockers.append(
                    Blocker(name, column, f"not in the target, and {non_null:,} rows hold a value",
                            "upgrade the target's schema (alembic upgrade head), or --allow-column-loss")
                )  # fmt: skip
            continue
        reason = _type_blocker(name, col, _snapshot_type(entry, column), stats)
        if reason:
            blockers.append(Blocker(name, column, reason, "migrate the column, or load a snapshot that fits"))
            continue
        specs.append(col.spec())
        if col.pg_type not in FIXED_TYPES and col.pg_type not in VARIABLE_TYPES:
            binary = False
    for column, col in target.columns.items():
        if column in entry.column_names:
            continue
        if col.has_default:
            bridges.append(Bridge(name, column, "not in the snapshot; filled by the column's default"))
        elif not col.not_null:
            bridges.append(Bridge(name, column, "not in the snapshot; left NULL"))
        else:
            blockers.append(
                Blocker(name, column, "NOT NULL without a default, and the snapshot has no such column",
                        "give the column a default or make it nullable, or load a snapshot that has it")
            )  # fmt: skip
    sequences = {c: s for c, s in target.sequences.items() if c in entry.column_names}
    return TablePlan(
        name=name,
        rows=entry.rows,
        columns=order_columns(specs) if binary else specs,
        binary=binary,
        empty_with=empty_with(schema, target),
        sequences=sequences,
        dropped=dropped,
    )


def _missing_privileges(target: TargetTable, plan: TablePlan) -> list[str]:
    ident = f'"{target.name}"' if target.name == "user" else target.name
    missing = [f"{p} ON {ident}" for p in ("SELECT", "INSERT") if p not in target.privileges]
    if plan.empty_with not in target.privileges and "DELETE" not in target.privileges:
        missing.append(f"DELETE ON {ident}")
    for column, owned in target.sequence_owned.items():
        if column in plan.sequences and not owned:
            missing.append(f"ownership of sequence {target.sequences[column]} ON {ident}")
    return missing
