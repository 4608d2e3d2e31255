"""``backtest_runs`` and ``strategy_promotions``: algorithms replayed over the built price history, and
the promotions their results support.

A run replays what the app's backtester does for a rule-based strategy (a moving-average crossover over
``last``; windows 10 and 50 ticks, the app's defaults, since the generated configurations name their
windows ``fast_window``/``slow_window``, which the app does not read) over the coin's ticks between
``start_date`` and ``end_date``, read from the built ``price_data_5min`` (:mod:`.market`). The texts are
shaped as the app writes and its Floor page parses them: ``results_json`` the metrics (total_return,
sharpe_ratio, sortino_ratio, max_drawdown, ...), ``equity_curve_json`` ``[{timestamp, equity}]`` from the
first tick after the long window, ``trade_log_json`` ``[{timestamp, action, price, quantity, pnl}]``.
A coin with no ticks in the window fails as the app fails ("No price data found ..."); runs started in
the last half hour are still running. Promotions go from the Lab (or paper trading) to the Floor (or
production), created by the algorithm's author after a completed run, whose metrics they carry;
reviewed ones were reviewed by the superuser.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import algorithms, market, users
from omc_data.builder.generators.common import dollars, instant_between, json_text, sorted_table, weighted
from omc_data.builder.generators.spec import floor_tick
from omc_data.builder.generators.streams import derive_uuid, rng
from omc_data.builder.generators.world import World

UTC = market.UTC
RUNS = catalog.BACKTEST_RUNS
PROMOTIONS = catalog.STRATEGY_PROMOTIONS
SHORT_WINDOW, LONG_WINDOW = 10, 50  # the app's defaults
WINDOW_DAYS = (1, 2, 3, 5)
RUNNING = dt.timedelta(minutes=30)  # younger runs are still running
ANNUAL = math.sqrt(252)  # the app annualises per-point returns as if they were daily
ROUTES = {("lab", "floor"): 0.75, ("paper", "production"): 0.25}
REJECTIONS = (
    "Drawdown too deep for the Floor's risk budget",
    "Too few trades in the backtest to judge the edge",
    "Sharpe ratio below the promotion threshold of 1.0",
)


@dataclass(frozen=True)
class RunFact:
    id: bytes
    algorithm: algorithms.AlgorithmFact
    created_at: dt.datetime
    status: str
    results: dict[str, Any] | None


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values, fewer at the start (``rolling(window, min_periods=1)``)."""
    sums = np.cumsum(values)
    out = np.empty_like(values)
    head = min(window, len(values))
    out[:head] = sums[:head] / np.arange(1, head + 1)
    if len(values) > head:
        out[head:] = (sums[head:] - sums[:-head]) / window
    return out


