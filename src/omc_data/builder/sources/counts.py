"""What a mapping from responses to rows saw, produced, rounded and skipped; and the readers it shares.

:class:`SourceCounts` goes into the manifest per source. The helpers read JSON without float rounding
(every number an exact :class:`~decimal.Decimal`), read a decimal from a JSON number or a numeric string,
and fit it to a ``numeric(p, s)`` column: rounded half-even to the scale, too many integer digits refused.
"""

from __future__ import annotations

import decimal
import json
import re
from dataclasses import dataclass, field
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
# exact for anything fitted here (at most 18 integer digits and 8 decimals), whatever the caller's context
_CONTEXT = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
MESSAGE_LENGTH = 200


@dataclass
class SourceCounts:
    """Per source: entries seen, rows produced, values rounded, and entries skipped by reason."""

    records: int = 0  # entries seen in the responses (coins / protocols / posts)
    rows: int = 0  # rows produced
    rounded: int = 0  # decimal values rounded half-even to the column's scale
    skipped: dict[str, int] = field(
        default_factory=dict
    )  # reason -> count, reasons are short readable phrases

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` entries under ``reason``; ``n == 0`` records nothing."""
        if n < 0:
            raise ValueError(f"cannot skip {n} entries")
        if n:
            self.skipped[reason] = self.skipped.get(reason, 0) + n

    def to_json(self) -> dict[str, Any]:
        """``{"records", "rows", "rounded", "skipped": {reason: n}}``, reasons sorted."""
        return {
            "records": self.records,
            "rows": self.rows,
            "rounded": self.rounded,
            "skipped": {reason: self.skipped[reason] for reason in sorted(self.skipped)},
        }


def _exact(text: str) -> decimal.Decimal | str:
    """A JSON number as an exact Decimal; its text when Decimal cannot hold the exponent."""
    try:
        return decimal.Decimal(text)
    except ArithmeticError:
        return text  # read_number says "exponent out of range"


def load_json(body: bytes, **options: Any) -> Any:
    """The body as JSON with every number an exact Decimal (never a float); ValueError when not JSON."""
    hooks: dict[str, Any] = {"parse_float": _exact, "parse_int": _exact, "parse_constant": decimal.Decimal}
    try:
        return json.loads(body, **{**hooks, **options})
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def one_line(text: str) -> str:
    """Whitespace collapsed, cut to MESSAGE_LENGTH characters: fit for a one-line reason."""
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LENGTH else line[: MESSAGE_LENGTH - 1] + "…"


def read_number(value: object) -> decimal.Decimal:
    """An exact finite Decimal from a JSON number or a numeric string (``"1.5"``, ``"3.46e-05"``).

    ValueError with a short reason otherwise: null value, not a number, not finite, exponent out of range.
    Strings are read as written, never through a float; a float is read from its shortest repr.
    """
    if value is None:
        raise ValueError("null value")
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, decimal.Decimal):
        number = value
    elif isinstance(value, int):
        number = decimal.Decimal(value)
    elif isinstance(value, float):
        number = decimal.Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text) is None:
            raise ValueError("not finite" if text.lower().lstrip("+-") in _NOT_FINITE else "not a number")
        try:
            number = decimal.Decimal(text)
        except ArithmeticError:
            raise ValueError("exponent out of range") from None
    else:
        raise ValueError("not a number")
    if not number.is_finite():
        raise ValueError("not finite")
    return number


def fit_decimal(number: decimal.Decimal, *, scale: int, integer_digits: int) -> tuple[decimal.Decimal, bool]:
    """``number`` rounded half-even to ``scale`` decimals, and whether rounding changed it.

    ValueError("negative value") below zero, ValueError("too many integer digits") when the rounded value
    needs more than ``integer_digits`` digits before the point (``numeric(integer_digits + scale, scale)``).
    """
    if number < 0:
        raise ValueError("negative value")
    limit = decimal.Decimal(1).scaleb(integer_digits)
    if number >= limit:
        raise ValueError("too many integer digits")
    rounded = number.quantize(decimal.Decimal(1).scaleb(-scale), context=_CONTEXT).copy_abs()  # no -0
    if rounded >= limit:
        raise ValueError("too many integer digits")
    return rounded, rounded != number
