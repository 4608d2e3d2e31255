"""JSON compared by value in DuckDB: a SQL function that rewrites JSON text into one canonical form.

``jsonb`` holds a value, not text: PostgreSQL prints ``{"a": 1, "b": [1, 2]}`` whatever key order or
spacing went in, and a generator writes compact sorted text. Diff and validation compare such columns
through ``omc_json(col)``: keys sorted, no whitespace, numbers as Python reads them. Text that is not
JSON comes back as it is (so it still compares as text, and the ``json.*`` check reports it).
"""

from __future__ import annotations

import json

import duckdb

try:
    from duckdb.sqltypes import VARCHAR
except ImportError:  # duckdb before 1.4 (the floor is 1.1) keeps its types in duckdb.typing
    from duckdb.typing import VARCHAR  # type: ignore[no-redef]

FUNCTION = "omc_json"


def canonical(text: str) -> str:
    """``text``'s JSON value in canonical form; ``text`` itself when it is not JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``omc_json(text)`` available on ``con`` (NULL in, NULL out)."""
    con.create_function(FUNCTION, canonical, [VARCHAR], VARCHAR, side_effects=False)


def value_sql(expression: str) -> str:
    """SQL of ``expression``'s JSON value (for a json or jsonb column), comparable with ``=``."""
    return f"{FUNCTION}({expression})"
