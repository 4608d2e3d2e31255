"""The trading rules hold in built snapshots, checked by an independent replay of the orders.

Nothing here calls ``omc_data.domain.trading``: the expected positions come from a replay written
with ``fractions.Fraction`` (exact) and Python's own half-even ``round``, so a bug shared by the generator
and the validator (they both use ``trading.Holding``) still shows up.
"""

from __future__ import annotations

import bisect
import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import omc_data
from snaptools import snapshot_rows

AS_OF = "2026-11-01T00:00:00Z"
# Two builds: the default counts (10 users, 10 coins, 7 days) and many traders on few coins, with an
# as_of that is not on a tick (floored to 00:05).
BUILDS: dict[str, dict[str, Any]] = {
    "default": {"seed": 3, "as_of": AS_OF, "bcrypt_rounds": 4},
    "crowd": {
        "seed": 9,
        "as_of": "2026-11-01T00:07:31Z",
        "users": 40,
        "coins": 3,
        "days": 2,
        "bcrypt_rounds": 4,
    },
}
LIMIT = Fraction(2, 100)  # an order's price within 2% of the market


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trading-rules")
    for tag, spec in BUILDS.items():
        omc_data.build_snapshot(tag, store=root, **spec)
    return root


@dataclass(frozen=True)
class Tables:
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    prices: list[dict[str, Any]]
    news: list[dict[str, Any]]


@pytest.fixture(scope="module", params=sorted(BUILDS))
def tables(request: pytest.FixtureRequest, store: Path) -> Tables:
    tag = request.param
    return Tables(
        *(snapshot_rows(store, tag, t) for t in ("orders", "positions", "price_data_5min", "news_sentiment"))
    )


# --- an independent replay ------------------------------------------------------------------------------


class Oversell(Exception):
    pass


@dataclass
class Book:
    """One user's holding of one coin: exact quantity (coins) and exact cost (AUD)."""

    quantity: Fraction = Fraction(0)
    cost: Fraction = Fraction(0)

    def apply(self, side: str, quantity: decimal.Decimal, price: decimal.Decimal | None) -> None:
        q = Fraction(quantity)
        if side == "buy":
            assert price is not None, "a filled buy without a price"
            self.quantity += q
            self.cost += q * Fraction(price)
            return
        assert side == "sell", side
        if q > self.quantity:
            raise Oversell(f"selling {q} with {self.quantity} held")
        remaining = self.quantity - q
        # the sold coins leave at the average cost: the cost left is the remaining share of it
        self.cost = self.cost * remaining / self.quantity if remaining else Fraction(0)
        self.quantity = remaining


def fill_key(order: dict[str, Any]) -> tuple[Any, ...]:
    return (order["filled_at"], order["created_at"], order["id"])


def replay(orders: Iterable[dict[str, Any]]) -> dict[tuple[Any, str], Book]:
    """Every (user, coin) with fills, replayed in fill order."""
    fills: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    for o in orders:
        if o["filled_quantity"] > 0:
            assert o["filled_at"] is not None, o
            fills[(o["user_id"], o["coin_type"])].append(o)
    books = {}
    for key, group in fills.items():
        book = Book()
        for o in sorted(group, key=fill_key):
            book.apply(o["side"], o["filled_quantity"], o["price"])
        books[key] = book
    return books


def half_even(value: Fraction, places: int) -> decimal.Decimal:
    """``value`` rounded half-even to ``places`` decimals (Python's round() of a Fraction is exact)."""
    scaled = round(value * 10**places)  # int; ties go to the even neighbour
    return decimal.Decimal(scaled).scaleb(-places)


def test_half_even_helper() -> None:  # the yardstick itself, on ties and near-ties
    assert half_even(Fraction(5, 1000), 2) == decimal.Decimal("0.00")
    assert half_even(Fraction(15, 1000), 2) == decimal.Decimal("0.02")
    assert half_even(Fraction(25, 1000), 2) == decimal.Decimal("0.02")
    assert half_even(Fraction(2500001, 100000000), 2) == decimal.Decimal("0.03")
    assert half_even(Fraction(1, 3), 8) == decimal.Decimal("0.33333333")
    assert half_even(Fraction(-15, 1000), 2) == decimal.Decimal("-0.02")


# --- positions follow the fills ------------------------------------------------------------------------


def test_no_sell_removes_more_than_is_held(tables: Tables) -> None:
    try:
        replay(tables.orders)
    except Oversell as exc:
        pytest.fail(str(exc))
    sells = [o for o in tables.orders if o["side"] == "sell" and o["filled_quantity"] > 0]
    assert sells, "the build has no filled sells: the rule was not exercised"


