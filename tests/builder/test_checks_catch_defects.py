"""The checks can fail: one deliberate defect in a built snapshot trips exactly the check meant to catch it.

Each defect snapshot is a real build whose rows are copied through ``SnapshotWriter`` (so parts, stats,
checksums and the manifest are all proper), with one table's rows changed in one place. A control copy
made the same way, unchanged, must pass: then every failure is the defect's.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data import catalog
from omc_data.snapshots.store import Store
from omc_data.snapshots.validate import Report, run_checks
from omc_data.snapshots.writer import SnapshotWriter
from snaptools import Pending, Run, spawn_cli

AS_OF = "2026-11-01T00:00:00Z"
AS_OF_DT = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
BASE: dict[str, Any] = {"seed": 9, "as_of": AS_OF, "users": 8, "coins": 3, "days": 1, "bcrypt_rounds": 4}
UNIT = decimal.Decimal("1E-10")  # the smallest quantity numeric(20,10) holds

Rows = list[dict[str, Any]]
Tables = dict[str, Rows]


# --- the defects -------------------------------------------------------------------------------------


def fill_order(o: dict[str, Any]) -> tuple[Any, ...]:
    return (o["filled_at"], o["created_at"], o["id"])


def oversell(t: Tables) -> None:
    """A filled sell of one unit more than the seller held at that moment."""
    orders = t["orders"]
    sell = min(
        (o for o in orders if o["side"] == "sell" and o["status"] == "filled"),
        key=lambda o: o["id"],
    )
    before = [
        o
        for o in orders
        if (o["user_id"], o["coin_type"]) == (sell["user_id"], sell["coin_type"])
        and o["filled_quantity"] > 0
        and fill_order(o) < fill_order(sell)
    ]
    held = sum(
        (o["filled_quantity"] if o["side"] == "buy" else -o["filled_quantity"] for o in before),
        decimal.Decimal(0),
    )
    assert held >= sell["filled_quantity"] > 0
    sell["quantity"] = sell["filled_quantity"] = held + UNIT


def position_off_by_a_cent(t: Tables) -> None:
    position = min(t["positions"], key=lambda p: p["id"])
    position["total_cost"] += decimal.Decimal("0.01")


def last_at(prices: Rows, coin: str, instant: dt.datetime) -> decimal.Decimal:
    ticks = [p for p in prices if p["coin_type"] == coin and p["timestamp"] <= instant]
    last: decimal.Decimal = max(ticks, key=lambda p: p["timestamp"])["last"]
    return last


def price_three_percent_away(t: Tables) -> None:
    """A price 3% above the market, on an order whose price no replay uses (a sell, or nothing filled)."""
    order = min(
        (
            o
            for o in t["orders"]
            if o["price"] is not None and (o["side"] == "sell" or o["filled_quantity"] == 0)
        ),
        key=lambda o: o["id"],
    )
    market = last_at(t["price_data_5min"], order["coin_type"], order["created_at"])
    order["price"] = (market * decimal.Decimal("1.03")).quantize(decimal.Decimal("1E-8"))
    assert abs(Fraction(order["price"]) - Fraction(market)) > Fraction(2, 100) * Fraction(market)


def filled_but_short(t: Tables) -> None:
    """A 'filled' order whose filled quantity is one unit short of its quantity."""
    order = min((o for o in t["orders"] if o["status"] == "filled"), key=lambda o: o["id"])
    order["quantity"] += UNIT


def broken_json(t: Tables) -> None:
    message = min(
        (m for m in t["agent_session_messages"] if m["metadata_json"] is not None), key=lambda m: m["id"]
    )
    message["metadata_json"] = message["metadata_json"][:-1]  # the closing brace is gone


def unknown_session_status(t: Tables) -> None:
    session = min(t["agent_sessions"], key=lambda s: s["id"])
    session["status"] = "finished"


def unknown_algorithm_status(t: Tables) -> None:
    algorithm = min((a for a in t["algorithms"] if a["status"] == "draft"), key=lambda a: a["id"])
    algorithm["status"] = "retired"


def duplicate_news_url(t: Tables) -> None:
    news = t["news_sentiment"]
    news[1]["url"] = news[0]["url"]


def duplicate_email(t: Tables) -> None:
    users = t["user"]
    users[2]["email"] = users[1]["email"]


def order_filled_before_submitted(t: Tables) -> None:
    order = min((o for o in t["orders"] if o["filled_at"] is not None), key=lambda o: o["id"])
    order["filled_at"] = order["submitted_at"] - dt.timedelta(seconds=1)


def session_of_a_stranger(t: Tables) -> None:
    session = min(t["agent_sessions"], key=lambda s: s["id"])
    session["user_id"] = uuid.UUID(int=12345)


# --- defects in the app's head tables ----------------------------------------------------------------


def first(rows: Rows, **where: Any) -> dict[str, Any]:
    return min((r for r in rows if all(r[k] == v for k, v in where.items())), key=lambda r: r["id"])


def kill_switch_renamed(t: Tables) -> None:
    next(r for r in t["system_setting"] if r["key"] == "kill_switch")["key"] = "kill_switch_off"


def kill_switch_disagrees(t: Tables) -> None:
    """The setting says on while the audit log's last toggle turned it off."""
    next(r for r in t["system_setting"] if r["key"] == "kill_switch")["value"] = '{"active": true}'


