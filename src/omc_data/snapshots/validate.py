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
from omc_data.catalog import JSON_TYPES, KeyPart, Table
from omc_data.domain import trading

__all__ = ["BLOCKING", "DOMAIN_CHECKS", "WARNING", "CheckResult", "Report", "key_sql", "q", "run_checks"]
from omc_data.snapshots import checks_head, jsonvalue
from omc_data.snapshots.checkspec import _Check, q
from omc_data.snapshots.keyorder import unique_rules

BLOCKING = "blocking"
WARNING = "warning"


@dataclass(frozen=True)
class CheckResult:
    name: str
    table: str
    description: str
    failures: int
    severity: str  # blocking | warning
    method: str = "query"  # query | key_order (proved while writing: rows in strictly increasing key order)

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
            "method": self.method,
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


def key_sql(part: KeyPart, alias: str = "") -> str:
    col = f"{alias}.{q(part.column)}" if alias else q(part.column)
    if part.if_null is not None:
        return f"coalesce({col}, '{part.if_null}')"
    return f"CAST({col} AS DATE)" if part.utc_date else col


def _structural(t: Table, present: set[str], as_of: dt.datetime | None) -> Iterable[_Check]:
    tn = q(t.name)
    for c in t.columns:
        if not c.nullable:
            yield _Check(
                f"not_null.{c.name}",
                t.name,
                f"{c.name} is never NULL",
                where=f"{q(c.name)} IS NULL",
            )
        if c.type.name == "varchar" and c.type.length is not None:
            yield _Check(
                f"length.{c.name}",
                t.name,
                f"{c.name} fits varchar({c.type.length})",
                where=f"length({q(c.name)}) > {c.type.length}",
            )
        if c.values:
            allowed = ", ".join("'" + v + "'" for v in c.values)
            yield _Check(
                f"values.{c.name}",
                t.name,
                f"{c.name} is one of {', '.join(c.values)}",
                where=f"{q(c.name)} NOT IN ({allowed})",
            )
        if c.name.endswith("_json") or c.type.name in JSON_TYPES:
            # jsonb refuses the escaped NUL character (PostgreSQL text cannot hold it)
            nul = f" OR contains({q(c.name)}, '\\u0000')" if c.type.name == "jsonb" else ""
            yield _Check(
                f"json.{c.name}",
                t.name,
                f"{c.name} holds valid JSON text" + (" without \\u0000" if nul else ""),
                where=f"{q(c.name)} IS NOT NULL AND (NOT json_valid({q(c.name)}){nul})",
            )
        if c.type.name == "timestamptz" and as_of is not None:
            yield _Check(
                f"not_after_as_of.{c.name}",
                t.name,
                f"{c.name} is not after as_of",
                where=f"{q(c.name)} > TIMESTAMPTZ '{as_of.isoformat()}'",
            )
    partial = {f"unique.{u.name}": u.where for u in t.unique_keys if u.where is not None}
    for name, parts in unique_rules(t):
        cols = ", ".join(key_sql(p) for p in parts)
        # NULLs never collide in a unique index; COALESCE parts have no NULL left.
        covered = [f"{q(p.column)} IS NOT NULL" for p in parts if p.if_null is None]
        if name in partial:
            covered.append(f"({partial[name]})")
        scope = f"WHERE {' AND '.join(covered)} " if covered else ""
        yield _Check(
            name,
            t.name,
            f"({', '.join(str(p) for p in parts)}) is unique"
            + (f" where {partial[name]}" if name in partial else ""),
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {tn} "
            f"{scope}GROUP BY {cols} HAVING count(*) > 1)",
        )
    for ck in t.checks:
        yield _Check(f"check.{ck.name}", t.name, ck.expression, where=f"NOT ({ck.expression})")
    for fk in t.foreign_keys:
        if fk.ref_table not in present:
            continue
        (col,), (ref,) = fk.columns, fk.ref_columns
        yield _Check(
            f"foreign_key.{col}",
            t.name,
            f"{col} references {fk.ref_table}.{ref}",
            # An ANTI JOIN over the one column: DuckDB plans NOT EXISTS as a join that carries every
            # column of the child (1.1 GB for a wide text table) where this reads just the key.
            f"SELECT count(*) FROM (SELECT {q(col)} AS k FROM {tn} WHERE {q(col)} IS NOT NULL) c "
            f"ANTI JOIN (SELECT {q(ref)} AS k FROM {q(fk.ref_table)}) p ON p.k = c.k",
        )
        if "created_at" in t.column_names and "created_at" in catalog.table(fk.ref_table).column_names:
            yield _Check(
                f"time_order.after_{col}",
                t.name,
                f"created_at is not before the created_at of {fk.ref_table} ({col})",
                f"SELECT count(*) FROM {tn} c JOIN {q(fk.ref_table)} p ON p.{q(ref)} = c.{q(col)} "
                "WHERE c.created_at < p.created_at",
            )
    names = t.column_names
    if "created_at" in names and "updated_at" in names:
        yield _Check(
            "time_order.updated_at",
            t.name,
            "created_at <= updated_at",
            where="created_at > updated_at",
        )


