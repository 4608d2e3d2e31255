"""The catalog's model: PostgreSQL column types, columns, keys and tables, and the schema revisions.

Plain Python, no third-party imports. A ``Table`` checks itself when it is made (no duplicate columns,
no key naming an unknown column). The short helpers at the end (``_c``, ``_keys``, ``_fk``, ``_NOW``)
are for the entry modules of this package (:mod:`.accounts`, :mod:`.agents`, :mod:`.trading`,
:mod:`.market`); everything else reads tables through :mod:`omc_data.catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omc_data.errors import UsageError

CURRENT_HEAD = "s2v6w3x9y4z8"
SEED_ERA_HEAD = "28ac3452fc30"


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL column type, as precise as the loader needs it."""

    # uuid | integer | bigint | boolean | text | varchar | numeric | timestamptz | varchar[]
    # | json | jsonb | bytea | double precision
    name: str
    length: int | None = None  # varchar(n)
    precision: int | None = None  # numeric(p, s)
    scale: int | None = None

    @property
    def sql(self) -> str:
        if self.name == "varchar" and self.length is not None:
            return f"varchar({self.length})"
        if self.name == "numeric" and self.precision is not None:
            return f"numeric({self.precision},{self.scale or 0})"
        return self.name

    def __str__(self) -> str:
        return self.sql


UUID = PgType("uuid")
INTEGER = PgType("integer")
BIGINT = PgType("bigint")
BOOLEAN = PgType("boolean")
TEXT = PgType("text")
TIMESTAMPTZ = PgType("timestamptz")
VARCHAR_ARRAY = PgType("varchar[]")
JSON = PgType("json")  # JSON text, kept as written
JSONB = PgType("jsonb")  # JSON value: key order and whitespace are not content
BYTEA = PgType("bytea")
FLOAT8 = PgType("double precision")

# Types a snapshot of format_version 1 can hold; the others need format_version 2.
V1_TYPES = frozenset({"uuid", "integer", "bigint", "boolean", "text", "varchar", "numeric", "timestamptz"})
V1_TYPES |= {"varchar[]"}
JSON_TYPES = frozenset({"json", "jsonb"})


def varchar(length: int | None = None) -> PgType:
    return PgType("varchar", length=length)


def numeric(precision: int, scale: int) -> PgType:
    return PgType("numeric", precision=precision, scale=scale)


def parse_type(text: str) -> PgType:
    """Inverse of ``PgType.sql`` (used to read the schema recorded in a manifest)."""
    text = text.strip()
    if text.startswith("varchar(") and text.endswith(")"):
        return varchar(int(text[8:-1]))
    if text.startswith("numeric(") and text.endswith(")"):
        precision, scale = text[8:-1].split(",")
        return numeric(int(precision), int(scale))
    if text in {"uuid", "integer", "bigint", "boolean", "text", "varchar", "timestamptz", "varchar[]"}:
        return PgType(text)
    if text in {"json", "jsonb", "bytea", "double precision"}:
        return PgType(text)
    raise ValueError(f"unknown column type {text!r}")


@dataclass(frozen=True)
class Serial:
    """An integer column filled from a sequence (``serial``-style)."""

    sequence: str  # the real name: not always <table>_<column>_seq
    bigint_sequence: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    type: PgType
    nullable: bool = True
    default: str | None = None  # SQL expression of the server default, if any
    serial: Serial | None = None
    since: str | None = None  # alembic revision that added the column, when newer than the seed era
    doc: str = ""
    # The values the app uses in a free-text status-like column (checked by validate, not by PostgreSQL).
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyPart:
    """One part of a key: a column, the UTC calendar date of a timestamptz column, or a text column
    with NULL read as ``if_null`` (``COALESCE(model_name, '')``: NULLs then collide like values)."""

    column: str
    utc_date: bool = False
    if_null: str | None = None

    def __post_init__(self) -> None:
        if self.utc_date and self.if_null is not None:
            raise ValueError(f"key part {self.column}: utc_date and if_null do not combine")
        if self.if_null is not None and "'" in self.if_null:
            raise ValueError(f"key part {self.column}: if_null may not hold a quote")

    @property
    def plain(self) -> bool:
        return not self.utc_date and self.if_null is None

    def __str__(self) -> str:
        if self.utc_date:
            return f"utc_date({self.column})"
        if self.if_null is not None:
            return f"coalesce({self.column},'{self.if_null}')"
        return self.column


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class UniqueKey:
    """A uniqueness rule; in the app these are unique indexes, some over expressions, some partial.

    ``where``: the rows the rule covers (a partial index), a condition over the table's columns written
    so that PostgreSQL and DuckDB read it alike (``is_active``, ``status = 'x'``); None: every row.
    """

    name: str
    parts: tuple[KeyPart, ...]
    where: str | None = None


@dataclass(frozen=True)
class Check:
    """A CHECK constraint: ``expression`` holds for every row (NULL counts as holding, as in PostgreSQL).

    Written so that PostgreSQL and DuckDB read it alike: validation runs it over the snapshot's rows.
    """

    name: str
    expression: str
    columns: tuple[str, ...]  # the columns it reads (checked to exist)


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    primary_key_name: str
    diff_key: tuple[KeyPart, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_keys: tuple[UniqueKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    checks: tuple[Check, ...] = ()
    doc: str = ""
    since: str | None = None  # alembic revision that made the table, when newer than the seed era
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise UsageError(f"table {self.name}: duplicate column", hint="name each column once")
        referenced = [*self.primary_key, *(p.column for p in self.diff_key)]
        for fk in self.foreign_keys:
            referenced.extend(fk.columns)
        for uk in self.unique_keys:
            referenced.extend(p.column for p in uk.parts)
        for ix in self.indexes:
            referenced.extend(ix.columns)
        for ck in self.checks:
            referenced.extend(ck.columns)
        unknown = sorted(set(referenced) - set(names))
        if unknown:
            raise UsageError(
                f"table {self.name}: unknown columns {unknown}",
                hint="keys and indexes may only name the table's own columns",
            )

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def serial_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.serial is not None)

    @property
    def has_surrogate_key(self) -> bool:
        """True when the primary key is a sequence number, so rows are matched by the diff key."""
        return all(self.column(c).serial is not None for c in self.primary_key)

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(sorted({fk.ref_table for fk in self.foreign_keys if fk.ref_table != self.name}))


_c = Column


def _keys(*columns: str) -> tuple[KeyPart, ...]:
    return tuple(KeyPart(c) for c in columns)


def _fk(table: str, column: str, ref: str, name: str | None = None, *, ref_column: str = "id") -> ForeignKey:
    """A single-column foreign key to ``ref.ref_column`` (its primary key or a unique column)."""
    return ForeignKey((column,), ref, (ref_column,), name or f"{table}_{column}_fkey")


_NOW = "CURRENT_TIMESTAMP"