def backtest_return_off(t: Tables) -> None:
    run = first(t["backtest_runs"], status="completed")
    results = json.loads(run["results_json"])
    results["total_return"] = round(results["total_return"] + 0.01, 6)
    run["results_json"] = json.dumps(results)


def backtest_trade_off_market(t: Tables) -> None:
    run = min(
        (r for r in t["backtest_runs"] if r["trade_log_json"] not in (None, "[]")), key=lambda r: r["id"]
    )
    trades = json.loads(run["trade_log_json"])
    trades[0]["price"] *= 1.01
    run["trade_log_json"] = json.dumps(trades)


def backtest_curve_too_long(t: Tables) -> None:
    run = first(t["backtest_runs"], status="completed")
    curve = json.loads(run["equity_curve_json"])
    run["equity_curve_json"] = json.dumps([*curve, curve[-1]])


def promotion_unreviewed(t: Tables) -> None:
    first(t["strategy_promotions"], status="approved")["reviewed_by"] = None


def decision_of_no_order(t: Tables) -> None:
    first(t["trade_audit"], is_executed=True)["execution_order_id"] = uuid.UUID(int=1).bytes


def decision_price_away(t: Tables) -> None:
    row = min((r for r in t["trade_audit"] if r["price_at_decision"]), key=lambda r: r["id"])
    row["price_at_decision"] = (row["price_at_decision"] * decimal.Decimal("1.03")).quantize(
        decimal.Decimal("1E-8")
    )


def hold_executed(t: Tables) -> None:
    first(t["trade_audit"], decision="HOLD")["is_executed"] = True


def kill_switch_respaced(t: Tables) -> None:
    """Not a defect: the same JSON value written another way (as PostgreSQL prints jsonb) still agrees."""
    row = next(r for r in t["system_setting"] if r["key"] == "kill_switch")
    assert json.loads(row["value"]) == {"active": False}
    row["value"] = '{ "active" :false }'


def rule_without_limit(t: Tables) -> None:
    first(t["risk_rule"], rule_type="max_position_size", is_active=True)["value"] = '{"max_value": 0}'


# name -> (defect, the one failure it must cause: (table, check) -> failing rows)
DEFECTS: dict[str, tuple[Callable[[Tables], None], dict[tuple[str, str], int]]] = {
    # the oversold sell is skipped by the replay, so the position it left behind no longer matches
    # either: one oversell + one position off = 2
    "oversell": (oversell, {("orders", "orders.positions_follow_fills"): 2}),
    "position-cent": (position_off_by_a_cent, {("orders", "orders.positions_follow_fills"): 1}),
    "price-away": (price_three_percent_away, {("orders", "orders.price_near_market"): 1}),
    "filled-short": (filled_but_short, {("orders", "orders.fills_match_status"): 1}),
    "bad-json": (broken_json, {("agent_session_messages", "json.metadata_json"): 1}),
    "session-status": (unknown_session_status, {("agent_sessions", "values.status"): 1}),
    "algorithm-status": (unknown_algorithm_status, {("algorithms", "values.status"): 1}),
    "news-url": (duplicate_news_url, {("news_sentiment", "unique.news_sentiment_url_key"): 1}),
    "email": (duplicate_email, {("user", "unique.ix_user_email"): 1}),
    "fill-time": (order_filled_before_submitted, {("orders", "orders.time_order"): 1}),
    "stranger": (session_of_a_stranger, {("agent_sessions", "foreign_key.user_id"): 1}),
    "kill-switch-renamed": (kill_switch_renamed, {("system_setting", "system_setting.kill_switch"): 1}),
    # the setting and the last toggle, compared as JSON values, disagree
    "kill-switch-disagrees": (kill_switch_disagrees, {("audit_log", "audit_log.kill_switch_agrees"): 1}),
    "backtest-return": (backtest_return_off, {("backtest_runs", "backtest_runs.return_matches_curve"): 1}),
    "backtest-trade": (backtest_trade_off_market, {("backtest_runs", "backtest_runs.trades_at_market"): 1}),
    "backtest-curve": (
        backtest_curve_too_long,
        {("backtest_runs", "backtest_runs.curve_covers_the_window"): 1},
    ),
    "promotion-review": (
        promotion_unreviewed,
        {("strategy_promotions", "strategy_promotions.review_shape"): 1},
    ),
    "decision-order": (decision_of_no_order, {("trade_audit", "trade_audit.executed_orders"): 1}),
    "decision-price": (decision_price_away, {("trade_audit", "trade_audit.price_near_market"): 1}),
    "hold-executed": (hold_executed, {("trade_audit", "trade_audit.execution_shape"): 1}),
    "rule-limit": (rule_without_limit, {("risk_rule", "risk_rule.limits"): 1}),
    "kill-switch-spacing": (kill_switch_respaced, {}),
}