def replay(ticks: np.ndarray, last: np.ndarray, capital: float) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Trades and equity per tick (from the long window's first full tick on) of the crossover strategy,
    all in at a golden cross when flat, all out at a death cross when holding, starting from ``capital``.

    The crossings are found with numpy; only the trades are a Python loop."""
    short, long = _moving_average(last, SHORT_WINDOW), _moving_average(last, LONG_WINDOW)
    n = len(last)
    if n <= LONG_WINDOW:
        return [], np.empty(0)
    i = np.arange(LONG_WINDOW, n)
    golden = (short[i - 1] <= long[i - 1]) & (short[i] > long[i])
    death = (short[i - 1] >= long[i - 1]) & (short[i] < long[i])
    cash, holdings, bought_at = capital, 0.0, 0.0
    trades: list[dict[str, Any]] = []
    holding = np.zeros(n - LONG_WINDOW)  # coins held after each tick's trade
    spare = np.full(n - LONG_WINDOW, capital)  # cash after each tick's trade
    for k in np.flatnonzero(golden | death):
        price = float(last[LONG_WINDOW + k])
        stamp = str(ticks[LONG_WINDOW + k])
        if golden[k] and holdings == 0 and cash > price:
            holdings, cash, bought_at = cash / price, 0.0, price
            trades.append(
                {"timestamp": stamp, "action": "buy", "price": price, "quantity": holdings, "pnl": 0.0}
            )
        elif death[k] and holdings > 0:
            revenue = holdings * price
            trades.append(
                {
                    "timestamp": stamp,
                    "action": "sell",
                    "price": price,
                    "quantity": holdings,
                    "pnl": revenue - bought_at * holdings,
                }
            )
            cash, holdings = revenue, 0.0
        else:
            continue
        holding[k:] = holdings
        spare[k:] = cash
    return trades, spare + holding * last[LONG_WINDOW:]


def _curve_text(ticks: np.ndarray, equity: np.ndarray) -> str:
    """``[{"equity": ..., "timestamp": ...}, ...]`` exactly as ``json_text`` writes it, without the
    per-point dictionaries (thousands of points per run): the C encoder writes the floats."""
    values = json.dumps(equity.tolist())[1:-1].split(", ") if len(equity) else []
    points = (f'{{"equity": {e}, "timestamp": "{t}"}}' for e, t in zip(values, ticks.tolist(), strict=True))
    return "[" + ", ".join(points) + "]"


def metrics(equity: list[float], trades: list[dict[str, Any]]) -> dict[str, Any]:
    """The metrics the app computes from an equity curve and its trades (same names, same rounding)."""
    zero = {
        "total_return": 0.0,
        "sharpe_ratio": 0.0,
        "sortino_ratio": 0.0,
        "max_drawdown": 0.0,
        "max_drawdown_duration": 0,
        "win_rate": 0.0,
        "profit_factor": 0.0,
        "num_trades": 0,
        "avg_trade_pnl": 0.0,
        "best_trade": 0.0,
        "worst_trade": 0.0,
    }
    if len(equity) < 2:
        return zero
    curve = np.array(equity)
    returns = np.diff(curve) / curve[:-1]
    mean, std = float(returns.mean()), float(returns.std())
    down = returns[returns < 0]
    down_std = float(np.sqrt(np.mean(down**2))) if len(down) else 0.0
    peaks = np.maximum.accumulate(curve)
    drawdown = (peaks - curve) / peaks
    # the longest stretch without a new high (the first point starts one; a new high ends it)
    below = np.ones(len(curve), dtype=bool)
    below[1:] = curve[1:] <= peaks[:-1]
    edges = np.diff(np.concatenate(([0], below.astype(np.int8), [0])))
    longest = int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max(initial=0))
    pnls = [float(t["pnl"]) for t in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    out = dict(zero)
    out.update(
        total_return=round(float((curve[-1] - curve[0]) / curve[0]), 6),
        sharpe_ratio=round(mean / std * ANNUAL, 4) if std > 0 else 0.0,
        sortino_ratio=round(mean / down_std * ANNUAL, 4) if down_std > 0 else 0.0,
        max_drawdown=round(float(drawdown.max()), 6),
        max_drawdown_duration=longest,
        num_trades=len(pnls),
    )
    if pnls:
        out.update(
            win_rate=round(len(wins) / len(pnls), 4),
            profit_factor=round(sum(wins) / abs(sum(losses)), 4) if losses else 0.0,
            avg_trade_pnl=round(sum(pnls) / len(pnls), 4),
            best_trade=round(max(pnls), 4),
            worst_trade=round(min(pnls), 4),
        )
    return out


def _run(
    world: World, algo: algorithms.AlgorithmFact, n: int, coins: dict[str, market.Series]
) -> tuple[dict[str, Any], RunFact]:
    spec = world.spec
    r = rng(spec.seed, RUNS.name, algo.ordinal, n)
    first_tick = spec.first_tick
    # late enough for some history before it: a day, or half of a shorter history
    warmup = min(dt.timedelta(days=1), (spec.as_of_tick - first_tick) / 2)
    earliest = min(max(algo.created_at, first_tick + warmup), spec.as_of_tick)
    created = max(instant_between(r, earliest, spec.as_of_tick), algo.created_at)
    end = floor_tick(created - dt.timedelta(minutes=r.randint(0, 90)))
    start = end - dt.timedelta(days=r.choice(WINDOW_DAYS))
    capital = dollars(r, 1, 50) * 1000
    coin = algo.coin.lower()
    row: dict[str, Any] = {
        "id": derive_uuid(spec.seed, RUNS.name, f"{algo.ordinal}.{n}").bytes,
        "user_id": algo.created_by.id,
        "algorithm_id": algo.id,
        "coin_type": coin,
        "start_date": start,
        "end_date": end,
        "initial_capital": capital,
        "created_at": created,
    }
    results = None
    if spec.as_of_tick - created < RUNNING:
        row["status"] = "running"
    else:
        done = created + dt.timedelta(seconds=r.randint(2, 90))
        row["completed_at"] = min(done, spec.as_of_tick)
        series = coins.get(coin)
        window = series.window(start, end) if series is not None else slice(0, 0)
        if series is None or window.stop <= window.start:
            row["status"] = "failed"
            row["error_message"] = f"No price data found for {coin} between {start} and {end}"
        else:
            ticks = series.stamps[window]
            trades, equity = replay(ticks, series.last[window], float(capital))
            results = metrics(equity.tolist(), trades)
            row.update(
                status="completed",
                results_json=json_text(results),
                equity_curve_json=_curve_text(ticks[LONG_WINDOW:], equity),
                trade_log_json=json_text(trades),
            )
    return row, RunFact(row["id"], algo, created, row["status"], results)


@dataclass(frozen=True)
class Backtests:
    rows: list[dict[str, Any]]
    runs: list[RunFact]


def facts(world: World) -> Backtests:
    coins = world.get(market.series)
    rows: list[dict[str, Any]] = []
    runs: list[RunFact] = []
    for algo in world.get(algorithms.facts):
        r = rng(world.spec.seed, RUNS.name, algo.ordinal)
        count = r.choice((0, 1, 1, 2, 3)) if algo.status == "draft" else r.randint(1, 3)
        for n in range(count):
            row, run = _run(world, algo, n, coins)
            rows.append(row)
            runs.append(run)
    return Backtests(rows, runs)


def generate_runs(world: World) -> pa.Table:
    return sorted_table(RUNS, world.get(facts).rows)


def generate_promotions(world: World) -> pa.Table:
    spec = world.spec
    reviewer = world.get(users.facts)[0]  # the superuser reviews
    rows: list[dict[str, Any]] = []
    for run in world.get(facts).runs:
        algo = run.algorithm
        if run.status != "completed" or algo.status == "draft":
            continue
        r = rng(spec.seed, PROMOTIONS.name, run.id.hex())
        if r.random() < 0.4:
            continue
        origin, target = weighted(r, {"|".join(k): w for k, w in ROUTES.items()}).split("|")
        created = instant_between(r, max(run.created_at, reviewer.created_at), spec.as_of_tick)
        status = "approved" if algo.status == "active" else weighted(r, {"rejected": 0.5, "pending": 0.5})
        if status != "pending" and spec.as_of_tick - created < dt.timedelta(minutes=10):
            status = "pending"  # too young to have been reviewed
        reviewed = (
            instant_between(r, created + dt.timedelta(minutes=5), spec.as_of_tick)
            if status != "pending"
            else None
        )
        results = run.results or {}
        rows.append(
            {
                "algorithm_id": algo.id,
                "from_environment": origin,
                "to_environment": target,
                "status": status,
                "promotion_notes": f"Backtest return {results.get('total_return', 0.0):+.2%}, "
                f"Sharpe {results.get('sharpe_ratio', 0.0):.2f} over {results.get('num_trades', 0)} trades",
                "performance_snapshot_json": json_text(
                    {**results, "backtest_run_id": str(uuid.UUID(bytes=run.id))}
                ),
                "id": derive_uuid(spec.seed, PROMOTIONS.name, run.id.hex()).bytes,
                "created_by": algo.created_by.id,
                "created_at": created,
                "updated_at": reviewed or created,
                "reviewed_at": reviewed,
                "reviewed_by": reviewer.id if reviewed else None,
                "rejection_reason": r.choice(REJECTIONS) if status == "rejected" else None,
            }
        )
    return sorted_table(PROMOTIONS, rows)
