"""App rows that point at the rows a load replaces: counted through cascades, never deleted silently.

A load empties whole tables, so every row of another table whose foreign key (all columns non-null,
MATCH SIMPLE) points into a replaced table points at a row that goes. What happens to it depends on
the key's ON DELETE: ``cascade`` deletes it (and, recursively, what points at it), ``set null`` /
``set default`` rewrites it, ``no action`` / ``restrict`` makes the load fail. The loader counts all of
them first; without ``--cascade`` any count stops the load with the list; with it,
``delete_referencing`` removes exactly the counted rows, deepest first, just before their replaced
table is emptied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from omc_data.errors import ReferencingRowsError
from omc_data.loaders.introspect import ForeignKey

MAX_DEPTH = 16


@dataclass(frozen=True)
class Referencing:
    table: str  # regclass text of the referencing table
    constraint: str
    parent: str  # the table whose rows go
    on_delete: str
    rows: int
    depth: int  # 1: points at a replaced table; 2: at rows of depth 1, ...
    predicate: sql.Composable  # selects exactly these rows
    ident: tuple[str, ...] = ()  # (schema, table) for SQL
    root: str = ""  # the replaced table at the start of the chain

    @property
    def effect(self) -> str:
        if self.on_delete in ("set null", "set default"):
            return f"would be {'set to NULL' if self.on_delete == 'set null' else 'reset to the default'}"
        if self.on_delete == "cascade":
            return "would be deleted (ON DELETE CASCADE)"
        return f"would block the load (ON DELETE {self.on_delete.upper()})"

    def __str__(self) -> str:
        return (
            f"{self.rows:,} rows of {self.table} referencing {self.parent} ({self.constraint}) {self.effect}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "constraint": self.constraint,
            "references": self.parent,
            "on_delete": self.on_delete,
            "rows": self.rows,
            "depth": self.depth,
        }


def _rel(ident: tuple[str, ...]) -> sql.Composable:
    return sql.Identifier(*ident)


def _predicate(fk: ForeignKey, parent_predicate: sql.Composable | None) -> sql.Composable:
    cols = [sql.Identifier(c) for c in fk.columns]
    not_null = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in cols)
    if parent_predicate is None:  # every parent row goes
        return not_null
    return sql.SQL("{} AND ({}) IN (SELECT {} FROM {} WHERE {})").format(
        not_null,
        sql.SQL(", ").join(cols),
        sql.SQL(", ").join(sql.Identifier(c) for c in fk.ref_columns),
        _rel(fk.ref_ident),
        parent_predicate,
    )


def reachable(foreign_keys: Sequence[ForeignKey], replaced: Sequence[str]) -> list[tuple[str, ...]]:
    """Every table outside ``replaced`` that points at it through a chain of foreign keys, as idents."""
    found: dict[str, tuple[str, ...]] = {}
    frontier = list(replaced)
    while frontier:
        parent = frontier.pop()
        for fk in foreign_keys:
            if fk.ref_table == parent and fk.table not in replaced and fk.table not in found:
                found[fk.table] = fk.table_ident
                frontier.append(fk.table)
    return [found[name] for name in sorted(found)]


def lock_against_new_references(
    conn: psycopg.Connection[Any], foreign_keys: Sequence[ForeignKey], replaced: Sequence[str]
) -> None:
    """Stop new rows from pointing at the replaced rows between the count and the delete.

    A row can only start referencing another after its key check takes a row lock on the referenced
    row, which EXCLUSIVE mode blocks; readers go on. The replaced tables alone already stop new direct
    references; the reachable app tables stop new rows further down a chain. Those the user may not
    lock that way (no UPDATE, DELETE or TRUNCATE privilege) are left out, and only for them can a row
    added during the load still be cascaded uncounted.
    """
    names = [sql.Identifier(t) for t in replaced]
    for ident in reachable(foreign_keys, replaced):
        row = conn.execute(
            "SELECT has_table_privilege(%s::regclass, 'UPDATE, DELETE, TRUNCATE')",
            [sql.Identifier(*ident).as_string(conn)],
        ).fetchone()
        if row and row[0]:
            names.append(sql.Identifier(*ident))
    conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.SQL(", ").join(names)))


def refusal(found: Sequence[Referencing], message: str, *, hint: str) -> ReferencingRowsError:
    """The error that stops a load or clear over ``found``: rows by table and by key as fields."""
    tables: dict[str, int] = {}
    for r in found:
        tables[r.table] = tables.get(r.table, 0) + r.rows
    return ReferencingRowsError(
        message,
        hint=hint,
        tables=tables,
        referencing=[r.to_json() for r in found],
        details=[str(r) for r in found],
    )


def uncountable(found: Sequence[Referencing], foreign_keys: Sequence[ForeignKey]) -> list[str]:
    """Chains whose deletion ``count_referencing`` cannot count exactly: self-references, depth cap."""
    problems = []
    tables = {r.table for r in found}
    for fk in foreign_keys:
        follows = fk.on_delete not in ("set null", "set default")
        if fk.table == fk.ref_table and fk.table in tables and follows:
            problems.append(f"{fk.table} references itself ({fk.name}): rows under the counted ones go too")
    deep = [r.table for r in found if r.depth >= MAX_DEPTH]
    problems += [f"{table}: the chain is deeper than {MAX_DEPTH} keys" for table in deep]
    return problems


def count_referencing(
    conn: psycopg.Connection[Any], foreign_keys: Sequence[ForeignKey], replaced: Sequence[str]
) -> list[Referencing]:
    """Every row outside ``replaced`` that a load would delete, rewrite or be blocked by, by key."""
    found: list[Referencing] = []
    frontier: list[tuple[str, sql.Composable | None, int, str]] = [(t, None, 0, t) for t in replaced]
    seen: set[tuple[str, str]] = set()
    while frontier:
        parent, parent_predicate, depth, root = frontier.pop(0)
        for fk in foreign_keys:
            if fk.ref_table != parent or fk.table in replaced or (fk.table, fk.name) in seen:
                continue
            seen.add((fk.table, fk.name))
            predicate = _predicate(fk, parent_predicate)
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE {}").format(_rel(fk.table_ident), predicate)
            ).fetchone()
            rows = int(row[0]) if row else 0
            if rows == 0:
                continue
            found.append(
                Referencing(
                    fk.table, fk.name, parent, fk.on_delete, rows, depth + 1, predicate, fk.table_ident, root
                )
            )
            if fk.on_delete not in ("set null", "set default") and depth + 1 < MAX_DEPTH:
                frontier.append((fk.table, predicate, depth + 1, root))
    return found


def delete_referencing(
    conn: psycopg.Connection[Any], found: Sequence[Referencing], root: str, deleted: dict[str, int]
) -> None:
    """Delete the counted rows that lead to ``root``, deepest first, adding to ``deleted`` by table.

    Called for each replaced table just before it is emptied, after its dataset children: app rows
    that dataset rows point back at (a session's credential) can only go once those are gone.
    ``set null``/``set default`` rows are left to their key's action.
    """
    for ref in sorted(found, key=lambda r: -r.depth):
        if ref.root != root or ref.on_delete in ("set null", "set default"):
            continue
        cur = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(_rel(ref.ident), ref.predicate))
        deleted[ref.table] = deleted.get(ref.table, 0) + max(cur.rowcount, 0)
