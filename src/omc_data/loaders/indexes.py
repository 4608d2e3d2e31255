"""Set a big table's indexes and keys aside for its COPY and rebuild them after, inside the transaction.

What a restore tool does: maintaining five B-trees row by row costs about twice as much as building
them once from the loaded table, and checking a foreign key per row costs more than validating it in
one join. Nothing is skipped: every index is rebuilt from its own definition (``pg_get_indexdef``),
every constraint re-added from ``pg_get_constraintdef`` (so unique keys and foreign keys are checked
against all the loaded rows), with the same names, comments and CLUSTER mark. It all happens in the
load's transaction, so a failure anywhere rolls back to the original indexes.

Left in place (kept and maintained during the COPY): keys that other tables' foreign keys depend on,
indexes in a non-default tablespace, replica-identity indexes, exclusion constraints, and anything
on a table the current user does not own.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SetAside:
    name: str
    kind: str  # constraint | index | foreign key
    drop: sql.Composed | sql.SQL
    create: list[sql.Composed | sql.SQL]  # the definition, then comment / CLUSTER ON

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind}


_CONSTRAINTS = """
SELECT con.conname, con.contype, pg_get_constraintdef(con.oid),
       obj_description(con.oid, 'pg_constraint'), coalesce(i.indisclustered, false),
       coalesce(ic.relname = con.conname, true)
FROM pg_constraint con
LEFT JOIN pg_index i ON i.indexrelid = con.conindid AND con.contype IN ('p', 'u')
LEFT JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE con.conrelid = %(table)s AND con.contype IN ('p', 'u', 'f')
  AND (con.contype = 'f' OR (
        ic.reltablespace = 0 AND NOT i.indisreplident
        AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = con.conindid)))
ORDER BY con.contype = 'f', con.conname
"""

_INDEXES = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class'), i.indisclustered
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %(table)s AND ic.reltablespace = 0 AND NOT i.indisreplident
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype <> 'f'
                  AND c.conrelid = i.indrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
ORDER BY ic.relname
"""


def set_aside(conn: psycopg.Connection[Any], table: str, oid: int) -> list[SetAside]:
    """Drop the table's indexes, keys and foreign keys that can be rebuilt; return how to rebuild them."""
    ident = sql.Identifier(table)
    out: list[SetAside] = []
    for name, contype, definition, comment, clustered, same_name in conn.execute(
        _CONSTRAINTS, {"table": oid}
    ).fetchall():
        if not same_name:  # the index was renamed apart from its constraint: re-adding would not restore it
            continue
        create: list[sql.Composed | sql.SQL] = [
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                ident, sql.Identifier(name), sql.SQL(definition)
            )
        ]
        if comment is not None:
            create.append(
                sql.SQL("COMMENT ON CONSTRAINT {} ON {} IS {}").format(
                    sql.Identifier(name), ident, sql.Literal(comment)
                )
            )
        if clustered:
            create.append(sql.SQL("ALTER TABLE {} CLUSTER ON {}").format(ident, sql.Identifier(name)))
        kind = "foreign key" if contype == "f" else "constraint"
        drop = sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident, sql.Identifier(name))
        out.append(SetAside(name, kind, drop, create))
    for name, definition, comment, clustered in conn.execute(_INDEXES, {"table": oid}).fetchall():
        create = [sql.SQL(definition)]
        index = sql.Identifier(name)
        if comment is not None:
            create.append(sql.SQL("COMMENT ON INDEX {} IS {}").format(index, sql.Literal(comment)))
        if clustered:
            create.append(sql.SQL("ALTER TABLE {} CLUSTER ON {}").format(ident, index))
        out.append(SetAside(name, "index", sql.SQL("DROP INDEX {}").format(index), create))
    for item in out:
        conn.execute(item.drop)
    return out


def rebuild(conn: psycopg.Connection[Any], items: list[SetAside]) -> None:
    """Keys first (a unique index backs them), then plain indexes, foreign keys last (validated now)."""
    order = {"constraint": 0, "index": 1, "foreign key": 2}
    for item in sorted(items, key=lambda i: order[i.kind]):
        started = time.perf_counter()
        for stmt in item.create:
            conn.execute(stmt)
        log.info("rebuilt %s %s in %.2fs", item.kind, item.name, time.perf_counter() - started)
