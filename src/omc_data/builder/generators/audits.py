"""``trade_audit``: the trading agents' decisions, with the market price they saw.

Every order an algorithm placed is an executed decision of that algorithm's agent (``agent_id`` is the
algorithm's id): BUY or SELL as the order's side, a few seconds before it, ``execution_order_id`` the
order's id. Between them the agents of active and paused algorithms decided to HOLD, or wanted to trade
and were blocked by a risk rule; those were never executed. ``price_at_decision`` is the coin's ``last``
at the latest tick at or before the decision, read from the built price table (:mod:`.market`); NULL
when the coin has no tick yet. Assets are coin codes in upper case, as the app's agents write them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import algorithms, market, trading
from omc_data.builder.generators.common import sorted_instants, sorted_table
from omc_data.builder.generators.streams import derive_uuid, rng
from omc_data.builder.generators.world import World

TABLE = catalog.TRADE_AUDIT
IDLE_DECISIONS = (2, 6)  # decisions without an order, per active or paused algorithm
BLOCKED_SHARE = 0.3
BLOCKS = (
    "Risk rule 'Max position size': order above 5,000 AUD",
    "Risk rule 'Daily loss limit' reached",
    "Risk rule 'Open positions': already holding 8 coins",
)
HOLD_REASONS = (
    "Signal below the confidence threshold",
    "Fast and slow averages too close to call",
    "Spread too wide for a market order",
    "Waiting for confirmation on the next candle",
)


def _price(coins: dict[str, market.Series], coin: str, at: dt.datetime) -> Any:
    series = coins.get(coin)
    i = series.index_at(at) if series is not None else None
    return None if series is None or i is None else series.exact(i)


def generate(world: World) -> pa.Table:
    spec = world.spec
    coins = world.get(market.series)
    rows: list[dict[str, Any]] = []
    for order in world.get(trading.facts).orders:
        if order["algorithm_id"] is None:
            continue
        oid = uuid.UUID(bytes=order["id"])
        r = rng(spec.seed, TABLE.name, str(oid))
        at = order["created_at"] - dt.timedelta(seconds=r.randint(1, 20))
        side = order["side"].upper()
        rows.append(
            {
                "agent_id": str(uuid.UUID(bytes=order["algorithm_id"])),
                "decision": side,
                "reason": f"Fast average crossed {'above' if side == 'BUY' else 'below'} the slow one "
                f"on {order['coin_type'].upper()}",
                "confidence_score": round(r.uniform(0.55, 0.97), 4),
                "asset": order["coin_type"].upper(),
                "price_at_decision": _price(coins, order["coin_type"], at),
                "is_executed": True,
                "execution_order_id": order["id"],
                "block_reason": None,
                "id": derive_uuid(spec.seed, TABLE.name, str(oid)).bytes,
                "timestamp": at,
            }
        )
    for algo in world.get(algorithms.facts):
        if algo.status not in ("active", "paused"):
            continue
        r = rng(spec.seed, TABLE.name, "idle", algo.ordinal)
        lo = max(algo.created_at, spec.first_tick)
        for n, at in enumerate(sorted_instants(r, lo, spec.as_of_tick, r.randint(*IDLE_DECISIONS))):
            blocked = r.random() < BLOCKED_SHARE
            decision = r.choice(("BUY", "SELL")) if blocked else "HOLD"
            rows.append(
                {
                    "agent_id": str(uuid.UUID(bytes=algo.id)),
                    "decision": decision,
                    "reason": r.choice(HOLD_REASONS)
                    if not blocked
                    else f"Crossover signal to {decision.lower()}",
                    "confidence_score": round(r.uniform(0.2, 0.9), 4),
                    "asset": algo.coin.upper(),
                    "price_at_decision": _price(coins, algo.coin.lower(), at),
                    "is_executed": False,
                    "execution_order_id": None,
                    "block_reason": r.choice(BLOCKS) if blocked else None,
                    "id": derive_uuid(spec.seed, TABLE.name, f"idle:{algo.ordinal}:{n}").bytes,
                    "timestamp": at,
                }
            )
    return sorted_table(TABLE, rows)
