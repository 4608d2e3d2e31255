"""CryptoPanic pages to news_sentiment rows: v1 and v2 shapes, url dedup, sentiment, limit, next links."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.sources import cryptopanic
from omc_data.builder.sources.counts import SourceCounts

DATA = Path(__file__).parent / "data"
PAGE1_AT = dt.datetime(2026, 11, 23, 21, 35, 0, tzinfo=dt.timezone.utc)
PAGE2_AT = dt.datetime(2026, 11, 23, 21, 35, 2, tzinfo=dt.timezone.utc)
V2_AT = dt.datetime(2026, 11, 24, 8, 10, 0, tzinfo=dt.timezone.utc)
NEWS = "https://cryptopanic.com/news/"


def response(body: bytes | str | dict[str, Any], fetched_at: dt.datetime = PAGE1_AT) -> RawResponse:
    if isinstance(body, dict):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    return RawResponse(
        "cryptopanic", "https://cryptopanic.com/api/v1/posts/?public=true", 200, fetched_at, raw
    )


def data(name: str, fetched_at: dt.datetime) -> RawResponse:
    return response((DATA / name).read_bytes(), fetched_at)


def v1_pages() -> list[RawResponse]:
    return [data("cryptopanic_v1_page1.json", PAGE1_AT), data("cryptopanic_v1_page2.json", PAGE2_AT)]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def news(
    path: str,
    title: str,
    source: str | None,
    published_at: str | None,
    sentiment: str | None,
    score: str | None,
    currencies: list[str],
    total_votes: int,
    collected_at: dt.datetime = PAGE1_AT,
) -> dict[str, Any]:
    return {
        "title": title,
        "source": source,
        "url": NEWS + path,
        "published_at": None if published_at is None else at(published_at),
        "sentiment": sentiment,
        "sentiment_score": None if score is None else Decimal(score),
        "currencies": currencies,
        "collected_at": collected_at,
        "total_votes": total_votes,
    }


CARDANO = news(
    "24014100/Cardano-community-votes-on-treasury-withdrawal",
    "Cardano community votes on treasury withdrawal",
    None,  # source null
    None,  # published_at null: kept, sorted first
    "neutral",
    "0.0000",
    ["ADA"],
    4,  # saved and comments are not votes
)
POLKADOT = news(
    "24012500/Polkadot-parachain-auction-results",
    "Polkadot parachain auction results",
    "CryptoSlate",
    "2026-11-23T10:15:00",
    "neutral",  # (3 - 2) / 5 = 0.2 is not above 0.2
    "0.2000",
    ["DOT"],
    5,
    PAGE2_AT,
)
HACK = news(
    "24013000/Exchange-hack-drains-40M-in-hot-wallet-funds",
    "Exchange hack drains $40M in hot wallet funds",
    "BeInCrypto",
    "2026-11-23T12:45:30",
    "negative",  # pos 1, neg toxic 5: -4 / 6
    "-0.6667",
    ["ETH", "USDT"],
    9,  # 1 + 3 important + 5
    PAGE2_AT,
)
XRP = news(
    "24014650/XRP-Ledger-amendment-goes-live-on-mainnet",  # no url field: built from id and slug
    "XRP Ledger amendment goes live on mainnet",
    "Cointelegraph",
    "2026-11-23T16:30:00",
    "positive",  # positive "5" is unreadable (0); liked 1
    "1.0000",
    ["XRP"],  # "xrp" and "XRP"
    3,
)
REGULATORS = news(
    "24014977/Regulators-publish-stablecoin-reserve-guidance",
    "Regulators publish stablecoin reserve guidance",
    "Decrypt",
    "2026-11-23T17:40:00",
    None,  # no votes
    None,
    [],  # no currencies
    0,
)
BRIDGE = news(
    "24015320/Ethereum-and-Solana-developers-ship-cross-chain-bridge-audit",
    "Ethereum and Solana developers ship cross-chain bridge audit",
    "The Block",
    "2026-11-23T19:02:44",
    "negative",  # pos 2, neg 3 + 1 disliked: -2 / 6
    "-0.3333",
    ["ETH", "SOL"],
    6,
)
BITCOIN = news(
    "24015501/Bitcoin-climbs-past-92K-as-ETF-inflows-return",
    "Bitcoin climbs past $92K as ETF inflows return",
    "CoinDesk",
    "2026-11-23T21:14:05",
    "positive",  # pos 14 + 3 liked = 17, neg 1: 16 / 18
    "0.8889",
    ["BTC"],
    24,  # 1 + 14 + 6 + 3, not saved 2 or comments 1
)


def test_v1_pages_rows_and_counts_are_exact() -> None:
    counts = SourceCounts()
    rows = cryptopanic.parse_posts(v1_pages(), limit=100, counts=counts)
    assert rows == [CARDANO, POLKADOT, HACK, XRP, REGULATORS, BRIDGE, BITCOIN]
    assert counts.to_json() == {
        "records": 11,
        "rows": 7,
        "rounded": 0,
        "skipped": {
            "duplicate url": 1,  # page 2 repeats the Bitcoin post: the first (15 → 14 positive votes) wins
            "no title": 1,
            "no url": 1,
            "published_at unreadable": 1,
            "votes unreadable": 1,  # a count, the XRP post is kept
        },
    }


@pytest.mark.parametrize(
    ("limit", "expected", "records", "skipped"),
    [
        (0, [], 0, {}),
        (1, [BITCOIN], 1, {}),
        (3, [REGULATORS, BRIDGE, BITCOIN], 3, {}),
        (4, [XRP, REGULATORS, BRIDGE, BITCOIN], 5, {"no title": 1, "votes unreadable": 1}),
        (
            6,
            [CARDANO, HACK, XRP, REGULATORS, BRIDGE, BITCOIN],
            9,
            {"duplicate url": 1, "no title": 1, "published_at unreadable": 1, "votes unreadable": 1},
        ),
    ],
)
def test_limit_stops_counting(
    limit: int, expected: list[dict[str, Any]], records: int, skipped: dict[str, int]
) -> None:
    counts = SourceCounts()
    assert cryptopanic.parse_posts(v1_pages(), limit=limit, counts=counts) == expected
    assert counts.to_json() == {"records": records, "rows": len(expected), "rounded": 0, "skipped": skipped}


def test_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit"):
        cryptopanic.parse_posts(v1_pages(), limit=-1, counts=SourceCounts())


def test_v2_instruments() -> None:
    counts = SourceCounts()
    rows = cryptopanic.parse_posts([data("cryptopanic_v2_page1.json", V2_AT)], limit=100, counts=counts)
    assert rows == [
        {**BITCOIN, "collected_at": V2_AT},
        news(
            "24016010/Stablecoin-supply-hits-record",
            "Stablecoin supply hits record",
            "Blockworks",
            "2026-11-24T07:30:00",
            None,
            None,
            [],  # instruments []
            0,  # votes null
            V2_AT,
        ),
        news(
            "24016002/Arbitrum-DAO-approves-Ethereum-staking-proposal",
            "Arbitrum DAO approves Ethereum staking proposal",
            "The Defiant",
            "2026-11-24T08:03:11",
            None,  # all votes zero
            None,
            ["ARB", "ETH"],
            0,
            V2_AT,
        ),
    ]
    assert counts.to_json() == {"records": 3, "rows": 3, "rounded": 0, "skipped": {}}


def test_url_is_deduplicated_across_versions_and_pages() -> None:
    counts = SourceCounts()
    pages = [data("cryptopanic_v2_page1.json", V2_AT), *v1_pages()]
    rows = cryptopanic.parse_posts(pages, limit=100, counts=counts)
    assert [r for r in rows if r["url"] == BITCOIN["url"]] == [{**BITCOIN, "collected_at": V2_AT}]
    assert counts.skipped["duplicate url"] == 2
    assert counts.records == 14 and counts.rows == 9


def post(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "slug": "Post-one",
        "title": "Post one",
        "published_at": "2026-11-23T10:00:00Z",
        "url": "https://cryptopanic.com/news/1/Post-one",
        "source": {"title": "Source"},
        "votes": {"positive": 1},
    }
    for name, value in fields.items():
        if value is ...:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def parse_one(**fields: Any) -> tuple[list[dict[str, Any]], SourceCounts]:
    counts = SourceCounts()
    return cryptopanic.parse_posts([response({"results": [post(**fields)]})], limit=10, counts=counts), counts


def test_both_currencies_and_instruments_are_read() -> None:
    rows, _ = parse_one(
        currencies=[{"code": "usdt"}, {"code": " BTC "}, {"code": None}, {"code": ""}, 5, "eth"],
        instruments=[{"code": "USDC"}, {"title": "no code"}, {"code": "BTC"}],
    )
    assert rows[0]["currencies"] == ["BTC", "ETH", "USDC", "USDT"]
    rows, _ = parse_one(currencies=None, instruments={"code": "BTC"})
    assert rows[0]["currencies"] == []


def test_url_built_from_id_and_slug_else_skipped() -> None:
    rows, _ = parse_one(url=..., id=42, slug="Hello")
    assert rows[0]["url"] == "https://cryptopanic.com/news/42/Hello"
    for fields in (
        {"url": ..., "slug": ...},
        {"url": ..., "id": ...},
        {"url": "  ", "slug": ...},
        {"url": None, "id": "42"},
        {"url": 5, "id": True},
    ):
        rows, counts = parse_one(**fields)
        assert rows == [] and counts.skipped == {"no url": 1}, fields


@pytest.mark.parametrize("title", [..., None, "", "   ", 42])
def test_no_title(title: Any) -> None:
    rows, counts = parse_one(title=title)
    assert rows == [] and counts.skipped == {"no title": 1}


def test_post_not_an_object() -> None:
    counts = SourceCounts()
    page = {"results": [None, "post", post()]}
    assert len(cryptopanic.parse_posts([response(page)], limit=10, counts=counts)) == 1
    assert counts.to_json() == {"records": 3, "rows": 1, "rounded": 0, "skipped": {"not an object": 2}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (..., None),
        (None, None),
        ("2026-11-23T10:00:00+10:00", dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)),
        ("2026-11-23T10:00:00.250Z", dt.datetime(2026, 11, 23, 10, 0, 0, 250000, tzinfo=dt.timezone.utc)),
    ],
)
def test_published_at(value: Any, expected: dt.datetime | None) -> None:
    rows, _ = parse_one(published_at=value)
    assert rows[0]["published_at"] == expected
    if expected is not None:
        assert rows[0]["published_at"].utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("value", ["2026-11-23T10:00:00", "2026-11-23", "", "yesterday", 1700000000, ["x"]])
def test_published_at_unreadable(value: Any) -> None:
    rows, counts = parse_one(published_at=value)
    assert rows == [] and counts.skipped == {"published_at unreadable": 1}


def test_source_title_fitted_or_none() -> None:
    rows, _ = parse_one(source={"title": "S" * 150, "domain": "example.com"})
    assert rows[0]["source"] == "S" * 100
    for source in (None, "CoinDesk", {"domain": "coindesk.com"}, {"title": " "}):
        rows, _ = parse_one(source=source)
        assert rows[0]["source"] is None, source


@pytest.mark.parametrize(
    ("votes", "sentiment", "score", "total", "unreadable"),
    [
        (..., None, None, 0, False),
        (None, None, None, 0, False),
        ({}, None, None, 0, False),
        ({"positive": 14, "liked": 3, "negative": 1}, "positive", "0.8889", 18, False),
        ({"positive": None, "negative": 2}, "negative", "-1.0000", 2, False),
        ({"positive": "5", "negative": 1, "lol": 2}, "negative", "-1.0000", 3, True),
        ({"positive": 1.0, "liked": True, "toxic": -1}, None, None, 0, True),
        ([1, 2], None, None, 0, True),
        ({"positive": 2**31 - 1, "negative": 1}, None, None, 0, True),  # total would overflow integer
        ({"saved": 40, "comments": 9}, None, None, 0, False),
    ],
)
def test_votes(votes: Any, sentiment: str | None, score: str | None, total: int, unreadable: bool) -> None:
    rows, counts = parse_one(votes=votes)
    assert (rows[0]["sentiment"], rows[0]["sentiment_score"], rows[0]["total_votes"]) == (
        sentiment,
        None if score is None else Decimal(score),
        total,
    )
    assert counts.skipped == ({"votes unreadable": 1} if unreadable else {})


def test_title_and_url_are_kept_as_sent() -> None:
    rows, _ = parse_one(title="  Spaced title ", url="https://cryptopanic.com/news/1/x ")
    assert (rows[0]["title"], rows[0]["url"]) == ("  Spaced title ", "https://cryptopanic.com/news/1/x ")


def test_next_page_keeps_the_query_drops_the_token_and_the_host() -> None:
    expected = {"kind": "news", "page": "2", "public": "true"}
    page1 = (DATA / "cryptopanic_v1_page1.json").read_bytes()
    assert json.loads(page1)["next"].startswith("https://api-mirror.example.net/")  # a foreign host
    assert cryptopanic.next_page(page1) == expected
    assert cryptopanic.next_page((DATA / "cryptopanic_v2_page1.json").read_bytes()) == expected
    assert cryptopanic.next_page((DATA / "cryptopanic_v1_page2.json").read_bytes()) is None


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (..., None),
        (None, None),
        (2, None),
        ("", None),
        ("page=2", None),
        ("/api/v1/posts/?page=2", None),
        ("ftp://cryptopanic.com/api/?page=2", None),
        ("https://[::1/api/?page=2", None),  # urlsplit refuses it
        ("https://cryptopanic.com/api/v1/posts/", None),
        ("https://cryptopanic.com/api/v1/posts/?auth_token=SECRET", None),
        (
            "https://cryptopanic.com/api/v1/posts/?Auth_Token=S&api_key=K&token=T&secret=X&page=3&filter=&currencies=BTC,ETH",
            {"page": "3", "filter": "", "currencies": "BTC,ETH"},
        ),
        ("http://localhost:8000/posts/?page=2&page=3", {"page": "3"}),
        (" https://cryptopanic.com/api/v1/posts/?page=2&regions=en%2Cde ", {"page": "2", "regions": "en,de"}),
    ],
)
def test_next_page_links(link: Any, expected: dict[str, str] | None) -> None:
    doc: dict[str, Any] = {"results": []}
    if link is not ...:
        doc["next"] = link
    assert cryptopanic.next_page(json.dumps(doc).encode()) == expected


def test_next_page_of_a_body_that_is_no_page() -> None:
    assert cryptopanic.next_page(b"<html>") is None
    assert cryptopanic.next_page(b'["https://cryptopanic.com/?page=2"]') is None


def test_post_ids() -> None:
    page1 = (DATA / "cryptopanic_v1_page1.json").read_bytes()
    assert cryptopanic.post_ids(page1) == [
        24015501,
        24015320,
        24014977,
        24014800,
        24014650,
        24014400,
        24014100,
    ]
    odd = {"results": [{"id": 7}, {"id": "8"}, {"id": True}, {"id": 9.0}, {}, None, {"id": 10}]}
    assert cryptopanic.post_ids(json.dumps(odd).encode()) == [7, 10]
    assert cryptopanic.post_ids(b'{"detail": "Not found."}') == []


def test_check_accepts_pages() -> None:
    for name in ("cryptopanic_v1_page1.json", "cryptopanic_v1_page2.json", "cryptopanic_v2_page1.json"):
        cryptopanic.check((DATA / name).read_bytes())
    cryptopanic.check(b'{"results": []}')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status": "Incomplete", "info": "Token not found"}', "CryptoPanic said: Token not found"),
        (b'{"status": "error", "info": "Rate limit\\nexceeded"}', "CryptoPanic said: Rate limit exceeded"),
        (b'{"status": "info", "message": "Plan required"}', "CryptoPanic said: Plan required"),
        (b'{"detail": "Not found."}', "CryptoPanic said: Not found."),
        (b'{"status": "error"}', "CryptoPanic said: status error"),
        (b'{"results": {"id": 1}}', "CryptoPanic response has no 'results' list"),
        (b'{"count": 0}', "CryptoPanic response has no 'results' list"),
        (b"[]", "CryptoPanic response is a JSON list, not an object"),
        (b"<html>Cloudflare</html>", "CryptoPanic response is not JSON (Expecting value"),
    ],
)
def test_check_refuses_with_one_line(body: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        cryptopanic.check(body)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"^CryptoPanic"):
        cryptopanic.parse_posts([response(body)], limit=10, counts=SourceCounts())