def _price_checks() -> Iterable[_Check]:
    t = "price_data_5min"
    yield _Check(
        "price.bid_below_ask",
        t,
        "bid < ask",
        where="bid IS NOT NULL AND ask IS NOT NULL AND bid >= ask",
    )
    yield _Check(
        "price.last_within_spread",
        t,
        "bid <= last <= ask",
        where="last < bid OR last > ask",
    )
    yield _Check(
        "price.positive",
        t,
        "prices are positive",
        where="bid <= 0 OR ask <= 0 OR last <= 0",
    )


_FILLS_AGREE_WITH_STATUS = """
    (status = 'filled' AND filled_quantity = quantity AND filled_at IS NOT NULL)
    OR (status = 'partial' AND filled_quantity > 0 AND filled_quantity < quantity)
    OR (status = 'cancelled' AND filled_quantity >= 0 AND filled_quantity < quantity)
    OR (status IN ('pending', 'submitted', 'failed') AND filled_quantity = 0)
"""


def _order_checks() -> Iterable[_Check]:
    t = "orders"
    yield _Check(
        "orders.fills_match_status",
        t,
        "filled = all with a fill time; partial strictly between; cancelled below quantity; "
        "pending, submitted and failed nothing",
        where=f"NOT ({_FILLS_AGREE_WITH_STATUS})",
    )
    yield _Check(
        "orders.quantities",
        t,
        "quantity > 0 and 0 <= filled_quantity <= quantity",
        where="quantity <= 0 OR filled_quantity < 0 OR filled_quantity > quantity",
    )
    yield _Check(
        "orders.market_fill_price",
        t,
        "a market order with fills carries its fill price",
        where="order_type = 'market' AND filled_quantity > 0 AND price IS NULL",
    )
    yield _Check(
        "orders.time_order",
        t,
        "created_at <= submitted_at <= filled_at <= updated_at",
        where="submitted_at < created_at OR filled_at < created_at "
        "OR filled_at < submitted_at OR filled_at > updated_at",
    )
    yield _Check(
        "orders.price_near_market",
        t,
        "price within 2% of the coin's last at the latest tick at or before the order",
        # Only ticks of the orders' coins from the day before the first order on can match: Parquet
        # row-group statistics skip the rest (a 10M-row history costs 0.1 s, not 1 s). An order with no
        # tick in that window has no market price to be near, and fails.
        f'SELECT count(*) FROM {t} o ASOF LEFT JOIN (SELECT coin_type, "timestamp", last '
        'FROM price_data_5min WHERE "timestamp" >= (SELECT min(created_at) FROM orders) - INTERVAL 1 DAY '
        f"AND coin_type IN (SELECT DISTINCT coin_type FROM {t})) p "
        'ON o.coin_type = p.coin_type AND o.created_at >= p."timestamp" '
        "WHERE o.price IS NOT NULL AND (p.last IS NULL OR abs(o.price - p.last) > 0.02 * p.last)",
        needs=("price_data_5min",),
    )
    yield _Check(
        "orders.positions_follow_fills",
        t,
        "positions are the fills replayed at weighted-average cost, and no sell exceeds the holding",
        "",
        count=_replay_fills,
        needs=("positions",),
    )


def _replay_fills(con: duckdb.DuckDBPyConnection) -> int:
    """Sells beyond the holding, plus positions missing, extra or off from the fills (see trading.py)."""
    held: dict[tuple[str, str], tuple[Any, ...]] = {}
    for user, coin, quantity, average, total in con.execute(
        "SELECT CAST(user_id AS VARCHAR), coin_type, quantity, average_price, total_cost FROM positions"
    ).fetchall():
        held[(user, coin)] = (quantity, average, total)
    failures = 0
    fills = con.execute(
        "SELECT CAST(user_id AS VARCHAR), coin_type, side, filled_quantity, price FROM orders "
        "WHERE filled_quantity > 0 ORDER BY 1, 2, coalesce(filled_at, updated_at), created_at, id"
    )
    key: tuple[str, str] | None = None
    holding = trading.Holding()

    def close(key: tuple[str, str] | None, holding: trading.Holding) -> int:
        if key is None:
            return 0
        values = holding.values()
        position = held.pop(key, None)
        if values is None:
            return int(position is not None)
        return int(position != (values.quantity, values.average_price, values.total_cost))

    while batch := fills.fetchmany(10_000):
        for user, coin, side, quantity, price in batch:
            if (user, coin) != key:
                failures += close(key, holding)
                key, holding = (user, coin), trading.Holding()
            try:
                holding.fill(
                    side,
                    trading.to_units(quantity, trading.QUANTITY_SCALE),
                    None if price is None else trading.to_units(price, trading.PRICE_SCALE),
                )
            except ValueError:  # an oversell, a buy without a price, or digits beyond the scale
                failures += 1
    failures += close(key, holding)
    return failures + len(held)  # positions with no fills at all


