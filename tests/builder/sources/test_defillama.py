"""DeFiLlama protocols to protocol_fundamentals rows: ranking, fitting, dedup, UTC-day grouping, counts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources import defillama
from omc_data.builder.sources.counts import SourceCounts

DATA = Path(__file__).parent / "data"
FETCHED = dt.datetime(2026, 11, 23, 21, 35, 0, tzinfo=dt.timezone.utc)
LONG_SLUG_CUT = "etherfi-liquid-restaking-vault-ultra-yield-strateg"


def response(body: bytes | str | list[Any], fetched_at: dt.datetime = FETCHED) -> RawResponse:
    if isinstance(body, list):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    return RawResponse("defillama", "https://api.llama.fi/protocols", 200, fetched_at, raw)


def sample() -> RawResponse:
    return response((DATA / "defillama_protocols.json").read_bytes())


def row(protocol: str, tvl: str | None, collected_at: dt.datetime = FETCHED) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "tvl_usd": None if tvl is None else Decimal(tvl),
        "fees_24h": None,
        "revenue_24h": None,
        "collected_at": collected_at,
    }


def tvls(rows: list[dict[str, Any]]) -> list[str | None]:
    """TVL as written, scale included (Decimal equality would hide 2000000000 vs 2000000000.00)."""
    return [None if r["tvl_usd"] is None else str(r["tvl_usd"]) for r in rows]


SAMPLE_SKIPPED = {"duplicate protocol": 1, "no name or slug": 1, "tvl unusable": 3}


def test_sample_all_rows_are_exact() -> None:
    counts = SourceCounts()
    rows = defillama.parse_protocols([sample()], top=100, counts=counts)
    assert rows == [
        row("Hyperdrive Bridge", "512000000.50"),  # blank slug: the name
        row("aave-v3", "31874112345.67"),
        row("balancer-v2", "2000000000.00"),
        row("broken-adapter", None),  # negative
        row("curve-dex", "2000000000.00"),
        row("eigenlayer", "12004567123.46"),  # "…123.455": half-even up (5 is odd)
        row(LONG_SLUG_CUT, "950000000.00"),  # the V1; the V2 fits to the same 50 characters
        row("ghost-vault", None),  # null
        row("glitched-oracle-farm", None),  # 1.2e21: more than 18 integer digits
        row("lido", "28443119876.00"),  # 28443119876.005 as a JSON number: half-even down, no float
        row("mystery-pool", None),  # "n/a"
        row("old-bridge", None),  # missing
        row("tiny-farm", "0.00"),
        row("uniswap-v3", "4503332211.90"),
    ]
    assert tvls(rows)[:3] == ["512000000.50", "31874112345.67", "2000000000.00"]
    assert tvls(rows)[4] == "2000000000.00"
    assert counts.to_json() == {"records": 16, "rows": 14, "rounded": 2, "skipped": SAMPLE_SKIPPED}


def test_top_n_tie_is_broken_by_name() -> None:
    counts = SourceCounts()
    rows = defillama.parse_protocols([sample()], top=5, counts=counts)
    # Curve DEX and Balancer V2 both hold 2,000,000,000 (Curve first in the document): Balancer ranks first
    assert [r["protocol"] for r in rows] == ["aave-v3", "balancer-v2", "eigenlayer", "lido", "uniswap-v3"]
    assert counts.to_json() == {"records": 16, "rows": 5, "rounded": 2, "skipped": SAMPLE_SKIPPED}


@pytest.mark.parametrize(
    ("top", "last_in"),
    [
        (6, "curve-dex"),
        (7, LONG_SLUG_CUT),
        (8, "Hyperdrive Bridge"),
        (9, "tiny-farm"),
        (10, "broken-adapter"),
    ],
)
def test_ranking_order(top: int, last_in: str) -> None:
    fewer = {r["protocol"] for r in defillama.parse_protocols([sample()], top=top - 1, counts=SourceCounts())}
    more = {r["protocol"] for r in defillama.parse_protocols([sample()], top=top, counts=SourceCounts())}
    assert more - fewer == {last_in}  # None TVL last, then by name: Broken, Ghost, Glitched, Mystery, Old


def test_ties_by_casefolded_name_then_slug() -> None:
    entries = [
        {"name": "beta", "slug": "b-1", "tvl": 7},
        {"name": "Alpha", "slug": "z-9", "tvl": "7.00"},
        {"name": "alpha", "slug": "a-1", "tvl": 7.0},
        {"name": "Zed", "slug": "zed", "tvl": None},
        {"name": "ace", "slug": "ace"},
    ]
    rank = [
        r["protocol"] for r in defillama.parse_protocols([response(entries)], top=2, counts=SourceCounts())
    ]
    assert rank == ["a-1", "z-9"]
    rest = defillama.parse_protocols([response(entries)], top=4, counts=SourceCounts())
    assert [r["protocol"] for r in rest] == ["a-1", "ace", "b-1", "z-9"]  # ace (None) before Zed (None)


def test_duplicates_keep_the_higher_ranked() -> None:
    entries = [
        {"name": "Low", "slug": "same", "tvl": 1},
        {"name": "High", "slug": "same", "tvl": 2},
        {"name": "same", "slug": None, "tvl": 3},  # the name fits to the same protocol
        {"name": "Case", "slug": "SAME", "tvl": 0},  # the column is case-sensitive: not a duplicate
    ]
    counts = SourceCounts()
    rows = defillama.parse_protocols([response(entries)], top=10, counts=counts)
    assert rows == [row("SAME", "0.00"), row("same", "3.00")]
    assert counts.to_json() == {"records": 4, "rows": 2, "rounded": 0, "skipped": {"duplicate protocol": 2}}


def test_entries_without_a_name_or_slug_and_unusable_tvl() -> None:
    entries = [
        None,
        "aave",
        [1],
        {"tvl": 5},
        {"name": "  ", "slug": "", "tvl": 5},
        {"name": 7, "slug": ["x"], "tvl": 5},
        {"name": "Flag", "slug": "flag", "tvl": True},
        {"name": "Inf", "slug": "inf", "tvl": "Infinity"},
        {"name": "Spaced", "slug": " ", "tvl": " 12.5 "},
        {"name": "Exp", "slug": "exp", "tvl": "1.2345e3"},
        {"name": "Max", "slug": "max", "tvl": "999999999999999999.994"},
        {"name": "Over", "slug": "over", "tvl": "999999999999999999.995"},
    ]
    counts = SourceCounts()
    rows = defillama.parse_protocols([response(entries)], top=10, counts=counts)
    assert rows == [
        row("Spaced", "12.50"),
        row("exp", "1234.50"),
        row("flag", None),
        row("inf", None),
        row("max", "999999999999999999.99"),
        row("over", None),
    ]
    assert counts.to_json() == {
        "records": 12,
        "rows": 6,
        "rounded": 1,
        "skipped": {"no name or slug": 6, "tvl unusable": 3},
    }


def test_only_the_latest_response_of_each_utc_day_is_read() -> None:
    early = response(
        [{"name": "Early", "slug": "early", "tvl": 5}, "not read"],
        dt.datetime(2026, 11, 23, 8, tzinfo=dt.timezone.utc),
    )
    late_at = dt.datetime(2026, 11, 23, 20, tzinfo=dt.timezone.utc)
    late = response(
        [{"name": "Lido", "slug": "lido", "tvl": 10}, {"name": "Aave", "slug": "aave", "tvl": "20.005"}],
        late_at,
    )
    next_at = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.timezone.utc)
    following = response([{"name": "Lido", "slug": "lido", "tvl": 11}, None], next_at)
    counts = SourceCounts()
    rows = defillama.parse_protocols([late, following, early], top=10, counts=counts)
    assert rows == [
        row("aave", "20.00", late_at),
        row("lido", "10.00", late_at),
        row("lido", "11.00", next_at),
    ]
    assert counts.to_json() == {"records": 4, "rows": 3, "rounded": 1, "skipped": {"no name or slug": 1}}


def test_utc_day_of_an_offset_timestamp_and_equal_times() -> None:
    utc = response([{"slug": "utc"}], dt.datetime(2026, 11, 23, 20, tzinfo=dt.timezone.utc))
    sydney_at = dt.datetime(
        2026, 11, 24, 9, tzinfo=dt.timezone(dt.timedelta(hours=10))
    )  # 23:00 UTC on the 23rd
    sydney = response([{"slug": "sydney"}], sydney_at)
    rows = defillama.parse_protocols([sydney, utc], top=10, counts=SourceCounts())
    assert rows == [row("sydney", None, sydney_at)]
    again = response([{"slug": "again"}], sydney_at)
    rows = defillama.parse_protocols([sydney, again], top=10, counts=SourceCounts())
    assert rows == [row("again", None, sydney_at)]  # equal fetch times: the later in the sequence


def test_an_unread_response_is_not_checked_but_a_read_one_is() -> None:
    old = response(b"<html>", dt.datetime(2026, 11, 23, 1, tzinfo=dt.timezone.utc))
    rows = defillama.parse_protocols([old, response([{"slug": "x", "tvl": 1}])], top=1, counts=SourceCounts())
    assert rows == [row("x", "1.00")]
    with pytest.raises(ValueError, match="DeFiLlama response is not JSON"):
        defillama.parse_protocols([response(b"<html>")], top=1, counts=SourceCounts())


def test_top_zero_and_negative() -> None:
    counts = SourceCounts()
    assert defillama.parse_protocols([sample()], top=0, counts=counts) == []
    assert counts.to_json() == {"records": 16, "rows": 0, "rounded": 0, "skipped": SAMPLE_SKIPPED}
    with pytest.raises(ValueError, match="top"):
        defillama.parse_protocols([sample()], top=-1, counts=SourceCounts())
    assert defillama.parse_protocols([], top=10, counts=SourceCounts()) == []


def test_check() -> None:
    defillama.check((DATA / "defillama_protocols.json").read_bytes())
    defillama.check(b"[]")
    for body, message in [
        (b'{"message": "Internal server error"}', "DeFiLlama response is a JSON object, expected an array"),
        (b'"protocols"', "DeFiLlama response is a JSON str, expected an array"),
        (b"", "DeFiLlama response is not JSON (Expecting value"),
        (b"[1, 2", "DeFiLlama response is not JSON ("),
    ]:
        with pytest.raises(ValueError) as caught:
            defillama.check(body)
        assert str(caught.value).startswith(message)
        assert "\n" not in str(caught.value)
