"""Prove a key unique while the rows stream by: rows in strictly increasing key order cannot repeat one.

Generators write rows sorted by key, so the writer can settle the uniqueness checks of a table in one
cheap vectorised pass instead of a hash aggregation over every row afterwards (2.6 s for 10M price
rows). Anything it cannot prove (a NULL in the key, an order it cannot compare, rows out of order) is
left to the ordinary check, so this is a shortcut and never a weaker rule.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from omc_data.catalog import KeyPart, Table


def _comparable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if isinstance(column.type, pa.BaseExtensionType):  # uuid: compare the 16 bytes, as PostgreSQL does
        return pa.chunked_array([c.storage for c in column.chunks], column.type.storage_type)
    return column


class KeyOrder:
    """Whether the rows seen so far are in strictly increasing order of ``columns``."""

    def __init__(self, check: str, columns: tuple[str, ...]) -> None:
        self.check = check
        self.columns = columns
        self.proven = True
        self._last: tuple[Any, ...] | None = None

    def update(self, group: pa.Table) -> None:
        if not self.proven or group.num_rows == 0:
            return
        try:
            cols = [_comparable(group.column(c)) for c in self.columns]
            if any(c.null_count for c in cols):
                self.proven = False
                return
            first = tuple(c[0].as_py() for c in cols)
            if self._last is not None and not self._last < first:
                self.proven = False
                return
            self._last = tuple(c[-1].as_py() for c in cols)
            n = group.num_rows
            if (
                n > 1
                and not pc.all(
                    _strictly_increasing([c.slice(0, n - 1) for c in cols], [c.slice(1) for c in cols])
                ).as_py()
            ):
                self.proven = False
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid, TypeError):
            self.proven = False


def _strictly_increasing(before: list[pa.ChunkedArray], after: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """Row-wise: is ``before`` < ``after`` in lexicographic order of the columns?"""
    result = pc.less(before[-1], after[-1])
    for b, a in zip(reversed(before[:-1]), reversed(after[:-1]), strict=True):
        result = pc.or_(pc.less(b, a), pc.and_(pc.equal(b, a), result))
    return result


def unique_rules(table: Table) -> list[tuple[str, tuple[KeyPart, ...]]]:
    """The table's uniqueness checks by name: its primary key, then each unique key."""
    rules = [("primary_key", tuple(KeyPart(c) for c in table.primary_key))]
    return rules + [(f"unique.{u.name}", u.parts) for u in table.unique_keys]


def key_orders(table: Table) -> list[KeyOrder]:
    """A tracker for each uniqueness rule made of plain columns (not of a column's UTC date or COALESCE).

    A partial rule is proven too: rows unique over all rows are unique over those it covers.
    """
    return [
        KeyOrder(name, tuple(p.column for p in parts))
        for name, parts in unique_rules(table)
        if all(p.plain for p in parts)
    ]
