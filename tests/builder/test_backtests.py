"""Backtest runs replay the built prices the way the app's backtester does, and decisions quote them.

The reference here is a plain per-tick loop written from the app's documented behaviour (a crossover of
the 10- and 50-tick means of ``last``, all in at a golden cross when flat, all out at a death cross,
equity recorded from the 51st tick on) and the metric definitions (total return, max drawdown and its
duration, trade statistics); the generator's vectorised version must agree with it exactly.
"""

from __future__ import annotations

import decimal
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from omc_data.builder.generators.backtests import LONG_WINDOW, SHORT_WINDOW, metrics, replay
from snaptools import build_small, snapshot_rows


def reference(last: list[float], capital: float) -> tuple[list[dict[str, Any]], list[float]]:
    def mean(i: int, window: int) -> float:
        lo = max(0, i - window + 1)
        return sum(last[lo : i + 1]) / (i + 1 - lo)

    cash, held, bought = capital, 0.0, 0.0
    trades: list[dict[str, Any]] = []
    equity: list[float] = []
    for i in range(LONG_WINDOW, len(last)):
        s0, l0 = mean(i - 1, SHORT_WINDOW), mean(i - 1, LONG_WINDOW)
        s1, l1 = mean(i, SHORT_WINDOW), mean(i, LONG_WINDOW)
        price = last[i]
        if s0 <= l0 and s1 > l1 and held == 0 and cash > price:
            held, cash, bought = cash / price, 0.0, price
            trades.append({"i": i, "action": "buy", "price": price})
        elif s0 >= l0 and s1 < l1 and held > 0:
            trades.append({"i": i, "action": "sell", "price": price, "pnl": held * price - bought * held})
            cash, held = held * price, 0.0
        equity.append(cash + held * price)
    return trades, equity


def test_replay_agrees_with_a_plain_loop() -> None:
    g = np.random.default_rng(3)
    last = (100 * np.exp(np.cumsum(g.normal(0, 0.004, 1500)))).round(8)
    stamps = np.array([f"t{i}" for i in range(len(last))], dtype=object)
    trades, equity = replay(stamps, last, 10_000.0)
    want_trades, want_equity = reference(last.tolist(), 10_000.0)
    assert len(trades) == len(want_trades) > 4
    assert [(t["timestamp"], t["action"], t["price"]) for t in trades] == [
        (f"t{w['i']}", w["action"], w["price"]) for w in want_trades
    ]
    assert [t["pnl"] for t in trades if t["action"] == "sell"] == pytest.approx(
        [w["pnl"] for w in want_trades if w["action"] == "sell"], rel=1e-12
    )
    assert equity.tolist() == pytest.approx(want_equity, rel=1e-12)
    no_trades, flat = replay(stamps[:LONG_WINDOW], last[:LONG_WINDOW], 1.0)
    assert no_trades == [] and flat.size == 0


@pytest.mark.parametrize(
    ("curve", "duration", "drawdown"),
    [([10, 9, 8, 11, 10, 10, 12, 11], 3, 0.2), ([10, 11, 12], 1, 0.0), ([10, 10, 10], 3, 0.0)],
)
def test_metrics_follow_the_apps_definitions(curve: list[float], duration: int, drawdown: float) -> None:
    m = metrics(curve, [{"pnl": 5.0}, {"pnl": -2.0}, {"pnl": 0.0}])
    assert m["max_drawdown_duration"] == duration
    assert m["max_drawdown"] == drawdown
    assert m["total_return"] == round(curve[-1] / curve[0] - 1, 6)
    assert (m["num_trades"], m["win_rate"], m["profit_factor"]) == (3, round(1 / 3, 4), 2.5)
    assert (m["best_trade"], m["worst_trade"], m["avg_trade_pnl"]) == (5.0, -2.0, 1.0)
    assert metrics([1.0], [])["num_trades"] == 0 and set(metrics([1.0], [])) == set(m)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("backtests")
    build_small(root, "b", coins=4, days=3, users=6)
    return root


def test_completed_runs_are_the_replay_of_the_snapshots_own_prices(store: Path) -> None:
    prices: dict[str, list[dict[str, Any]]] = {}
    for p in snapshot_rows(store, "b", "price_data_5min"):
        prices.setdefault(p["coin_type"], []).append(p)
    runs = snapshot_rows(store, "b", "backtest_runs")
    completed = [r for r in runs if r["status"] == "completed"]
    assert completed and {r["status"] for r in runs} <= {"completed", "failed", "running"}
    for run in completed:
        ticks = sorted(
            (p for p in prices[run["coin_type"]] if run["start_date"] <= p["timestamp"] <= run["end_date"]),
            key=lambda p: p["timestamp"],
        )
        want_trades, want_equity = reference([float(p["last"]) for p in ticks], float(run["initial_capital"]))
        curve = json.loads(run["equity_curve_json"])
        assert [c["equity"] for c in curve] == pytest.approx(want_equity, rel=1e-12)
        assert [c["timestamp"] for c in curve] == [
            p["timestamp"].strftime("%Y-%m-%d %H:%M:%S+00:00") for p in ticks[LONG_WINDOW:]
        ]
        trades = json.loads(run["trade_log_json"])
        assert [(t["action"], t["price"]) for t in trades] == [(w["action"], w["price"]) for w in want_trades]
        assert set(json.loads(run["results_json"])) == set(metrics([1.0], []))
    for run in runs:
        if run["status"] == "failed":
            assert run["coin_type"] not in prices or not any(
                run["start_date"] <= p["timestamp"] <= run["end_date"] for p in prices[run["coin_type"]]
            )


def test_executed_decisions_name_their_order_at_the_market(store: Path) -> None:
    orders = {o["id"]: o for o in snapshot_rows(store, "b", "orders")}
    prices = snapshot_rows(store, "b", "price_data_5min")
    decisions = snapshot_rows(store, "b", "trade_audit")
    executed = [d for d in decisions if d["is_executed"]]
    assert executed and any(d["decision"] == "HOLD" for d in decisions)
    for d in executed:
        order = orders[d["execution_order_id"]]
        assert (order["side"].upper(), order["coin_type"]) == (d["decision"], d["asset"].lower())
        assert d["timestamp"] <= order["created_at"]
        before = [
            p for p in prices if p["coin_type"] == order["coin_type"] and p["timestamp"] <= d["timestamp"]
        ]
        if before:
            assert d["price_at_decision"] == max(before, key=lambda p: p["timestamp"])["last"]
            assert order["price"] is None or (  # a market order that never filled has no price
                abs(order["price"] - d["price_at_decision"])
                <= decimal.Decimal("0.02") * d["price_at_decision"]
            )
        else:
            assert d["price_at_decision"] is None
    assert all(not math.isnan(d["confidence_score"]) and 0 <= d["confidence_score"] <= 1 for d in decisions)
