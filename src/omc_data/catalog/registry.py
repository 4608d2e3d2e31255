"""The registry of dataset tables: the catalog's order, lookup by name, load order and fingerprint.

``TABLES`` lists every entry of the area modules; ``table()``, ``table_names()`` and every derived
function read it (``current()`` at call time, so a test can patch ``TABLES`` and ``_BY_NAME`` here).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from omc_data.catalog.accounts import USER
from omc_data.catalog.agents import AGENT_ARTIFACTS, AGENT_SESSION_MESSAGES, AGENT_SESSIONS
from omc_data.catalog.market import NEWS_SENTIMENT, PRICE_DATA_5MIN, PROTOCOL_FUNDAMENTALS
from omc_data.catalog.model import Table
from omc_data.catalog.risk import AUDIT_LOG, RISK_RULE, SYSTEM_SETTING
from omc_data.catalog.trading import (
    ALGORITHMS,
    BACKTEST_RUNS,
    DEPLOYED_ALGORITHMS,
    ORDERS,
    POSITIONS,
    STRATEGY_PROMOTIONS,
    TRADE_AUDIT,
)
from omc_data.errors import UsageError

TABLES: tuple[Table, ...] = (
    USER,
    AGENT_SESSIONS,
    AGENT_SESSION_MESSAGES,
    AGENT_ARTIFACTS,
    ALGORITHMS,
    DEPLOYED_ALGORITHMS,
    POSITIONS,
    ORDERS,
    PRICE_DATA_5MIN,
    PROTOCOL_FUNDAMENTALS,
    NEWS_SENTIMENT,
    # The rest of the app at its current head (after the seed script's eleven: their order is unchanged).
    SYSTEM_SETTING,
    RISK_RULE,
    AUDIT_LOG,
    BACKTEST_RUNS,
    STRATEGY_PROMOTIONS,
    TRADE_AUDIT,
)

_BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The catalog entry for ``name``; KeyError if it is not a dataset table."""
    return _BY_NAME[name]


def some_tables(tables: Sequence[str] | None) -> Sequence[str] | None:
    """``tables`` as given: None means every table; a list naming no table is a UsageError, never "every
    table" (an empty shell variable passed as a table list must not widen a load or a clear)."""
    if tables is not None and not any(str(t).strip() for t in tables):
        raise UsageError(
            "an empty table list chooses no table",
            hint="name at least one table, or leave the option out for every table; nothing was done",
        )
    return tables


def table_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def current(tables: Iterable[Table] | None = None) -> Iterable[Table]:
    """``tables``, or the catalog's tables as they are now (read at call time, so tests can extend it)."""
    return TABLES if tables is None else tables


def load_order(names: Iterable[str] | None = None, tables: Iterable[Table] | None = None) -> list[str]:
    """Parents before children: the first table in catalog order whose parents are placed, repeatedly.

    With ``names``, only those tables, still in an order that respects their foreign keys; names that
    are not dataset tables are left out (callers that must know check ``table_names()`` first).
    """
    pool = {t.name: t for t in current(tables)}
    wanted = [n for n in pool if names is None or n in set(names)]
    done: list[str] = []
    pending = list(wanted)
    while pending:
        ready = next((n for n in pending if all(p in done or p not in wanted for p in pool[n].parents)), None)
        if ready is None:
            raise UsageError(
                f"foreign-key cycle among {pending}", hint="a parent must not depend on its own children"
            )
        done.append(ready)
        pending.remove(ready)
    return done


def children_of(name: str, tables: Iterable[Table] | None = None) -> list[str]:
    """Dataset tables that reference ``name``, directly or through other dataset tables."""
    pool = list(current(tables))
    found: list[str] = []
    frontier = [name]
    while frontier:
        parent = frontier.pop()
        for t in pool:
            if parent in t.parents and t.name not in found and t.name != name:
                found.append(t.name)
                frontier.append(t.name)
    return [n for n in load_order(tables=pool) if n in found]


def _table_doc(t: Table) -> dict[str, object]:
    doc = _base_doc(t)
    # Added with the rest of the app's tables; left out when empty so the older entries hash as before.
    partial = {uk.name: uk.where for uk in t.unique_keys if uk.where is not None}
    if partial:
        doc["partial_unique_keys"] = partial
    if t.checks:
        doc["checks"] = {ck.name: ck.expression for ck in t.checks}
    return doc


def _base_doc(t: Table) -> dict[str, object]:
    return {
        "name": t.name,
        "columns": [
            {
                "name": c.name,
                "type": c.type.sql,
                "nullable": c.nullable,
                "default": c.default,
                "sequence": c.serial.sequence if c.serial else None,
            }
            for c in t.columns
        ],
        "primary_key": list(t.primary_key),
        "diff_key": [str(p) for p in t.diff_key],
        "foreign_keys": [
            {"columns": list(fk.columns), "ref_table": fk.ref_table, "ref_columns": list(fk.ref_columns)}
            for fk in t.foreign_keys
        ],
        "unique_keys": [[str(p) for p in uk.parts] for uk in t.unique_keys],
    }


def reference_problems(tables: Iterable[Table] | None = None) -> list[str]:
    """Foreign keys that point at no table, or at columns that are neither its primary key nor unique.

    A foreign key may point at a unique non-key column (``news_keyword_match.news_item_link`` at
    ``news_item.link``); PostgreSQL then needs a plain (not partial, not expression) unique index there.
    """
    pool = {t.name: t for t in current(tables)}
    problems: list[str] = []
    for t in pool.values():
        for fk in t.foreign_keys:
            ref = pool.get(fk.ref_table)
            if ref is None:
                problems.append(f"{t.name}.{fk.name}: no table {fk.ref_table}")
                continue
            keys = [ref.primary_key] + [
                tuple(p.column for p in uk.parts)
                for uk in ref.unique_keys
                if uk.where is None and all(p.plain for p in uk.parts)
            ]
            if tuple(fk.ref_columns) not in keys:
                problems.append(f"{t.name}.{fk.name}: {fk.ref_table}{fk.ref_columns} is not a key")
    return problems


def canonical_json(tables: Iterable[Table] | None = None) -> str:
    """The catalog's structure as canonical JSON (sorted keys, no whitespace): what a fingerprint hashes.

    Documentation strings and index names are left out: they do not change what a snapshot holds.
    """
    doc = sorted((_table_doc(t) for t in current(tables)), key=lambda d: str(d["name"]))
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def fingerprint(tables: Iterable[Table] | None = None) -> str:
    """SHA-256 of the catalog's canonical JSON: the schema a snapshot targets."""
    return hashlib.sha256(canonical_json(tables).encode()).hexdigest()
