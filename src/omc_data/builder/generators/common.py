"""Small helpers the generators share: instants, exact decimals, JSON text."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import random
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from omc_data.catalog import Table
from omc_data.domain.trading import units
from omc_data.snapshots.arrowschema import arrow_schema


def instant_between(r: random.Random, lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
    """A whole-second instant in [lo, hi] (lo when the window is empty)."""
    span = int((hi - lo).total_seconds())
    return lo + dt.timedelta(seconds=r.randint(0, span)) if span > 0 else lo


def sorted_instants(r: random.Random, lo: dt.datetime, hi: dt.datetime, n: int) -> list[dt.datetime]:
    """``n`` distinct whole-second instants in [lo, hi), oldest first (fewer if the window is short)."""
    span = int((hi - lo).total_seconds())
    if span <= 0 or n <= 0:
        return []
    offsets = sorted(r.sample(range(span), min(n, span)))
    return [lo + dt.timedelta(seconds=s) for s in offsets]


def money(r: random.Random, lo: float, hi: float, scale: int = 2) -> decimal.Decimal:
    """A random amount in [lo, hi] at ``scale`` decimal places."""
    return units(r.randint(round(lo * 10**scale), round(hi * 10**scale)), scale)


def dollars(r: random.Random, lo: int, hi: int) -> decimal.Decimal:
    """A whole amount in [lo, hi] written at the scale of a numeric(20,2) column."""
    return units(r.randint(lo, hi) * 100, 2)


def json_text(value: Any) -> str:
    """JSON text for a ``*_json`` column: sorted keys, so the bytes are the same in every process."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def weighted(r: random.Random, choices: dict[str, float]) -> str:
    return r.choices(list(choices), weights=list(choices.values()))[0]


def sorted_table(table: Table, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as an Arrow table of ``table``'s schema, sorted by primary key (uuid bytes sort as uuids)."""
    rows.sort(key=lambda row: tuple(row[c] for c in table.primary_key))
    return pa.Table.from_pylist(rows, schema=arrow_schema(table))


def numbered(table: Table, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows already in key order as an Arrow table, with serial ids 1..n (collected rows, no ids yet)."""
    return pa.Table.from_pylist(
        [{**row, "id": n} for n, row in enumerate(rows, start=1)], schema=arrow_schema(table)
    )
