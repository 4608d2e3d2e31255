"""Domain checks over a snapshot's Parquet files, run with DuckDB.

The same checks run before a build publishes (generated rows: a failure is a bug and blocks) and on any
snapshot through ``omc-data validate`` (captured or collected rows are real life: their rule breaks are
warnings). Structural checks are derived from the catalog (NOT NULL, keys, foreign keys, lengths, time
order, nothing after ``as_of``); domain rules are listed in ``DOMAIN_CHECKS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from omc_data import catalog
from omc_data.catalog import KeyPart, Table

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class CheckResult:
    name: str
    table: str
    description: str
    failures: int
    severity: str  # blocking | warning

    @property
    def passed(self) -> bool:
        return self.failures == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "table": self.table,
            "description": self.description,
            "severity": self.severity,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class Report:
    checks: tuple[CheckResult, ...]

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.severity == BLOCKING]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and c.severity == WARNING]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "checks_run": len(self.checks),
            "blocking_failures": len(self.blocking_failures),
            "warnings": len(self.warnings),
            "checks": [c.to_json() for c in self.checks],
        }


def q(name: str) -> str:
    """A quoted SQL identifier (DuckDB and PostgreSQL agree on the syntax)."""
    return '"' + name.replace('"', '""') + '"'


def key_sql(part: KeyPart, alias: str = "") -> str:
    col = f"{alias}.{q(part.column)}" if alias else q(part.column)
    return f"CAST({col} AS DATE)" if part.utc_date else col


@dataclass(frozen=True)
class _Check:
    name: str
    table: str
    description: str
    sql: str  # SELECT count(*) of the failing rows


def _structural(t: Table, present: set[str], as_of: dt.datetime | None) -> Iterable[_Check]:
    tn = q(t.name)
    for c in t.columns:
        if not c.nullable:
            yield _Check(
                f"not_null.{c.name}",
                t.name,
                f"{c.name} is never NULL",
                f"SELECT count(*) FROM {tn} WHERE {q(c.name)} IS NULL",
            )
        if c.type.name == "varchar" and c.type.length is not None:
            yield _Check(
                f"length.{c.name}",
                t.name,
                f"{c.name} fits varchar({c.type.length})",
                f"SELECT count(*) FROM {tn} WHERE length({q(c.name)}) > {c.type.length}",
            )
        if c.type.name == "timestamptz" and as_of is not None:
            yield _Check(
                f"not_after_as_of.{c.name}",
                t.name,
                f"{c.name} is not after as_of",
                f"SELECT count(*) FROM {tn} WHERE {q(c.name)} > TIMESTAMPTZ '{as_of.isoformat()}'",
            )
    keys = [("primary_key", tuple(KeyPart(c) for c in t.primary_key))]
    keys += [(f"unique.{u.name}", u.parts) for u in t.unique_keys]
    for name, parts in keys:
        cols = ", ".join(key_sql(p) for p in parts)
        not_null = " AND ".join(f"{q(p.column)} IS NOT NULL" for p in parts)
        yield _Check(
            name,
            t.name,
            f"({', '.join(str(p) for p in parts)}) is unique",
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {tn} "
            f"WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1)",
        )
    for fk in t.foreign_keys:
        if fk.ref_table not in present:
            continue
        (col,), (ref,) = fk.columns, fk.ref_columns
        yield _Check(
            f"foreign_key.{col}",
            t.name,
            f"{col} references {fk.ref_table}.{ref}",
            f"SELECT count(*) FROM {tn} c WHERE c.{q(col)} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {q(fk.ref_table)} p WHERE p.{q(ref)} = c.{q(col)})",
        )
    names = t.column_names
    if "created_at" in names and "updated_at" in names:
        yield _Check(
            "time_order.updated_at",
            t.name,
            "created_at <= updated_at",
            f"SELECT count(*) FROM {tn} WHERE created_at > updated_at",
        )


def _price_checks() -> Iterable[_Check]:
    t = "price_data_5min"
    yield _Check(
        "price.bid_below_ask",
        t,
        "bid < ask",
        f"SELECT count(*) FROM {t} WHERE bid IS NOT NULL AND ask IS NOT NULL AND bid >= ask",
    )
    yield _Check(
        "price.last_within_spread",
        t,
        "bid <= last <= ask",
        f"SELECT count(*) FROM {t} WHERE last < bid OR last > ask",
    )
    yield _Check(
        "price.positive",
        t,
        "prices are positive",
        f"SELECT count(*) FROM {t} WHERE bid <= 0 OR ask <= 0 OR last <= 0",
    )


DOMAIN_CHECKS: dict[str, Callable[[], Iterable[_Check]]] = {
    "price_data_5min": _price_checks,
}


def run_checks(
    parts: Mapping[str, list[Path]],
    *,
    as_of: dt.datetime | None,
    severity: str = BLOCKING,
    tables: Iterable[Table] = catalog.TABLES,
) -> Report:
    """Run every check on the tables in ``parts`` (table name -> Parquet files)."""
    pool = {t.name: t for t in tables if t.name in parts}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        for name, files in parts.items():
            if name not in pool:
                continue
            file_list = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
            con.execute(f"CREATE VIEW {q(name)} AS SELECT * FROM read_parquet([{file_list}])")
        checks: list[_Check] = []
        present = set(pool)
        for t in pool.values():
            checks.extend(_structural(t, present, as_of))
            if t.name in DOMAIN_CHECKS:
                checks.extend(DOMAIN_CHECKS[t.name]())
        results = []
        for check in checks:
            row = con.execute(check.sql).fetchone()
            failures = int(row[0]) if row else 0
            results.append(CheckResult(check.name, check.table, check.description, failures, severity))
        return Report(tuple(results))
    finally:
        con.close()