def _position_checks() -> Iterable[_Check]:
    t = "positions"
    yield _Check(
        "positions.values",
        t,
        "quantity > 0, average_price > 0, total_cost >= 0",
        where="quantity <= 0 OR average_price <= 0 OR total_cost < 0",
    )


def _session_checks() -> Iterable[_Check]:
    yield _Check(
        "agent_sessions.completed_after_created",
        "agent_sessions",
        "completed_at is not before created_at",
        where="completed_at < created_at",
    )


def _deployment_checks() -> Iterable[_Check]:
    yield _Check(
        "deployed_algorithms.time_order",
        "deployed_algorithms",
        "created_at <= activated_at <= deactivated_at",
        where="activated_at < created_at OR deactivated_at < activated_at",
    )


def _news_checks() -> Iterable[_Check]:
    t = "news_sentiment"
    yield _Check(
        "news.sentiment_from_score",
        t,
        "score in [-1, 1]; positive above 0.2, negative below -0.2, else neutral; NULL together",
        where="sentiment_score < -1 OR sentiment_score > 1 "
        "OR (sentiment_score IS NULL) <> (sentiment IS NULL) "
        "OR sentiment <> CASE WHEN sentiment_score > 0.2 THEN 'positive' "
        "WHEN sentiment_score < -0.2 THEN 'negative' ELSE 'neutral' END",
    )
    yield _Check(
        "news.collected_after_published",
        t,
        "collected_at is not before published_at",
        where="collected_at < published_at",
    )


def _protocol_checks() -> Iterable[_Check]:
    yield _Check(
        "protocols.non_negative",
        "protocol_fundamentals",
        "TVL, fees and revenue are not negative",
        where="tvl_usd < 0 OR fees_24h < 0 OR revenue_24h < 0",
    )


DOMAIN_CHECKS: dict[str, Callable[[], Iterable[_Check]]] = {
    "price_data_5min": _price_checks,
    "orders": _order_checks,
    "positions": _position_checks,
    "agent_sessions": _session_checks,
    "deployed_algorithms": _deployment_checks,
    "news_sentiment": _news_checks,
    "protocol_fundamentals": _protocol_checks,
    **checks_head.CHECKS,
}


def _count_row_checks(con: duckdb.DuckDBPyConnection, checks: list[_Check]) -> dict[_Check, int]:
    """Row-by-row checks, all of a table's in one scan (``count_if`` per condition)."""
    out: dict[_Check, int] = {}
    by_table: dict[str, list[_Check]] = {}
    for check in checks:
        by_table.setdefault(check.table, []).append(check)
    for table, group in by_table.items():
        counts = ", ".join(f"count_if({c.where})" for c in group)
        row = con.execute(f"SELECT {counts} FROM {q(table)}").fetchone() or (0,) * len(group)
        out.update({c: int(n or 0) for c, n in zip(group, row, strict=True)})
    return out


def run_checks(
    parts: Mapping[str, list[Path]],
    *,
    as_of: dt.datetime | None,
    severity: str = BLOCKING,
    tables: Iterable[Table] | None = None,
    proven: Iterable[tuple[str, str]] = (),
    real_tables: Mapping[str, dt.datetime] | None = None,
) -> Report:
    """Run every check on the tables in ``parts`` (table name -> Parquet files).

    ``real_tables`` names the tables holding collected rows, each with the fetch time its timestamps are
    checked against (instead of ``as_of``); their checks are warnings whatever ``severity`` says.
    """
    real = dict(real_tables or {})
    pool = {t.name: t for t in catalog.current(tables) if t.name in parts}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    jsonvalue.register(con)
    try:
        for name, files in parts.items():
            if name not in pool:
                continue
            file_list = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
            con.execute(f"CREATE VIEW {q(name)} AS SELECT * FROM read_parquet([{file_list}])")
        checks: list[_Check] = []
        present = set(pool)
        for t in pool.values():
            checks.extend(
                _structural(t, present, max(real[t.name], as_of) if t.name in real and as_of else as_of)
            )
            if t.name in DOMAIN_CHECKS:
                checks.extend(DOMAIN_CHECKS[t.name]())
        checks = [c for c in checks if set(c.needs) <= present]
        by_order = set(proven)
        failures = _count_row_checks(con, [c for c in checks if c.where])
        for check in checks:
            if (check.table, check.name) in by_order:
                failures[check] = 0
            elif check.count is not None:
                failures[check] = check.count(con)
            elif not check.where:
                row = con.execute(check.sql).fetchone()
                failures[check] = int(row[0]) if row else 0
        results = [
            CheckResult(
                c.name,
                c.table,
                c.description,
                failures[c],
                WARNING if c.table in real else severity,
                "key_order" if (c.table, c.name) in by_order else "query",
            )
            for c in checks
        ]
        return Report(tuple(results))
    finally:
        con.close()
