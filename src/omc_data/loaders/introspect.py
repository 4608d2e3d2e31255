"""Read what a target database really has: columns, keys, who references whom, views, sequences, rights.

Everything the loader decides (bridges, blockers, DELETE or TRUNCATE, what to refresh, which sequences
to move) comes from these catalog queries, never from assumptions about the app's migrations. Tables
are looked up in the connection's ``current_schema()``; tables elsewhere (an app table in another
schema referencing ``user``) appear by their ``regclass`` text, quoted and qualified as needed.
"""

from __future__ import annotations

import graphlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from omc_data.loaders.pgbinary import ColumnSpec

ON_DELETE = {"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


@dataclass(frozen=True)
class TargetColumn:
    name: str
    pg_type: str  # pg_type.typname of the base type: int4, numeric, varchar, _varchar, timestamptz ...
    sql_type: str  # format_type(): "character varying(255)", "numeric(20,8)" ...
    length: int | None  # varchar(n) / char(n), also of array elements
    precision: int | None  # numeric(p, s)
    scale: int | None
    not_null: bool
    has_default: bool  # a DEFAULT, an identity or a generated column: the server fills it

    def spec(self) -> ColumnSpec:
        return ColumnSpec(self.name, self.pg_type, self.precision, self.scale)


@dataclass(frozen=True)
class TargetTable:
    name: str
    oid: int
    columns: dict[str, TargetColumn]
    is_owner: bool
    privileges: frozenset[str]  # of SELECT, INSERT, DELETE, TRUNCATE held by the current user
    sequences: dict[str, str] = field(default_factory=dict)  # column -> sequence (regclass text)
    sequence_owned: dict[str, bool] = field(default_factory=dict)
    partitioned: bool = False


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str  # the referencing table: its name, qualified ("schema.name") outside current_schema()
    columns: tuple[str, ...]
    ref_table: str  # the referenced table, named the same way
    ref_columns: tuple[str, ...]
    on_delete: str  # no action | restrict | cascade | set null | set default
    table_ident: tuple[str, ...] = ()  # (schema, name) for SQL
    ref_ident: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatView:
    name: str  # regclass text
    populated: bool
    is_owner: bool


@dataclass(frozen=True)
class TargetSchema:
    tables: dict[str, TargetTable]
    foreign_keys: list[ForeignKey]  # every FK into or out of the tables asked for
    views: list[MatView]  # materialized views over those tables, in refresh (dependency) order
    alembic_revision: str | None
    schema: str  # current_schema()

    def referenced(self, table: str) -> bool:
        return any(fk.ref_table == table for fk in self.foreign_keys)


def _typmod(pg_type: str, typmod: int) -> tuple[int | None, int | None, int | None]:
    """(length, precision, scale) from an attribute's typmod."""
    if typmod < 0:
        return None, None, None
    if pg_type in ("varchar", "bpchar", "_varchar", "_bpchar"):
        return typmod - 4, None, None
    if pg_type in ("numeric", "_numeric"):
        packed = typmod - 4
        scale = packed & 0xFFFF
        return None, (packed >> 16) & 0xFFFF, scale - 0x10000 if scale & 0x8000 else scale
    return None, None, None


_COLUMNS = """
SELECT c.relname, c.oid::bigint, c.relkind, pg_has_role(c.relowner, 'USAGE'),
       has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'),
       has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE'),
       a.attname, coalesce(bt.typname, t.typname), format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       a.attnotnull OR (t.typtype = 'd' AND t.typnotnull),
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' OR t.typdefault IS NOT NULL,
       coalesce(pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname),
                (SELECT d.refobjid::regclass::text FROM pg_attrdef ad
                   JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                    AND d.refclassid = 'pg_class'::regclass
                   JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
                  WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum LIMIT 1))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)
ORDER BY c.relname, a.attnum
"""

# Every foreign key of the database (there are tens, not thousands): cascades can run through app tables.
_FOREIGN_KEYS = """
SELECT con.conname, cn.nspname, c.relname, rn.nspname, r.relname, con.confdeltype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i)::text[],
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)::text[]
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class r ON r.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
WHERE con.contype = 'f'
ORDER BY cn.nspname, c.relname, con.conname
"""

# Every view or materialized view built (directly or through other views) on the given tables, with
# the objects each one reads; the caller keeps the materialized ones in dependency order.
_VIEWS = """
WITH RECURSIVE uses(view_oid, used_oid) AS (
    SELECT DISTINCT r.ev_class, d.refobjid
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = ANY(%s::oid[]) AND r.ev_class <> d.refobjid
  UNION
    SELECT DISTINCT r.ev_class, d.refobjid
    FROM uses u JOIN pg_depend d ON d.refobjid = u.view_oid
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND r.ev_class <> d.refobjid
)
SELECT u.view_oid::regclass::text, c.relkind, c.relispopulated, pg_has_role(c.relowner, 'USAGE'),
       u.used_oid::regclass::text
FROM uses u JOIN pg_class c ON c.oid = u.view_oid
"""


def read_schema(conn: psycopg.Connection[Any], names: Sequence[str]) -> TargetSchema:
    """The target's version of the tables ``names`` (those it lacks are simply absent)."""
    tables: dict[str, dict[str, Any]] = {}
    for row in conn.execute(_COLUMNS, [list(names)]).fetchall():
        relname, oid, relkind, owner, sel, ins, dele, trunc = row[:8]
        attname, typname, sql_type, typmod, not_null, has_default, sequence = row[8:]
        table = tables.setdefault(
            relname,
            {
                "oid": oid,
                "partitioned": relkind == "p",
                "is_owner": owner,
                "privileges": frozenset(
                    p
                    for p, ok in zip(
                        ("SELECT", "INSERT", "DELETE", "TRUNCATE"), (sel, ins, dele, trunc), strict=True
                    )
                    if ok
                ),
                "columns": {},
                "sequences": {},
            },
        )
        length, precision, scale = _typmod(typname, typmod)
        table["columns"][attname] = TargetColumn(
            attname, typname, sql_type, length, precision, scale, not_null, has_default
        )
        if sequence:
            table["sequences"][attname] = sequence
    owned = _sequence_ownership(conn, [s for t in tables.values() for s in t["sequences"].values()])
    target_tables = {
        name: TargetTable(
            name=name,
            oid=t["oid"],
            columns=t["columns"],
            is_owner=t["is_owner"],
            privileges=t["privileges"],
            sequences=t["sequences"],
            sequence_owned={col: owned.get(seq, False) for col, seq in t["sequences"].items()},
            partitioned=t["partitioned"],
        )
        for name, t in tables.items()
    }
    oids = [t.oid for t in target_tables.values()]
    current = str((conn.execute("SELECT current_schema()").fetchone() or ["public"])[0])

    def named(schema: str, name: str) -> str:
        return name if schema == current else f"{schema}.{name}"

    fks = [
        ForeignKey(
            name,
            named(cs, child),
            tuple(cols),
            named(rs, parent),
            tuple(ref_cols),
            ON_DELETE[action],
            table_ident=(cs, child),
            ref_ident=(rs, parent),
        )
        for name, cs, child, rs, parent, action, cols, ref_cols in conn.execute(_FOREIGN_KEYS).fetchall()
    ]
    return TargetSchema(
        tables=target_tables,
        foreign_keys=fks,
        views=_materialized_views(conn, oids),
        alembic_revision=alembic_revision(conn),
        schema=current,
    )


def _sequence_ownership(conn: psycopg.Connection[Any], sequences: list[str]) -> dict[str, bool]:
    if not sequences:
        return {}
    rows = conn.execute(
        "SELECT s, pg_has_role(c.relowner, 'USAGE')"
        " FROM unnest(%s::text[]) s JOIN pg_class c ON c.oid = s::regclass",
        [sequences],
    ).fetchall()
    return {r[0]: bool(r[1]) for r in rows}


def _materialized_views(conn: psycopg.Connection[Any], oids: list[int]) -> list[MatView]:
    rows = conn.execute(_VIEWS, [oids]).fetchall()
    info = {name: (kind, populated, owner) for name, kind, populated, owner, _ in rows}
    graph: dict[str, set[str]] = {name: set() for name in info}
    for name, _, _, _, used in rows:
        if used in info:
            graph[name].add(used)
    order = list(graphlib.TopologicalSorter(graph).static_order())
    return [MatView(name, bool(info[name][1]), bool(info[name][2])) for name in order if info[name][0] == "m"]


def alembic_revision(conn: psycopg.Connection[Any]) -> str | None:
    row = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    rev = conn.execute(
        "SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version"
    ).fetchone()
    return str(rev[0]) if rev and rev[0] else None
