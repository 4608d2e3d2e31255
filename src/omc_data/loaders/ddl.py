"""DDL for an empty database, derived from the catalog (what ``load --create-schema`` runs).

The tables come out as the app's alembic migrations make them, quirks included: the irregular sequence
name of ``price_data_5min`` (a bigint sequence behind an integer column), uniqueness as unique indexes
(over expressions, some partial), CHECK constraints, plain indexes, and foreign keys without ON DELETE
CASCADE (some onto a unique column that is not the primary key).
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from omc_data import catalog
from omc_data.catalog import KeyPart, Table


def _key_part(part: KeyPart) -> sql.Composable:
    if part.utc_date:
        return sql.SQL("(({} AT TIME ZONE 'UTC')::date)").format(sql.Identifier(part.column))
    if part.if_null is not None:
        return sql.SQL("COALESCE({}, {})").format(sql.Identifier(part.column), sql.Literal(part.if_null))
    return sql.Identifier(part.column)


def table_ddl(t: Table) -> list[sql.Composed]:
    """Statements creating one table with its sequences, keys and indexes (foreign keys excluded)."""
    stmts: list[sql.Composed] = []
    for c in t.serial_columns:
        assert c.serial is not None
        stmts.append(
            sql.SQL("CREATE SEQUENCE {} AS {}").format(
                sql.Identifier(c.serial.sequence),
                sql.SQL("bigint" if c.serial.bigint_sequence else "integer"),
            )
        )
    columns: list[sql.Composed] = []
    for c in t.columns:
        parts: list[sql.Composable] = [sql.Identifier(c.name), sql.SQL(c.type.sql)]
        if not c.nullable:
            parts.append(sql.SQL("NOT NULL"))
        if c.serial is not None:
            parts.append(sql.SQL("DEFAULT nextval({})").format(sql.Literal(c.serial.sequence)))
        elif c.default is not None:
            parts.append(sql.SQL("DEFAULT ") + sql.SQL(c.default))
        columns.append(sql.SQL(" ").join(parts))
    columns.append(
        sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(
            sql.Identifier(t.primary_key_name), sql.SQL(", ").join(map(sql.Identifier, t.primary_key))
        )
    )
    for ck in t.checks:  # the expression is the catalog's own SQL, never user input
        columns.append(
            sql.SQL("CONSTRAINT {} CHECK ({})").format(sql.Identifier(ck.name), sql.SQL(ck.expression))
        )
    stmts.append(
        sql.SQL("CREATE TABLE {} (\n    {}\n)").format(
            sql.Identifier(t.name), sql.SQL(",\n    ").join(columns)
        )
    )
    for c in t.serial_columns:
        assert c.serial is not None
        stmts.append(
            sql.SQL("ALTER SEQUENCE {} OWNED BY {}.{}").format(
                sql.Identifier(c.serial.sequence), sql.Identifier(t.name), sql.Identifier(c.name)
            )
        )
    for uk in t.unique_keys:
        stmt = sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
            sql.Identifier(uk.name), sql.Identifier(t.name), sql.SQL(", ").join(map(_key_part, uk.parts))
        )
        if uk.where is not None:
            stmt += sql.SQL(" WHERE {}").format(sql.SQL(uk.where))
        stmts.append(stmt)
    for ix in t.indexes:
        stmts.append(
            sql.SQL("CREATE INDEX {} ON {} ({})").format(
                sql.Identifier(ix.name),
                sql.Identifier(t.name),
                sql.SQL(", ").join(map(sql.Identifier, ix.columns)),
            )
        )
    return stmts


def foreign_key_ddl(t: Table) -> list[sql.Composed]:
    return [
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})").format(
            sql.Identifier(t.name),
            sql.Identifier(fk.name),
            sql.SQL(", ").join(map(sql.Identifier, fk.columns)),
            sql.Identifier(fk.ref_table),
            sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns)),
        )
        for fk in t.foreign_keys
    ]


def schema_ddl(tables: Iterable[Table] | None = None) -> list[sql.Composed]:
    """Every statement for an empty database: tables first, then foreign keys (cycles need no care)."""
    pool = list(catalog.current(tables))
    stmts = [s for t in pool for s in table_ddl(t)]
    stmts += [s for t in pool for s in foreign_key_ddl(t)]
    return stmts
