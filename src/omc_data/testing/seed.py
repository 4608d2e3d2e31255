"""``seed_all_async``: fill an OMC database through an existing synchronous Session, in one call.

As the OMC data strategy's integration-test example runs it::

    from omc_data import seed_all_async

    created = asyncio.run(seed_all_async(db, user_count=5, algorithm_count=10))
    assert len(created["user"]) == 5

The rows come from the same helpers as the pytest fixtures, so they obey the same rules; they are
flushed, and committed only with ``commit=True``. The result maps each table to the rows created.

Price ticks end at ``as_of`` (default: the current time). A second call on the same database adds to
what is there: new users (fresh ids and emails) with their rows, and only the (coin, tick) price rows
the table lacks. The same seed and ``as_of`` on a database in the same state give the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

from omc_data import defaults
from omc_data.domain import trading
from omc_data.errors import CollectorError, UsageError
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
    as_of: dt.datetime | None = None,
    commit: bool = False,
    collector: Any = None,
    fetched: Any = None,
) -> dict[str, list[dict[str, Any]]]:
    """The synchronous body of :func:`seed_all_async` (``fetched``: Coinspot's result, already fetched).

    ``as_of`` (or its older name ``now``) is the instant the data leads up to; default the current time.
    """
    if collect_real_data and fetched is None:
        from omc_data.builder.live import collect

        fetched = collect(_coinspot_only(collector))["coinspot"]
    real, fetched_at = _real_quotes(fetched) if collect_real_data else ({}, None)
    now = as_of or now
    if fetched_at is not None and now is None:
        now = fetched_at  # the real prices are of now: so is the rest
    if now is None:
        now = dt.datetime.now(dt.timezone.utc)
    if min(user_count, algorithm_count, price_ticks, orders_per_user, positions_per_user, agent_sessions) < 0:
        raise UsageError("counts must not be negative")
    if positions_per_user > len(coins):
        raise UsageError("one position per user per coin: positions_per_user must be <= len(coins)")
    _fresh_stream(db, seed)
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
        out["price_data_5min"].extend(_prices(db, coin, price_ticks, now, real.get(coin.lower())))
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


Quote = tuple[decimal.Decimal, decimal.Decimal, decimal.Decimal]


def _fresh_stream(db: Any, seed: int) -> None:
    """Seed ``db``'s helpers with the first of seed's streams whose users are not in ``db`` yet.

    The first call on a database takes stream 0, a second one stream 1, and so on: every call makes new
    ids and emails, and the same seed on a database in the same state makes the same rows.
    """
    for n in range(10_000):
        f.seeded(db, seed, "seed_all" if n == 0 else f"seed_all.{n}")
        if not f.stream_in_use(db):
            return
    raise UsageError("seed_all ran 10000 times on this database with this seed", hint="pass another seed")


def _coinspot_only(collector: Any) -> Any:
    """``collector`` (a CollectRequest, e.g. with a mirror's endpoint) narrowed to Coinspot."""
    from omc_data.builder.live import CollectRequest

    return dataclasses.replace(collector or CollectRequest(), sources=("coinspot",))


def _real_quotes(fetch: Any) -> tuple[dict[str, Quote], dt.datetime]:
    """Coinspot's latest prices from one fetch, or CollectorError saying why there are none."""
    from omc_data.builder.sources import coinspot
    from omc_data.builder.sources.counts import SourceCounts

    if fetch.outcome != "collected":
        raise CollectorError(
            f"could not collect real prices from Coinspot: {fetch.reason}",
            source="coinspot",
            retryable=True,
            hint="retry, or seed without collect_real_data",
        )
    response = fetch.responses[0]
    quotes = coinspot.parse_latest(response, SourceCounts())
    return {k: _decimals(q) for k, q in quotes.items()}, response.fetched_at


def _decimals(units: tuple[int, int, int]) -> Quote:
    bid, ask, last = (trading.units(u, trading.PRICE_SCALE) for u in units)
    return bid, ask, last


def _prices(
    db: Any,
    coin: str,
    ticks: int,
    now: dt.datetime | None,
    quote: Quote | None,
) -> list[dict[str, Any]]:
    """``ticks`` rows of ``coin`` the table lacks; with a real quote, the walk leads up to it and the
    last row is real."""
    if ticks < 1:
        return []
    if quote is None or ticks < 2:
        return f.create_test_price_data(db, coin_type=coin, ticks=ticks, end=now, only_missing=True)
    end = f.floor_tick(now)
    rows = f.create_test_price_data(
        db, coin_type=coin, ticks=ticks - 1, end=end - f.TICK, start_price=quote[2], only_missing=True
    )
    if f.existing_ticks(db, coin, end, end):
        return rows
    real = {
        "coin_type": coin,
        "bid": quote[0],
        "ask": quote[1],
        "last": quote[2],
        "timestamp": end,
        "created_at": end,
    }
    (real["id"],) = f.insert_rows(db, "price_data_5min", [real])
    return [*rows, real]


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
    ``price_ticks``, ``orders_per_user``, ``seed``, ``as_of``, ``commit``, ...). Run it
    again on the same database to add more: new users, and only the price ticks not there yet. The Session is
    synchronous, so the work runs on the event loop's thread, in one go.

    ``collect_real_data=True`` fetches Coinspot's latest prices once (``collector``: a
    ``CollectRequest``, e.g. a mirror's endpoint); each coin's ticks then lead up to its real quote, the
    last row being the real one. It raises CollectorError when Coinspot cannot be reached.
    """
    if collect_real_data and options.get("fetched") is None:  # fetch inside the caller's event loop
        from omc_data.builder.live import collect_async

        options["fetched"] = (await collect_async(_coinspot_only(options.get("collector"))))["coinspot"]
    return seed_all(
        db,
        user_count=user_count,
        collect_real_data=collect_real_data,
        algorithm_count=algorithm_count,
        **options,
    )
