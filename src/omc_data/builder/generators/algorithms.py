"""``algorithms`` across types and statuses, and ``deployed_algorithms`` drawn from the active ones.

Machine-learning algorithms often point at the model artifact of the Lab session that trained them; then
their author is that session's user and they were created after the artifact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import agents, users
from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.common import (
    dollars,
    instant_between,
    json_text,
    money,
    sorted_table,
    weighted,
)
from omc_data.builder.generators.streams import derive_uuid, rendezvous, rng
from omc_data.builder.generators.world import World

ALGORITHMS = catalog.ALGORITHMS
DEPLOYED = catalog.DEPLOYED_ALGORITHMS

TYPES = {"rule_based": 0.45, "ml_model": 0.4, "reinforcement_learning": 0.15}
STATUSES = {"active": 0.5, "draft": 0.2, "paused": 0.15, "archived": 0.15}
FREQUENCIES = (60, 300, 300, 900, 3600)
STYLES = {
    "rule_based": ("Momentum Breakout", "Mean Reversion", "MA Crossover", "RSI Oversold", "Grid Trader"),
    "ml_model": ("Direction Classifier", "Volatility Forecaster", "Sentiment Signal", "Trend Predictor"),
    "reinforcement_learning": ("PPO Trader", "DQN Allocator", "Actor-Critic Scalper"),
}
ALGO_COINS = 10  # algorithms trade the top coins of the ranked list, whatever --coins says


@dataclass(frozen=True)
class AlgorithmFact:
    ordinal: int
    id: bytes
    kind: str
    status: str
    created_by: users.UserFact
    created_at: dt.datetime
    artifact: agents.ArtifactFact | None
    coin: str


def _algorithm(world: World, ordinal: int, models: list[agents.ArtifactFact]) -> AlgorithmFact:
    spec = world.spec
    r = rng(spec.seed, ALGORITHMS.name, ordinal)
    kind = weighted(r, TYPES)
    status = "active" if ordinal == 0 else weighted(r, STATUSES)  # at least one algorithm can be deployed
    artifact = None
    if kind != "rule_based" and models and r.random() < 0.7:
        (pick,) = rendezvous(spec.seed, ALGORITHMS.name, ordinal, "artifact", candidates=len(models))
        artifact = models[pick]
    author = artifact.session.user if artifact else users.owner(world, ALGORITHMS.name, ordinal)
    earliest = max(
        author.created_at, artifact.created_at if artifact else spec.as_of_tick - dt.timedelta(days=180)
    )
    created = instant_between(r, earliest, spec.as_of_tick - dt.timedelta(hours=1))
    coin = artifact.session.coin if artifact else r.choice([c.code for c in top_coins(ALGO_COINS)])
    return AlgorithmFact(
        ordinal,
        derive_uuid(spec.seed, ALGORITHMS.name, ordinal).bytes,
        kind,
        status,
        author,
        created,  # instant_between never returns less than its lower bound
        artifact,
        coin,
    )


def facts(world: World) -> list[AlgorithmFact]:
    models = [a for a in world.get(agents.artifacts) if a.kind == "model"]
    return [_algorithm(world, n, models) for n in range(world.spec.algorithms)]


def active(world: World) -> list[AlgorithmFact]:
    return [a for a in world.get(facts) if a.status == "active"]


def _configuration(r: Any, kind: str, coin: str) -> dict[str, Any]:
    if kind == "rule_based":
        return {
            "coin": coin,
            "fast_window": r.choice((5, 10, 12, 20)),
            "slow_window": r.choice((26, 50, 100)),
            "stop_loss_pct": r.choice((2, 3, 5)),
            "take_profit_pct": r.choice((4, 6, 10)),
        }
    if kind == "ml_model":
        return {
            "coin": coin,
            "horizon_minutes": r.choice((15, 60, 240)),
            "threshold": round(r.uniform(0.52, 0.6), 3),
            "features": ["returns", "rsi_14", "macd", "volume_z", "sentiment"][: r.randint(2, 5)],
        }
    return {
        "coin": coin,
        "policy": r.choice(("ppo", "dqn", "a2c")),
        "gamma": 0.99,
        "learning_rate": r.choice((0.0001, 0.0003, 0.001)),
        "episodes": r.choice((500, 1000, 5000)),
    }


def generate_algorithms(world: World) -> pa.Table:
    spec = world.spec
    rows = []
    for a in world.get(facts):
        r = rng(spec.seed, ALGORITHMS.name, a.ordinal, "text")
        style = r.choice(STYLES[a.kind])
        major, minor = r.randint(0, 3), r.randint(0, 9)
        updated = instant_between(r, a.created_at, spec.as_of_tick)
        executed = None
        if a.status in ("active", "paused"):
            executed = instant_between(
                r, max(a.created_at, spec.as_of_tick - dt.timedelta(days=2)), spec.as_of_tick
            )
            updated = max(updated, executed)
        metrics = None
        if a.status != "draft":
            metrics = {
                "sharpe_ratio": round(r.uniform(-0.4, 2.6), 2),
                "max_drawdown": round(r.uniform(0.03, 0.35), 3),
                "win_rate": round(r.uniform(0.38, 0.66), 3),
                "total_return": round(r.uniform(-0.2, 0.8), 3),
                "trades": r.randint(20, 2000),
            }
        rows.append(
            {
                "id": a.id,
                "name": f"{style} {a.coin} v{major + 1}",
                "description": f"{style} strategy for {a.coin}"
                + (" using a model trained in the Lab." if a.artifact else "."),
                "algorithm_type": a.kind,
                "version": f"{major + 1}.{minor}.{r.randint(0, 12)}",
                "artifact_id": a.artifact.id if a.artifact else None,
                "status": a.status,
                "configuration_json": json_text(_configuration(r, a.kind, a.coin)),
                "default_execution_frequency": r.choice(FREQUENCIES),
                "default_position_limit": dollars(r, 500, 20000),
                "performance_metrics_json": json_text(metrics) if metrics is not None else None,
                "created_by": a.created_by.id,
                "created_at": a.created_at,
                "updated_at": updated,
                "last_executed_at": executed,
            }
        )
    return sorted_table(ALGORITHMS, rows)


def generate_deployed(world: World) -> pa.Table:
    spec = world.spec
    pool = world.get(active)
    rows = []
    for n in range(spec.deployments if pool else 0):
        r = rng(spec.seed, DEPLOYED.name, n)
        (pick,) = rendezvous(spec.seed, DEPLOYED.name, n, "algorithm", candidates=len(pool))
        algo = pool[pick]
        user = users.owner(world, DEPLOYED.name, n)
        created = instant_between(r, max(user.created_at, algo.created_at), spec.as_of_tick)
        is_active = r.random() < 0.7
        activated = instant_between(r, created, min(created + dt.timedelta(hours=2), spec.as_of_tick))
        deactivated = None if is_active else instant_between(r, activated, spec.as_of_tick)
        executed = instant_between(r, activated, deactivated or spec.as_of_tick)
        trades = r.randint(0, 400)
        rows.append(
            {
                "id": derive_uuid(spec.seed, DEPLOYED.name, n).bytes,
                "user_id": user.id,
                "algorithm_id": algo.id,
                "deployment_name": f"{algo.coin} {r.choice(('live', 'paper', 'small', 'night'))} #{n + 1}",
                "is_active": is_active,
                "execution_frequency": r.choice(FREQUENCIES),
                "position_limit": dollars(r, 200, 10000),
                "daily_loss_limit": dollars(r, 50, 1000),
                "parameters_json": json_text(
                    {"coin": algo.coin, "risk_per_trade_pct": r.choice((0.5, 1, 2))}
                ),
                "created_at": created,
                "updated_at": max(executed, deactivated or created),
                "activated_at": activated,
                "deactivated_at": deactivated,
                "last_executed_at": executed if trades else None,
                "total_profit_loss": money(r, -1500, 4000),
                "total_trades": trades,
            }
        )
    return sorted_table(DEPLOYED, rows)
