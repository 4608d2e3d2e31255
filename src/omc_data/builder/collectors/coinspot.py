"""Coinspot ``GET /pubapi/v2/latest``: one quote (bid, ask, last) per coin.

Coinspot keys lower-cased as the app stores them; values may arrive as strings, numbers or exponents;
decimals are rounded half-even to the column scale (count the rounded ones); a malformed coin entry is
skipped and counted, never fatal for the rest.

- A key is ``coin_type`` (varchar(20)): an empty or longer key is skipped. When keys collide once
  lower-cased (``BTC`` and ``btc``), the one already in lower case (Coinspot's own) is kept, else the
  first in the document; the others are skipped as ``duplicate coin key``.
- A value is read from its text (JSON parsed with Decimal numbers, never floats) and must be finite, not
  negative, and fit numeric(20, 8): at most 12 integer digits once rounded. Zero is allowed.
- bid <= last <= ask is not enforced: real data is kept, the checks report it.
"""

from __future__ import annotations

from typing import Any

from omc_data.builder.collectors.counts import (
    SourceCounts,
    fit_decimal,
    load_json,
    one_line,
    read_number,
)
from omc_data.builder.collectors.raw import RawResponse
from omc_data.domain.trading import to_units

SCALE = 8  # numeric(20, 8); values are returned as int units of 1e-8
INTEGER_DIGITS = 12
KEY_LENGTH = 20  # varchar(20)
FIELDS = ("bid", "ask", "last")
Quote = tuple[int, int, int]  # bid, ask, last in units of 1e-8


class _Object(dict[str, Any]):
    """A JSON object that also keeps every (key, value) pair in document order, duplicates included."""

    pairs: list[tuple[str, Any]]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    obj.pairs = pairs
    return obj


def _prices(body: bytes) -> _Object:
    try:
        doc = load_json(body, object_pairs_hook=_object)
    except ValueError as exc:
        raise ValueError(f"Coinspot response is not JSON ({one_line(str(exc))})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"Coinspot response is a JSON {type(doc).__name__}, not an object")
    status = doc.get("status")
    if status != "ok":
        message = doc.get("message")
        if message is not None and str(message).strip():
            raise ValueError(f"Coinspot said: {one_line(str(message))}")
        raise ValueError(f"Coinspot status {one_line(repr(status))}, expected 'ok'")
    prices = doc.get("prices")
    if not isinstance(prices, _Object):
        raise ValueError("Coinspot response has no 'prices' object")
    return prices


def check(body: bytes) -> None:
    """ValueError with a one-line reason unless ``{"status": "ok", "prices": {...}}``.

    ``{"status": "error", "message": m}`` gives ``Coinspot said: m``.
    """
    _prices(body)


def parse_latest(response: RawResponse, counts: SourceCounts) -> dict[str, Quote]:
    """Quotes by lower-case coin key, sorted by key; ValueError (as :func:`check`) for a body that is not
    a price list. ``counts.records`` += coin entries, ``counts.rows`` += quotes returned."""
    entries = _prices(response.body).pairs
    counts.records += len(entries)
    chosen: dict[str, tuple[str, Any]] = {}
    for key, entry in entries:
        coin = key.lower()
        if not coin.strip():
            counts.skip("coin key empty")
            continue
        if len(coin) > KEY_LENGTH:
            counts.skip(f"coin key longer than {KEY_LENGTH} characters")
            continue
        held = chosen.get(coin)
        if held is not None:
            counts.skip("duplicate coin key")
            if held[0] == coin or key != coin:
                continue
        chosen[coin] = (key, entry)
    quotes: dict[str, Quote] = {}
    for coin in sorted(chosen):
        try:
            quote, rounded = _quote(chosen[coin][1])
        except ValueError as exc:
            counts.skip(f"malformed entry: {exc}")
            continue
        quotes[coin] = quote
        counts.rounded += rounded
    counts.rows += len(quotes)
    return quotes


def _quote(entry: object) -> tuple[Quote, int]:
    """(bid, ask, last) in units, and how many of them rounding changed; ValueError(short reason)."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    if any(name not in entry for name in FIELDS):
        raise ValueError("missing bid, ask or last")
    values: list[int] = []
    rounded = 0
    for name in FIELDS:
        number, changed = fit_decimal(read_number(entry[name]), scale=SCALE, integer_digits=INTEGER_DIGITS)
        values.append(to_units(number, SCALE))
        rounded += changed
    return (values[0], values[1], values[2]), rounded