def test_a_position_exists_iff_the_net_quantity_is_positive(tables: Tables) -> None:
    books = replay(tables.orders)
    held = {k for k, b in books.items() if b.quantity > 0}
    positions = [(p["user_id"], p["coin_type"]) for p in tables.positions]
    assert len(positions) == len(set(positions)), "two positions for one user and coin"
    assert set(positions) == held
    assert held, "nobody holds anything: the rule was not exercised"


def test_position_values_are_the_fills_at_weighted_average_cost(tables: Tables) -> None:
    books = replay(tables.orders)
    checked = 0
    for p in tables.positions:
        book = books[(p["user_id"], p["coin_type"])]
        # quantities are sums and differences of numeric(20,10) values: exact, no rounding
        assert Fraction(p["quantity"]) == book.quantity, p
        assert p["quantity"] == half_even(book.quantity, 10), p
        assert p["average_price"] == half_even(book.cost / book.quantity, 8), p
        assert p["total_cost"] == half_even(book.cost, 2), p
        assert p["average_price"].as_tuple().exponent == -8
        assert p["total_cost"].as_tuple().exponent == -2
        checked += 1
    assert checked


def test_positions_live_between_their_first_and_last_fill(tables: Tables) -> None:
    fills: dict[tuple[Any, str], list[dt.datetime]] = defaultdict(list)
    for o in tables.orders:
        if o["filled_quantity"] > 0:
            fills[(o["user_id"], o["coin_type"])].append(o["filled_at"])
    for p in tables.positions:
        stamps = fills[(p["user_id"], p["coin_type"])]
        assert min(stamps) <= p["created_at"] <= p["updated_at"] <= max(stamps), p


# --- each order on its own -----------------------------------------------------------------------------


def test_status_agrees_with_fills(tables: Tables) -> None:
    seen = set()
    for o in tables.orders:
        q, f, status = o["quantity"], o["filled_quantity"], o["status"]
        assert q > 0 and 0 <= f <= q, o
        if status == "filled":
            assert f == q and o["filled_at"] is not None, o
        elif status == "partial":
            assert 0 < f < q, o
        elif status == "cancelled":
            assert 0 <= f < q, o
        elif status in ("pending", "submitted", "failed"):
            assert f == 0, o
        else:
            pytest.fail(f"unknown order status {status!r}")
        if f == 0:
            assert o["filled_at"] is None, o
        seen.add(status)
    assert {"filled", "partial", "cancelled", "failed"} <= seen


def test_market_orders_with_fills_carry_their_price(tables: Tables) -> None:
    market_fills = [o for o in tables.orders if o["order_type"] == "market" and o["filled_quantity"] > 0]
    assert market_fills
    assert [o for o in market_fills if o["price"] is None] == []
    limits = [o for o in tables.orders if o["order_type"] == "limit"]
    assert limits and all(o["price"] is not None for o in limits)


def test_order_prices_sit_within_two_percent_of_the_market(tables: Tables) -> None:
    ticks: dict[str, list[tuple[dt.datetime, decimal.Decimal]]] = defaultdict(list)
    for r in tables.prices:
        ticks[r["coin_type"]].append((r["timestamp"], r["last"]))
    for series in ticks.values():
        series.sort()
    stamps = {coin: [t for t, _ in series] for coin, series in ticks.items()}
    priced = 0
    for o in tables.orders:
        if o["price"] is None:
            continue
        series = ticks[o["coin_type"]]
        i = bisect.bisect_right(stamps[o["coin_type"]], o["created_at"]) - 1
        assert i >= 0, f"no tick at or before order {o['id']}"
        market = Fraction(series[i][1])
        assert abs(Fraction(o["price"]) - market) <= LIMIT * market, (o, series[i])
        priced += 1
    assert priced


def test_order_times_are_in_order(tables: Tables) -> None:
    for o in tables.orders:
        chain = [o["created_at"], o["submitted_at"], o["filled_at"], o["updated_at"]]
        present = [t for t in chain if t is not None]
        assert present == sorted(present), o
        assert o["created_at"] <= o["updated_at"], o
        if o["filled_at"] is not None:
            assert o["submitted_at"] is not None, o


def test_coin_keys_are_lower_case_and_priced_news_codes_upper_case(tables: Tables) -> None:
    priced = {r["coin_type"] for r in tables.prices}
    assert priced and all(c == c.lower() and c.isalnum() for c in priced)
    for table in (tables.orders, tables.positions):
        coins = {r["coin_type"] for r in table}
        assert coins <= priced
        assert all(c == c.lower() for c in coins)
    codes = {c for n in tables.news for c in n["currencies"] or []}
    assert codes
    assert all(c == c.upper() and c.isalnum() for c in codes)
