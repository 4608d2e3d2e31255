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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources.counts import (
    SourceCounts,
    fit_decimal,
    load_json,
    one_line,
    read_number,
)
from omc_data.builder.sources.model import Parsed, Reading, Source
from omc_data.domain.trading import to_units
from omc_data.snapshots.timefmt import format_timestamp

if TYPE_CHECKING:  # the generators load lazily: the CLI reads the registry for its options
    from omc_data.builder.generators.spec import Spec
    from omc_data.builder.generators.world import Quote as TickQuote

SCALE = 8  # numeric(20, 8); values are returned as int units of 1e-8
INTEGER_DIGITS = 12
KEY_LENGTH = 20  # varchar(20)
FIELDS = ("bid", "ask", "last")
Quote = tuple[int, int, int]  # bid, ask, last in units of 1e-8
MAX_UNITS = 2**63 - 1  # int64 units of 1e-8: 92 billion AUD, far beyond any coin
# A history coin's walk is scaled through its real ticks, and its orders are priced from them: a quote
# below 1e-5 AUD cannot hold a price within 2% at 8 decimals, one above 1e8 AUD would overflow the
# walk. Such a quote is left out of the history (counted); a coin without a history keeps it.
HISTORY_UNITS = (1_000, 10**16)
MAX_GAP_GROUPS = 50


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


def prices(spec: Spec, responses: Sequence[RawResponse], counts: SourceCounts, reading: Reading) -> Parsed:
    """Quotes by coin and tick (µs since the epoch): a live build stamps its one response at the
    build's ``as_of`` tick; a ``collected`` build stamps each response at its own fetch tick (its fetch
    time floored to 5 minutes), a (coin, tick) seen twice keeps the earliest fetch, and ticks outside the
    history window are left out and counted. A collected build with synthetic stand-ins records the
    history coins' ticks with no real quote as ``gaps``."""
    quotes = _ticks(spec, responses, counts, stamp_at_fetch=reading.collected)
    record: dict[str, Any] = {}
    if reading.collected and reading.synthetic:
        gaps, gap_ticks = _gaps(spec, quotes)
        if gaps:
            record = {"synthetic_ticks": gap_ticks, "gaps": gaps}
    return Parsed(quotes, record)


def _ticks(
    spec: Spec, responses: Sequence[RawResponse], counts: SourceCounts, *, stamp_at_fetch: bool
) -> dict[str, dict[int, TickQuote]]:
    from omc_data.builder.generators.coins import top_coins
    from omc_data.builder.generators.spec import floor_tick

    prices: dict[str, dict[int, TickQuote]] = {}
    lo = spec.first_tick
    history = {c.key for c in top_coins(spec.coins)}
    for response in responses:  # oldest fetch first: a (coin, tick) seen again keeps the first
        tick = floor_tick(response.fetched_at) if stamp_at_fetch else spec.as_of_tick
        quotes = parse_latest(response, counts)
        if not lo <= tick <= spec.as_of_tick:
            counts.skip("tick outside the history window", len(quotes))
            continue
        stamp = int(tick.timestamp()) * 1_000_000
        for coin, quote in quotes.items():
            if max(quote) > MAX_UNITS:
                counts.skip("price beyond 92 billion AUD")
            elif coin in history and not HISTORY_UNITS[0] <= quote[2] <= HISTORY_UNITS[1]:
                counts.skip("history coin's last price outside 0.00001..100,000,000 AUD")
            elif stamp in prices.setdefault(coin, {}):
                counts.skip("second quote for the same coin and tick")
            else:
                prices[coin][stamp] = quote
    counts.rows = sum(len(t) for t in prices.values())
    return {coin: ticks for coin, ticks in prices.items() if ticks}


def _gaps(spec: Spec, prices: Mapping[str, Mapping[int, TickQuote]]) -> tuple[list[dict[str, Any]], int]:
    """The history coins' ticks with no real quote (filled by the walk), as ranges grouped by coins."""
    import numpy as np  # deferred with the price walk: the CLI reads the registry for its options

    from omc_data.builder.generators.prices import History, tick_count
    from omc_data.builder.generators.spec import TICK

    history = History(spec, prices)
    groups: dict[tuple[tuple[int, int], ...], list[str]] = {}
    total = 0
    for coin in sorted(history.keys):
        present = np.zeros(tick_count(spec), dtype=bool)
        present[list(history.real_ticks(coin))] = True
        missing = np.flatnonzero(~present)
        total += len(missing)
        if not len(missing):
            continue
        breaks = np.flatnonzero(np.diff(missing) != 1)
        starts = np.concatenate([[missing[0]], missing[breaks + 1]])
        ends = np.concatenate([missing[breaks], [missing[-1]]])
        groups.setdefault(tuple(zip(starts.tolist(), ends.tolist(), strict=True)), []).append(coin)

    def at(index: int) -> str:
        return format_timestamp(spec.first_tick + TICK * index)

    out = [
        {
            "coins": coins,
            "ticks": sum(e - s + 1 for s, e in ranges),
            "ranges": [{"from": at(s), "to": at(e), "ticks": e - s + 1} for s, e in ranges[:MAX_GAP_GROUPS]],
            **({"more_ranges": len(ranges) - MAX_GAP_GROUPS} if len(ranges) > MAX_GAP_GROUPS else {}),
        }
        for ranges, coins in sorted(groups.items(), key=lambda kv: kv[1])
    ]
    return out, total


SOURCE = Source(
    name="coinspot",
    tables=("price_data_5min",),
    endpoint="https://www.coinspot.com.au/pubapi/v2/latest",
    endpoint_env="OMC_DATA_COINSPOT_URL",
    check=check,
    parse=prices,
    real_field="prices",
    schedule="every_run",
    leads_as_of=True,
)
