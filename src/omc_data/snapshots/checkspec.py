"""What a validation check is (shared by :mod:`.validate` and the modules of domain checks it gathers).

A check counts failing rows: with ``where`` (a condition over one table's rows; all of a table's run in
one scan), with ``sql`` (a ``SELECT count(*)`` that joins or groups, reading the tables in ``needs``),
or with ``count`` (Python, for what SQL cannot say). Tables are DuckDB views named as the dataset tables
over the snapshot's Parquet files; ``omc_json(text)`` gives a JSON value's canonical text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb


def q(name: str) -> str:
    """A quoted SQL identifier (DuckDB and PostgreSQL agree on the syntax)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Check:
    name: str
    table: str
    description: str
    sql: str = ""  # SELECT count(*) of the failing rows, for checks that join or group
    count: Callable[[duckdb.DuckDBPyConnection], int] | None = None  # for checks SQL cannot express
    where: str = ""  # the failing rows' condition, for row-by-row checks: one scan per table runs them all
    needs: tuple[str, ...] = ()  # other tables the check reads: skipped when one is absent
