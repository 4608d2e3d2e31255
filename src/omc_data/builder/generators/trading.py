"""``orders`` and ``positions``: each trader's orders replayed into holdings by the trading rules.

Most users trade a few coins of the price history. Per (user, coin) the orders come from their own random
stream, in time order; each order's fills (if any) land before the next order is placed, so the fill
order is the creation order. Prices sit near the coin's ``last`` at the latest tick at or before the
order (market fills within 0.5%, limit prices within 1.9%), sells never exceed the holding, and the
positions are what :class:`omc_data.domain.trading.Holding` makes of the fills.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators import algorithms, prices, users
from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.common import sorted_instants, sorted_table, weighted
from omc_data.builder.generators.streams import derive_uuid, rendezvous, rng
from omc_data.builder.generators.world import World
from omc_data.domain.trading import PRICE_SCALE, QUANTITY_SCALE, Holding, units

ORDERS = catalog.ORDERS
POSITIONS = catalog.POSITIONS

TRADER_SHARE = 0.85  # "positions and orders for most users"
MAX_COINS_PER_TRADER = 4
RECENT = dt.timedelta(hours=6)  # only orders this young may still be pending or submitted
OLD_STATUSES = {"filled": 0.78, "partial": 0.06, "cancelled": 0.1, "failed": 0.06}
RECENT_STATUSES = {
    "filled": 0.5,
    "partial": 0.1,
    "pending": 0.15,
    "submitted": 0.15,
    "cancelled": 0.05,
    "failed": 0.05,
}
ERRORS = (
    "Insufficient AUD balance",
    "Coinspot API timeout after 30s",
    "Rate limited by exchange (HTTP 429)",
    "Order below the exchange minimum of 1 AUD",
)
ALGORITHM_SHARE = 0.3  # orders placed by an algorithm rather than by hand


@dataclass(frozen=True)
class Trading:
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]


def _timeline(
    r: random.Random, created: dt.datetime, room_end: dt.datetime, fills: bool, market: bool
) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime]:
    """submitted_at, filled_at and updated_at, all before ``room_end`` (the next order, or as_of)."""
    room = max(int((room_end - created).total_seconds()) - 1, 0)
    submitted_after = min(r.randint(0, 3), room)
    submitted = created + dt.timedelta(seconds=submitted_after)
    room -= submitted_after
    if not fills:
        touched = submitted + dt.timedelta(seconds=min(r.randint(0, 3600), room))
        return submitted, None, touched
    delay = r.randint(1, 30) if market else r.randint(30, 7200)
    filled = submitted + dt.timedelta(seconds=min(delay, room))
    return submitted, filled, filled


def _pair_orders(
    world: World, user: users.UserFact, coin: str, share: int, holding: Holding
) -> list[dict[str, Any]]:
    spec = world.spec
    history = world.get(prices.history)
    pool = world.get(algorithms.active)
    r = rng(spec.seed, ORDERS.name, user.ordinal, coin)
    count = max(1, round(spec.orders_per_user / share * r.uniform(0.5, 1.5)))
    lo = max(spec.first_tick, user.created_at)
    times = sorted_instants(r, lo, spec.as_of_tick, count)
    rows = []
    for i, created in enumerate(times):
        room_end = times[i + 1] if i + 1 < len(times) else spec.as_of_tick
        side = "buy" if holding.quantity == 0 or r.random() < 0.6 else "sell"
        market = r.random() < 0.6
        status = weighted(r, RECENT_STATUSES if spec.as_of_tick - created <= RECENT else OLD_STATUSES)
        reference = history.last_at(coin, created)
        if market:
            price = round(reference * (1 + r.uniform(-0.005, 0.005)))
        else:
            off = r.uniform(0.0, 0.019)
            price = round(reference * (1 - off if side == "buy" else 1 + off))
        price = max(price, 1)
        if side == "buy":
            notional = r.uniform(50, 5000)  # AUD
            quantity = max(round(notional * 10 ** (QUANTITY_SCALE + PRICE_SCALE) / price), 1)
        else:
            quantity = (
                holding.quantity if r.random() < 0.3 else max(int(holding.quantity * r.uniform(0.2, 1.0)), 1)
            )
        if status == "partial" and quantity < 2:
            status = "filled"
        if status == "filled":
            filled = quantity
        elif status == "partial" or (status == "cancelled" and quantity >= 2 and r.random() < 0.3):
            filled = r.randint(1, quantity - 1)
        else:
            filled = 0
        submitted, filled_at, updated = _timeline(r, created, room_end, filled > 0, market)
        if status == "pending":
            submitted, updated = None, created
        if filled:
            holding.fill(side, filled, price)
        algorithm = None
        existing = [a for a in pool if a.created_at <= created]  # an order cannot predate its algorithm
        if existing and r.random() < ALGORITHM_SHARE:
            (pick,) = rendezvous(spec.seed, ORDERS.name, user.ordinal, coin, i, candidates=len(existing))
            algorithm = existing[pick].id
        rows.append(
            {
                "id": derive_uuid(spec.seed, ORDERS.name, f"{user.ordinal}:{coin}:{i}").bytes,
                "user_id": user.id,
                "algorithm_id": algorithm,
                "coin_type": coin,
                "side": side,
                "order_type": "market" if market else "limit",
                "quantity": units(quantity, QUANTITY_SCALE),
                "price": units(price, PRICE_SCALE) if (filled or not market) else None,
                "filled_quantity": units(filled, QUANTITY_SCALE),
                "status": status,
                "error_message": r.choice(ERRORS) if status == "failed" else None,
                "coinspot_order_id": (
                    f"{r.getrandbits(96):024x}"
                    if status in ("submitted", "filled", "partial", "cancelled")
                    else None
                ),
                "created_at": created,
                "updated_at": updated,
                "submitted_at": submitted,
                "filled_at": filled_at,
            }
        )
    return rows


def facts(world: World) -> Trading:
    spec = world.spec
    ranked = [c.key for c in top_coins(spec.coins)]  # rank order: one more coin appends, shifts nothing
    orders: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    for user in world.get(users.facts)[1:]:
        r = rng(spec.seed, ORDERS.name, user.ordinal)
        if r.random() >= TRADER_SHARE or not ranked:
            continue
        share = r.randint(1, MAX_COINS_PER_TRADER)
        picks = rendezvous(spec.seed, ORDERS.name, user.ordinal, "coins", candidates=len(ranked), take=share)
        for coin in sorted(ranked[i] for i in picks):
            holding = Holding()
            rows = _pair_orders(world, user, coin, share, holding)
            orders.extend(rows)
            values = holding.values()
            if values is None:
                continue
            fills = [row["filled_at"] for row in rows if row["filled_at"] is not None]
            positions.append(
                {
                    "id": derive_uuid(spec.seed, POSITIONS.name, f"{user.ordinal}:{coin}").bytes,
                    "user_id": user.id,
                    "coin_type": coin,
                    "quantity": values.quantity,
                    "average_price": values.average_price,
                    "total_cost": values.total_cost,
                    "created_at": fills[0],
                    "updated_at": fills[-1],
                }
            )
    return Trading(orders, positions)


def generate_orders(world: World) -> pa.Table:
    return sorted_table(ORDERS, world.get(facts).orders)


def generate_positions(world: World) -> pa.Table:
    return sorted_table(POSITIONS, world.get(facts).positions)
