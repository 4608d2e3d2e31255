"""Builds with real data from a real local HTTP server: rows, the manifest's record, raw/, failures."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fakeapi import FakeApi, FakeClock, Reply
from recorded import TOKEN, request, serve

import omc_data
from omc_data.errors import BuildError, SnapshotNotFoundError, UsageError

SMALL: dict[str, Any] = {
    "seed": 7,
    "users": 1,
    "coins": 2,  # btc and eth have a history; the other collected coins get their one real row
    "days": 1,
    "algorithms": 2,
    "deployments": 1,
    "agent_sessions": 1,
    "orders_per_user": 2,
    "bcrypt_rounds": 4,
}
AS_OF = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)


def build(store: Path, tag: str, api: FakeApi, clock: FakeClock, **kwargs: Any) -> omc_data.Manifest:
    token = kwargs.pop("token", TOKEN)
    return omc_data.build_snapshot(
        tag, store=store, real_data="live", collector=request(api, clock, token=token), **{**SMALL, **kwargs}
    )


def rows(store: Path, tag: str, table: str) -> list[dict[str, Any]]:
    files = sorted((store / tag / "tables" / table).glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_live_build_weaves_real_rows_in_and_records_every_source(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    m = build(tmp_path, "v1", fake_api, fake_clock)
    assert m.inputs["as_of"] == "2026-11-24T12:00:00Z"
    assert m.inputs["real_data"]["mode"] == "live"

    prices = rows(tmp_path, "v1", "price_data_5min")
    by_coin: dict[str, list[dict[str, Any]]] = {}
    for r in prices:
        by_coin.setdefault(r["coin_type"], []).append(r)
    # btc and eth: a day of ticks ending at the real tick; the other collected coins: one real row each
    assert sorted(by_coin) == ["aave", "btc", "eth", "odd", "pepe", "shib", "sol"]
    assert len(by_coin["btc"]) == len(by_coin["eth"]) == 288
    assert all(len(by_coin[c]) == 1 for c in ("aave", "odd", "pepe", "shib", "sol"))
    last_btc = by_coin["btc"][-1]
    assert last_btc["timestamp"] == AS_OF
    assert (last_btc["bid"], last_btc["ask"], last_btc["last"]) == (
        Decimal("139874.12"),
        Decimal("140310.55"),
        Decimal("140102.00"),
    )
    # the walk meets the real price: no jump at the last tick
    before = by_coin["btc"][-2]["last"]
    assert abs(before / last_btc["last"] - 1) < Decimal("0.05")
    assert by_coin["shib"][0]["bid"] == Decimal("0.00003421")  # an exponent
    assert by_coin["pepe"][0]["bid"] == Decimal("0.00001900")  # rounded half-even to the scale
    assert [r["id"] for r in prices] == list(range(1, len(prices) + 1))

    cs = m.sources["coinspot"]
    assert cs["outcome"] == "collected"
    assert cs["endpoint"] == fake_api.url_for("/pubapi/v2/latest")
    assert cs["http_status"] == 200
    assert cs["fetched_at"] == "2026-11-24T12:00:00Z"
    assert cs["records"] == 8 and cs["rows"] == 7 and cs["rounded"] >= 1
    assert sum(cs["skipped"].values()) == 1 and "malformed" in next(iter(cs["skipped"]))
    assert cs["table"] == "price_data_5min"

    protocols = rows(tmp_path, "v1", "protocol_fundamentals")
    assert [p["protocol"] for p in protocols] == sorted(
        ["aave-v3", "lido", "eigenlayer", "uniswap-v3", "missing-tvl", "no-tvl"]
    )
    tvl = {p["protocol"]: p["tvl_usd"] for p in protocols}
    assert tvl["aave-v3"] == Decimal("31874112345.68") and tvl["no-tvl"] is None
    assert all(p["fees_24h"] is None and p["revenue_24h"] is None for p in protocols)
    assert m.sources["defillama"]["outcome"] == "collected"

    news = rows(tmp_path, "v1", "news_sentiment")
    assert len(news) == 3  # the post on both pages counts once
    climbs = next(n for n in news if n["title"].startswith("Bitcoin"))
    assert climbs["sentiment_score"] == Decimal("0.8889") and climbs["sentiment"] == "positive"
    assert climbs["total_votes"] == 24 and climbs["currencies"] == ["BTC"] and climbs["source"] == "CoinDesk"
    assert m.sources["cryptopanic"]["skipped"] == {"duplicate url": 1}

    # the second page came from the configured server, with the page number and not the foreign host
    pages = fake_api.requests_to("/api/developer/v2/posts/")
    assert [p.query.get("page") for p in pages] == [None, "2"]
    assert all(p.query["auth_token"] == TOKEN and p.query["kind"] == "news" for p in pages)

    # raw/: every response, compressed, checksummed, and without the token
    raw = [f.path for f in m.raw]
    assert len(raw) == 4 and sum("cryptopanic" in p for p in raw) == 2
    for entry in m.raw:
        text = gzip.decompress((tmp_path / "v1" / entry.path).read_bytes()).decode()
        assert TOKEN not in text
    assert (
        "REDACTED"
        in gzip.decompress((tmp_path / "v1" / m.sources["cryptopanic"]["raw"][0]).read_bytes()).decode()
    )
    assert TOKEN not in (tmp_path / "v1" / "manifest.json").read_text()

    # collected rows break rules in real life: warnings, never blocking
    assert m.validation["passed"] is True
    warned = {c["table"] for c in m.validation["checks"] if c["severity"] == "warning" and c["failures"]}
    assert warned == {"price_data_5min"}  # 'odd' has last above ask
    assert omc_data.validate_snapshot("v1", tmp_path).passed


def test_a_failing_source_degrades_to_a_synthetic_stand_in(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api, defillama=[Reply(status=503, body={"error": "maintenance"})])
    m = build(tmp_path, "v1", fake_api, fake_clock, protocols=3)
    d = m.sources["defillama"]
    assert d["outcome"] == "degraded" and d["http_status"] == 503 and d["attempts"] == 3
    assert "503" in d["reason"] and d["stand_in"] == "synthetic"
    synthetic = rows(tmp_path, "v1", "protocol_fundamentals")
    assert len(synthetic) == 3 * 1 and all(p["fees_24h"] is not None for p in synthetic)
    assert m.sources["coinspot"]["outcome"] == "collected"


def test_require_real_data_publishes_nothing_when_a_source_fails(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(
        fake_api,
        coinspot=[
            Reply(status=500, body="<html><body>oops</body></html>", headers={"Content-Type": "text/html"})
        ],
    )
    with pytest.raises(BuildError, match="coinspot was degraded"):
        build(tmp_path, "v1", fake_api, fake_clock, require_real_data=True)
    with pytest.raises(SnapshotNotFoundError):
        omc_data.open_snapshot("v1", tmp_path)
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith(".")]


def test_without_a_token_cryptopanic_is_skipped_and_never_asked(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    m = build(tmp_path, "v1", fake_api, fake_clock, token=None, news=4)
    assert m.sources["cryptopanic"]["outcome"] == "skipped"
    assert "CRYPTOPANIC_API_KEY" in m.sources["cryptopanic"]["reason"]
    assert fake_api.requests_to("/api/developer/v2/posts/") == []
    assert len(rows(tmp_path, "v1", "news_sentiment")) == 4  # the synthetic stand-in
    with pytest.raises(BuildError, match="cryptopanic was skipped"):
        build(tmp_path, "v2", fake_api, fake_clock, token=None, require_real_data=True)


def test_no_synthetic_builds_only_the_collected_tables(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    m = build(tmp_path, "v1", fake_api, fake_clock, synthetic=False)
    assert sorted(m.tables) == ["news_sentiment", "price_data_5min", "protocol_fundamentals"]
    assert m.tables["price_data_5min"].rows == 7  # the real rows only: no walk
    serve(fake_api, coinspot=[Reply(status=502)])
    with pytest.raises(BuildError, match="--no-synthetic"):
        build(tmp_path, "v2", fake_api, fake_clock, synthetic=False)
    with pytest.raises(UsageError, match="nothing to build"):
        omc_data.build_snapshot("v3", store=tmp_path, real_data="off", synthetic=False)


def test_sources_picks_sources_and_the_rest_stay_synthetic(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    m = omc_data.build_snapshot(
        "v1",
        store=tmp_path,
        real_data="live",
        sources=["defillama"],
        collector=request(fake_api, fake_clock),
        **SMALL,
    )
    assert [m.sources[s]["outcome"] for s in ("coinspot", "defillama", "cryptopanic")] == [
        "synthetic",
        "collected",
        "synthetic",
    ]
    assert {r.path for r in fake_api.requests} == {"/protocols"}
    with pytest.raises(UsageError, match="unknown source 'binance'"):
        omc_data.build_snapshot("v2", store=tmp_path, real_data="live", sources=["binance"])


def test_redirects_are_not_followed_so_the_token_stays_home(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    fake_api.route_pages(
        "/api/developer/v2/posts/",
        {"1": Reply(status=302, headers={"Location": "http://elsewhere.example.com/steal"})},
    )
    m = build(tmp_path, "v1", fake_api, fake_clock)
    record = m.sources["cryptopanic"]
    assert record["outcome"] == "degraded" and record["http_status"] == 302
    assert "redirected to http://elsewhere.example.com/steal" in record["reason"]
    assert len(fake_api.requests_to("/api/developer/v2/posts/")) == 1  # not retried either


def test_live_collection_with_an_explicit_as_of_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--as-of cannot be combined"):
        omc_data.build_snapshot("v1", store=tmp_path, real_data="live", as_of="2026-11-01T00:00:00Z")


def test_replay_gives_byte_identical_tables_offline(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    original = build(tmp_path, "v1", fake_api, fake_clock)
    fake_api.close()  # offline from here on
    again = omc_data.replay_snapshot("v1-again", "v1", store=tmp_path)
    assert {n: [p.sha256 for p in t.parts] for n, t in again.tables.items()} == {
        n: [p.sha256 for p in t.parts] for n, t in original.tables.items()
    }
    assert [f.sha256 for f in again.raw] == [f.sha256 for f in original.raw]
    assert {s: r["outcome"] for s, r in again.sources.items()} == {
        "coinspot": "replayed",
        "defillama": "replayed",
        "cryptopanic": "replayed",
    }
    assert again.inputs["real_data"]["replay_of"] == "v1"
    # an input given again overrides the manifest's: one more user changes the user table only
    more = omc_data.replay_snapshot("v1-more", "v1", store=tmp_path, users=2)
    changed = {n for n, t in more.tables.items() if t.parts[0].sha256 != original.tables[n].parts[0].sha256}
    assert "user" in changed and "price_data_5min" not in changed and "news_sentiment" not in changed


def test_manifest_records_what_the_issue_asks_for(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    m = build(tmp_path, "v1", fake_api, fake_clock)
    doc = json.loads((tmp_path / "v1" / "manifest.json").read_text())
    for source in ("coinspot", "defillama", "cryptopanic"):
        record = doc["sources"][source]
        for key in ("outcome", "endpoint", "fetched_at", "http_status", "records", "rows", "skipped", "raw"):
            assert key in record, (source, key)
    assert doc["sources"]["cryptopanic"]["endpoint"].endswith("?public=true&kind=news")
    assert m.inputs["real_data"]["sources"] == ["coinspot", "defillama", "cryptopanic"]


def test_replay_of_a_custom_password_build_asks_for_it_and_then_matches(tmp_path: Path) -> None:
    spec = {**SMALL, "as_of": "2026-11-01T00:00:00Z"}
    original = omc_data.build_snapshot(
        "v1", store=tmp_path, password="Custom-1", superuser_password="omc-dev-password", **spec
    )
    assert original.inputs["password"] == "custom" and original.inputs["superuser_password"] == "default"
    with pytest.raises(UsageError, match="custom password"):
        omc_data.replay_snapshot("v2", "v1", store=tmp_path)
    again = omc_data.replay_snapshot("v3", "v1", store=tmp_path, password="Custom-1")
    assert again.tables["user"].parts[0].sha256 == original.tables["user"].parts[0].sha256
    with pytest.raises(UsageError, match="holds no collected data"):
        omc_data.replay_snapshot("v4", "v1", store=tmp_path, password="Custom-1", synthetic=False)


@pytest.mark.parametrize("last", ["0", "0.000001", "89000000000"])
def test_a_degenerate_real_quote_never_aborts_the_build(
    tmp_path: Path, fake_api: FakeApi, fake_clock: FakeClock, last: str
) -> None:
    doc = {"status": "ok", "prices": {"btc": {"bid": last, "ask": last, "last": last}, "eth": COIN_ETH}}
    serve(fake_api, coinspot=[Reply(body=doc)])
    m = build(tmp_path, "v1", fake_api, fake_clock, orders_per_user=20)
    assert m.validation["passed"]
    cs = m.sources["coinspot"]
    assert cs["skipped"] == {"history coin's last price outside 0.00001..100,000,000 AUD": 1}
    btc = [r for r in rows(tmp_path, "v1", "price_data_5min") if r["coin_type"] == "btc"]
    assert len(btc) == 288 and btc[-1]["last"] != Decimal(last)  # the walk, untouched


COIN_ETH = {"bid": "4721.10", "ask": "4738.90", "last": "4730.02"}