# --- snapshots with one defect each -------------------------------------------------------------------


def copy_snapshot(
    base: Path, tag: str, target: Path, new_tag: str, defect: Callable[[Tables], None] | None
) -> set[tuple[str, str]]:
    """Copy snapshot ``tag`` to ``new_tag`` through SnapshotWriter, after ``defect`` changed its rows.

    Returns the checks the writer proved from key order (what a build hands to run_checks).
    """
    snap = omc_data.open_snapshot(tag, store=base)
    schemas: dict[str, pa.Schema] = {}
    rows: Tables = {}
    for name in snap.manifest.tables:
        parts = [pq.read_table(p) for p in snap.part_paths(name)]
        schemas[name] = parts[0].schema
        rows[name] = [r for part in parts for r in part.to_pylist()]
    before = {name: len(r) for name, r in rows.items()}
    if defect is not None:
        defect(rows)
    assert {name: len(r) for name, r in rows.items()} == before
    with SnapshotWriter(Store(target), new_tag) as writer:
        for name in catalog.load_order(list(rows)):
            writer.write_table(catalog.table(name), pa.Table.from_pylist(rows[name], schema=schemas[name]))
        m = snap.manifest
        writer.publish(
            inputs=m.inputs, libraries=m.libraries, omc_data_version=m.omc_data_version, kind=m.kind
        )
        return set(writer.proven)


@dataclass(frozen=True)
class Defects:
    base: Path  # the store of the original build
    root: Path  # the store of its copies
    proven: dict[str, set[tuple[str, str]]]  # tag -> the checks its writer proved from key order
    cli: dict[str, Pending]  # tag -> `omc-data validate TAG --json`, started early to overlap the tests
    runs: dict[str, Run] = field(default_factory=dict)

    def run(self, tag: str) -> Run:
        if tag not in self.runs:
            self.runs[tag] = self.cli[tag].result()
        return self.runs[tag]


# one defect of each kind of check: a Python replay, a row condition, a uniqueness rule (the CLI runs
# cost ~1-2 s of imports each, so not all of them)
CLI_TAGS = ("control", "oversell", "bad-json", "email")


@pytest.fixture(scope="module")
def defects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Defects]:
    base = tmp_path_factory.mktemp("defects-base")
    omc_data.build_snapshot("base", store=base, **BASE)
    root = tmp_path_factory.mktemp("defects")
    proven = {"control": copy_snapshot(base, "base", root, "control", None)}
    for name, (defect, _) in DEFECTS.items():
        proven[name] = copy_snapshot(base, "base", root, name, defect)
    cli = {tag: spawn_cli("--store", str(root), "validate", tag, "--json") for tag in CLI_TAGS}
    done = Defects(base, root, proven, cli)
    yield done
    for tag in CLI_TAGS:
        done.run(tag)  # reaped even when the CLI test did not run


def check(root: Path, tag: str, proven: Iterable[tuple[str, str]] = ()) -> Report:
    snap = omc_data.open_snapshot(tag, store=root)
    assert snap.problems() == []  # checksums, sizes and files agree: the manifest is proper
    parts = {name: snap.part_paths(name) for name in snap.manifest.tables}
    return run_checks(parts, as_of=AS_OF_DT, proven=proven)


def failed(report: Report) -> dict[tuple[str, str], int]:
    return {(c.table, c.name): c.failures for c in report.checks if not c.passed}


def test_the_unchanged_copy_passes_every_check(defects: Defects) -> None:
    def digests(store: Path, tag: str) -> dict[str, list[str]]:
        tables = omc_data.open_snapshot(tag, store=store).manifest.tables
        return {name: [p.sha256 for p in t.parts] for name, t in tables.items()}

    # the copy is faithful to the byte: every difference in a defect snapshot is the defect's
    assert digests(defects.root, "control") == digests(defects.base, "base")
    assert defects.proven["control"]  # the writer did prove some keys unique: the shortcut is exercised
    for proven in ((), defects.proven["control"]):
        report = check(defects.root, "control", proven)
        assert report.passed and failed(report) == {}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_a_defect_trips_exactly_its_check(defects: Defects, name: str) -> None:
    """As a build checks its rows: with the key-order proofs of the writer, which must hide nothing."""
    report = check(defects.root, name, defects.proven[name])
    assert failed(report) == DEFECTS[name][1]
    assert report.passed == (not DEFECTS[name][1])
    assert [(c.table, c.name) for c in report.blocking_failures] == list(DEFECTS[name][1])


def test_validate_cli_exits_1_and_names_the_failing_check(defects: Defects) -> None:
    control = defects.run("control")
    assert control.code == 0, control
    assert control.json()["passed"] is True
    for name in CLI_TAGS[1:]:
        run = defects.run(name)
        assert run.code == 1, run
        doc = run.json()
        assert doc["passed"] is False, run
        assert doc["blocking_failures"] == 1, run
        found = {(c["table"], c["name"]): c["failures"] for c in doc["checks"] if c["failures"]}
        assert found == DEFECTS[name][1], run
