"""``seed_all_async``: fill an OMC database through an existing synchronous Session, in one call.

As the OMC data strategy's integration-test example runs it::

    from omc_data import seed_all_async

    created = asyncio.run(seed_all_async(db, user_count=5, algorithm_count=10))
    assert len(created["user"]) == 5

The rows come from the same helpers as the pytest fixtures, so they obey the same rules; they are
flushed, and committed only with ``commit=True``. The result maps each table to the rows created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from omc_data import defaults
from omc_data.errors import UsageError
from omc_data.testing import factories as f

DEFAULT_COINS = ("btc", "eth", "sol")


def seed_all(
    db: Any,
    user_count: int = 5,
    collect_real_data: bool = False,
    algorithm_count: int = 10,
    *,
    coins: Sequence[str] = DEFAULT_COINS,
    price_ticks: int = 50,
    orders_per_user: int = 3,
    positions_per_user: int = 1,
    agent_sessions: int = 2,
    superuser: bool = True,
    seed: int = defaults.SEED,
    now: dt.datetime | None = None,
    commit: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """The synchronous body of :func:`seed_all_async`."""
    if collect_real_data:
        raise UsageError(
            "seed_all_async does not collect real data (tests never touch the internet)",
            hint="build a snapshot with real data (omc-data build --real-data) and load it with "
            "omc_data.load_snapshot, or use the omc_snapshot_db fixture",
        )
    if min(user_count, algorithm_count, price_ticks, orders_per_user, positions_per_user, agent_sessions) < 0:
        raise UsageError("counts must not be negative")
    if positions_per_user > len(coins):
        raise UsageError("one position per user per coin: positions_per_user must be <= len(coins)")
    f.seeded(db, seed, "seed_all")
    out: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in ("user", "price_data_5min", "algorithms", "orders", "positions", "agent_sessions")
    }
    if superuser:
        out["user"].append(f.create_test_superuser(db, now=now))
    users = [f.create_test_user(db, now=now) for _ in range(user_count)]
    out["user"].extend(users)
    owners = users or out["user"]
    for coin in coins:
        out["price_data_5min"].extend(
            f.create_test_price_data(db, coin_type=coin, ticks=price_ticks, end=now)
        )
    if algorithm_count and not owners:
        raise UsageError("algorithms need an owner: ask for at least one user or the superuser")
    for i in range(algorithm_count):
        out["algorithms"].append(f.create_test_algorithm(db, user=owners[i % len(owners)], now=now))
    for user in users:
        for coin in coins[:positions_per_user]:
            position = f.create_test_position(db, user=user, coin_type=coin, now=now)
            out["orders"].append(position.pop("order"))
            out["positions"].append(position)
        for i in range(orders_per_user):
            status = f.ORDER_STATUSES[i % len(f.ORDER_STATUSES)]
            if status == "filled":
                status = "cancelled"  # a filled buy would move the user's position
            out["orders"].append(
                f.create_test_order(db, user=user, coin_type=coins[0], status=status, now=now)
            )
        for _ in range(agent_sessions):
            out["agent_sessions"].append(f.create_test_agent_session(db, user=user, now=now, messages=2))
    if commit:
        db.commit()
    elif hasattr(db, "flush"):
        db.flush()
    return out


async def seed_all_async(
    db: Any,
    user_count: int = 5,
    collect_real_data: bool = False,
    algorithm_count: int = 10,
    **options: Any,
) -> dict[str, list[dict[str, Any]]]:
    """Fill ``db`` (a synchronous SQLAlchemy Session or Connection) with a small consistent dataset.

    Returns the rows created, by table (``user``, ``price_data_5min``, ``algorithms``, ``orders``,
    ``positions``, ``agent_sessions``). ``options`` are :func:`seed_all`'s keywords (``coins``,
    ``price_ticks``, ``orders_per_user``, ``seed``, ``now``, ``commit``, ...). The Session is
    synchronous, so the work runs on the event loop's thread, in one go.
    """
    return seed_all(
        db,
        user_count=user_count,
        collect_real_data=collect_real_data,
        algorithm_count=algorithm_count,
        **options,
    )
