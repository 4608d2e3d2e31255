"""Arrow types for the catalog's PostgreSQL types: how a dataset table looks inside a snapshot.

uuid -> the canonical Arrow uuid extension type (Parquet UUID, 16 bytes); numeric(p, s) -> decimal128(p, s)
(exact); timestamptz -> timestamp[us, UTC]; integer -> int32 (the exact width binary COPY needs);
varchar/text -> string; varchar[] -> list<string>; json/jsonb -> string (the JSON text; jsonb is compared
by value, see ``diff`` and ``validate``); bytea -> binary; double precision -> float64. The last four need
a snapshot of format_version 2 (``catalog.V1_TYPES``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from omc_data.catalog import Column, PgType, Table

_SIMPLE: dict[str, pa.DataType] = {
    "uuid": pa.uuid(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "varchar[]": pa.list_(pa.string()),
    "json": pa.string(),
    "jsonb": pa.string(),
    "bytea": pa.binary(),
    "double precision": pa.float64(),
}


def arrow_type(pg_type: PgType) -> pa.DataType:
    if pg_type.name == "numeric":
        if pg_type.precision is None:
            raise ValueError("numeric without precision has no exact Arrow type")
        return pa.decimal128(pg_type.precision, pg_type.scale or 0)
    try:
        return _SIMPLE[pg_type.name]
    except KeyError:
        raise ValueError(f"no Arrow type for PostgreSQL type {pg_type.sql}") from None


def arrow_field(column: Column) -> pa.Field:
    return pa.field(column.name, arrow_type(column.type), nullable=column.nullable)


def arrow_schema(table: Table, columns: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema of ``table`` (all its columns, or ``columns`` in that order)."""
    names = table.column_names if columns is None else columns
    return pa.schema([arrow_field(table.column(n)) for n in names])


def conform(table: Table, data: pa.Table | pa.RecordBatch) -> pa.RecordBatch | pa.Table:
    """Select and cast ``data`` to the exact catalog schema (columns in catalog order).

    A column the catalog has and ``data`` lacks is a programming error (KeyError); nullability is checked
    by validation, not here.
    """
    schema = arrow_schema(table)
    arrays = []
    for field in schema:
        column = data.column(field.name)
        if column.type != field.type:
            column = column.cast(field.type)
        arrays.append(column)
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return pa.Table.from_arrays(arrays, schema=schema)
