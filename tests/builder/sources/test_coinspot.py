"""Coinspot latest prices to quotes: key rules, exact decimal reading, half-even rounding, skip counts."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources import coinspot
from omc_data.builder.sources.counts import SourceCounts

DATA = Path(__file__).parent / "data"
FETCHED = dt.datetime(2026, 11, 23, 21, 35, 0, tzinfo=dt.timezone.utc)


def response(body: bytes | str) -> RawResponse:
    raw = body.encode() if isinstance(body, str) else body
    return RawResponse("coinspot", "https://www.coinspot.com.au/pubapi/v2/latest", 200, FETCHED, raw)


def prices(entries: str) -> str:
    return '{"status": "ok", "message": "ok", "prices": {' + entries + "}}"


def parse(entries: str) -> tuple[dict[str, coinspot.Quote], SourceCounts]:
    counts = SourceCounts()
    return coinspot.parse_latest(response(prices(entries)), counts), counts


def test_sample_quotes_and_counts_are_exact() -> None:
    counts = SourceCounts()
    quotes = coinspot.parse_latest(response((DATA / "coinspot_latest.json").read_bytes()), counts)
    assert quotes == {
        "aave": (45210000000, 45790000000, 45500000000),
        "ada": (104120000, 105330000, 104880000),  # 1.048800005 as a JSON number: tie, down to even
        "btc": (13987412000000, 14031055000000, 14010200000000),  # Coinspot's own key beats "BTC"
        "doge": (32912000, 33301002, 33100000),  # ...0|5 stays, ...1|5 goes up: half-even
        "eth": (472110000000, 473890000000, 473002000000),
        "link": (2811400000, 2840200000, 2825000000),  # "LINK" lower-cased
        "lunc": (0, 1, 0),  # zero is allowed
        "pepe": (19, 20, 19),  # 19.4, 19.5, 19.25 units
        "shib": (3421, 3502, 3460),  # exponents as strings and numbers
        "sol": (31877000000, 32041000000, 31950000000),
        "usdt": (152010000, 153290000, 153000000),
        "xrp": (368020000, 370110000, 369500000),
    }
    assert list(quotes) == sorted(quotes)
    assert counts.to_json() == {
        "records": 21,
        "rows": 12,
        "rounded": 6,
        "skipped": {
            "coin key longer than 20 characters": 1,
            "duplicate coin key": 1,
            "malformed entry: missing bid, ask or last": 1,
            "malformed entry: negative value": 1,
            "malformed entry: not a number": 1,
            "malformed entry: not an object": 1,
            "malformed entry: not finite": 1,
            "malformed entry: null value": 1,
            "malformed entry: too many integer digits": 1,
        },
    }
    assert list(counts.to_json()["skipped"]) == sorted(counts.skipped)


def test_lower_case_key_wins_wherever_it_is() -> None:
    quotes, counts = parse(
        '"BTC": {"bid": 1, "ask": 1, "last": 1}, "btc": {"bid": 2, "ask": 2, "last": 2},'
        ' "Eth": {"bid": 3, "ask": 3, "last": 3}, "ETH": {"bid": 4, "ask": 4, "last": 4},'
        ' "sol": {"bid": 5, "ask": 5, "last": 5}, "sol": {"bid": 6, "ask": 6, "last": 6}'
    )
    # no lower-case "eth": the first in the document; exact duplicate keys: the first too
    assert quotes == {"btc": (2 * 10**8,) * 3, "eth": (3 * 10**8,) * 3, "sol": (5 * 10**8,) * 3}
    assert counts.to_json() == {"records": 6, "rows": 3, "rounded": 0, "skipped": {"duplicate coin key": 3}}


def test_a_malformed_winner_is_not_replaced_by_its_duplicate() -> None:
    quotes, counts = parse(
        '"btc": {"bid": null, "ask": 1, "last": 1}, "BTC": {"bid": 1, "ask": 1, "last": 1}'
    )
    assert quotes == {}
    assert counts.skipped == {"duplicate coin key": 1, "malformed entry: null value": 1}


def test_keys_empty_blank_or_too_long_are_skipped() -> None:
    entry = '{"bid": "1", "ask": "1", "last": "1"}'
    quotes, counts = parse(f'"": {entry}, " ": {entry}, "{"a" * 20}": {entry}, "{"b" * 21}": {entry}')
    assert quotes == {"a" * 20: (10**8,) * 3}
    assert counts.skipped == {"coin key empty": 2, "coin key longer than 20 characters": 1}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("null", "null value"),
        ("true", "not a number"),
        ("[1]", "not a number"),
        ('{"v": 1}', "not a number"),
        ('""', "not a number"),
        ('"1,5"', "not a number"),
        ('"1_000"', "not a number"),  # Decimal() would read it
        ('"\\u0661\\u0662"', "not a number"),  # Arabic-Indic digits: Decimal() would read them too
        ('"0x10"', "not a number"),
        ("NaN", "not finite"),
        ("Infinity", "not finite"),
        ("-Infinity", "not finite"),
        ('"nan"', "not finite"),
        ('"-inf"', "not finite"),
        ('"1e-9999999999999999999"', "exponent out of range"),
        ("1e9999999999999999999", "exponent out of range"),
        ("1e999999999999999999", "too many integer digits"),
        ("-0.5", "negative value"),
        ('"-0.000000001"', "negative value"),
        ('"1000000000000"', "too many integer digits"),
        ('"999999999999.999999995"', "too many integer digits"),  # rounds up to 13 digits
        ("1.2e+21", "too many integer digits"),
    ],
)
def test_a_malformed_value_skips_only_its_coin(value: str, reason: str) -> None:
    quotes, counts = parse(
        f'"bad": {{"bid": "1", "ask": {value}, "last": "1"}}, "ok": {{"bid": 1, "ask": 2, "last": 1}}'
    )
    assert quotes == {"ok": (10**8, 2 * 10**8, 10**8)}
    assert counts.to_json() == {
        "records": 2,
        "rows": 1,
        "rounded": 0,
        "skipped": {f"malformed entry: {reason}": 1},
    }


@pytest.mark.parametrize(
    ("value", "units", "rounded"),
    [
        ('"0"', 0, 0),
        ("0", 0, 0),
        ('"-0"', 0, 0),
        ("-0.0", 0, 0),
        ('" 1.5 "', 150000000, 0),
        ('"+2"', 200000000, 0),
        ('".5"', 50000000, 0),
        ('"5."', 500000000, 0),
        ('"1E-9"', 0, 1),
        ("1e-999999999999999999", 0, 1),
        ('"0.000000005"', 0, 1),  # tie: to even 0
        ('"0.000000015"', 2, 1),  # tie: to even 2
        ('"0.0000000150000001"', 2, 1),
        ('"0.000000025"', 2, 1),
        ("0.1", 10000000, 0),  # a JSON number: no binary float on the way
        ("999999999999.99999999", 99999999999999999999, 0),
        ('"999999999999.999999994"', 99999999999999999999, 1),
        ('"12.3456789012345678901234567890123456789"', 1234567890, 1),
        ("3.46e-05", 3460, 0),
        ('"3.46E-05"', 3460, 0),
    ],
)
def test_value_forms(value: str, units: int, rounded: int) -> None:
    quotes, counts = parse(f'"x": {{"bid": {value}, "ask": {value}, "last": {value}}}')
    assert quotes == {"x": (units, units, units)}
    assert counts.rounded == 3 * rounded


def test_bid_last_ask_order_is_not_enforced() -> None:
    quotes, counts = parse('"odd": {"bid": "3", "ask": "1", "last": "2"}')
    assert quotes == {"odd": (3 * 10**8, 10**8, 2 * 10**8)}
    assert counts.skipped == {}


def test_rounding_is_counted_only_for_quotes_kept() -> None:
    quotes, counts = parse('"x": {"bid": "0.000000015", "ask": "0.000000025", "last": "n/a"}')
    assert quotes == {}
    assert counts.rounded == 0


def test_counts_accumulate_over_responses() -> None:
    counts = SourceCounts()
    body = prices('"btc": {"bid": "1.000000005", "ask": 2, "last": 1}, "x": 1')
    coinspot.parse_latest(response(body), counts)
    coinspot.parse_latest(response(body), counts)
    assert counts.to_json() == {
        "records": 4,
        "rows": 2,
        "rounded": 2,
        "skipped": {"malformed entry: not an object": 2},
    }


def test_empty_prices() -> None:
    quotes, counts = parse("")
    assert quotes == {}
    assert counts.to_json() == {"records": 0, "rows": 0, "rounded": 0, "skipped": {}}


def test_check_accepts_a_price_list() -> None:
    coinspot.check((DATA / "coinspot_latest.json").read_bytes())
    coinspot.check(b'{"status": "ok", "prices": {}}')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status": "error", "message": "Invalid coin type"}', "Coinspot said: Invalid coin type"),
        (b'{"status": "error", "message": "rate\\n  limited"}', "Coinspot said: rate limited"),
        (b'{"status": "error"}', "Coinspot status 'error', expected 'ok'"),
        (b'{"prices": {}}', "Coinspot status None, expected 'ok'"),
        (b'{"status": "ok", "message": "ok"}', "Coinspot response has no 'prices' object"),
        (b'{"status": "ok", "prices": []}', "Coinspot response has no 'prices' object"),
        (b'[{"status": "ok"}]', "Coinspot response is a JSON list, not an object"),
        (b"<html>502 Bad Gateway</html>", "Coinspot response is not JSON (Expecting value"),
        (b"\xff\xfe\x00", "Coinspot response is not JSON ("),
        (b"[" * 100_000 + b"]" * 100_000, "Coinspot response is not JSON (JSON nested too deeply)"),
    ],
)
def test_check_refuses_with_one_line(body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        coinspot.check(body)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"^Coinspot"):
        coinspot.parse_latest(response(body), SourceCounts())


def test_source_counts() -> None:
    counts = SourceCounts()
    counts.skip("b reason")
    counts.skip("a reason", 3)
    counts.skip("b reason", 0)
    counts.skip("c reason", 0)
    assert counts.to_json() == {
        "records": 0,
        "rows": 0,
        "rounded": 0,
        "skipped": {"a reason": 3, "b reason": 1},
    }
    assert list(counts.to_json()["skipped"]) == ["a reason", "b reason"]
    with pytest.raises(ValueError):
        counts.skip("a reason", -1)


# -- any value in numeric(20, 8), written as Coinspot might write it, gives the half-even units --

_values = st.builds(
    lambda coefficient, exponent: decimal.Decimal(coefficient).scaleb(exponent),
    st.integers(0, 10**21),
    st.integers(-22, 6),
).filter(lambda d: d < decimal.Decimal("999999999999.999999995"))


def _expected_units(value: decimal.Decimal) -> int:
    with decimal.localcontext() as ctx:
        ctx.prec = 100
        return int((value * 10**8).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_EVEN))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(_values)
def test_any_rendering_reads_back_to_the_half_even_units(value: decimal.Decimal) -> None:
    plain, exponent = format(value, "f"), format(value, "e")
    renderings = [
        json.dumps(str(value)),  # a string, perhaps "1.2E-7"
        json.dumps(plain),  # a string "0.00000012"
        json.dumps(exponent),  # a string "1.2e-7"
        plain,  # a JSON number 0.00000012
        exponent,  # a JSON number 1.2e-7
        str(value),  # a JSON number 1.2E-7 / 12
    ]
    entries = ", ".join(
        f'"c{i}": {{"bid": {text}, "ask": {text}, "last": {text}}}' for i, text in enumerate(renderings)
    )
    quotes, counts = parse(entries)
    units = _expected_units(value)
    assert quotes == {f"c{i}": (units, units, units) for i in range(len(renderings))}
    changed = value.quantize(decimal.Decimal("1e-8"), context=decimal.Context(prec=100)) != value
    assert counts.rounded == (3 * len(renderings) if changed else 0)
    assert counts.skipped == {}
