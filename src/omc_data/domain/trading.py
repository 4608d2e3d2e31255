"""The trading rules that tie positions to orders: weighted-average cost, in exact arithmetic.

A buy adds its filled quantity and its cost (quantity x price); a sell removes quantity at the average
cost, and can never remove more than is held. A position exists if and only if the net filled quantity
is > 0; its quantity, average price and total cost follow from the fills, rounded half-even at the
columns' scales (numeric(20,10), numeric(20,8), numeric(20,2)). The generator builds positions with this
class and ``omc-data validate`` replays the orders with it, so the two can never disagree.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from fractions import Fraction

QUANTITY_SCALE = 10
PRICE_SCALE = 8
COST_SCALE = 2


class OversellError(ValueError):
    """A sell of more than the holding."""


def to_units(value: decimal.Decimal, scale: int) -> int:
    """A Decimal as an exact integer count of 10**-scale (it must have no finer digits)."""
    scaled = value.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {scale} decimal places")
    return int(scaled)


def units(value: int, scale: int) -> decimal.Decimal:
    """An integer count of 10**-scale as an exact Decimal (``units(150, 2) == Decimal('1.50')``)."""
    return decimal.Decimal(value).scaleb(-scale)


def round_half_even(value: Fraction, scale: int) -> decimal.Decimal:
    """``value`` rounded half-even to ``scale`` decimal places, exactly (no binary float on the way)."""
    scaled = value * 10**scale
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return units(floor, scale)


@dataclass(frozen=True)
class PositionValues:
    quantity: decimal.Decimal
    average_price: decimal.Decimal
    total_cost: decimal.Decimal


class Holding:
    """One user's holding of one coin. Quantities in units of 1e-10 coin, prices in units of 1e-8."""

    def __init__(self) -> None:
        self.quantity = 0
        self.cost = Fraction(0)  # AUD, exact

    def buy(self, quantity: int, price: int) -> None:
        self.quantity += quantity
        self.cost += Fraction(quantity * price, 10 ** (QUANTITY_SCALE + PRICE_SCALE))

    def sell(self, quantity: int) -> None:
        if quantity > self.quantity:
            raise OversellError(f"selling {quantity} units with {self.quantity} held")
        self.cost -= self.cost * Fraction(quantity, self.quantity)
        self.quantity -= quantity
        if self.quantity == 0:
            self.cost = Fraction(0)

    def fill(self, side: str, quantity: int, price: int | None) -> None:
        if side == "buy":
            if price is None:
                raise ValueError("a filled buy needs a price")
            self.buy(quantity, price)
        else:
            self.sell(quantity)

    def values(self) -> PositionValues | None:
        """The position row's values, or None when nothing is held (then no position may exist)."""
        if self.quantity <= 0:
            return None
        coins = Fraction(self.quantity, 10**QUANTITY_SCALE)
        return PositionValues(
            quantity=units(self.quantity, QUANTITY_SCALE),
            average_price=round_half_even(self.cost / coins, PRICE_SCALE),
            total_cost=round_half_even(self.cost, COST_SCALE),
        )
