"""``seed_all_async(collect_real_data=True)``: real Coinspot quotes end each coin's ticks."""

from __future__ import annotations

import asyncio
import decimal
from typing import Any

import pytest
from fakeapi import FakeApi, FakeClock, Reply
from recorded import request, serve

import omc_data
from omc_data.errors import CollectorError


def test_seed_with_real_data_ends_each_coin_at_its_real_quote(
    omc_db: Any, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api)
    created = asyncio.run(
        omc_data.seed_all_async(
            omc_db,
            user_count=1,
            algorithm_count=1,
            collect_real_data=True,
            collector=request(fake_api, fake_clock),
            coins=("btc", "eth", "xrp"),
            price_ticks=5,
        )
    )
    by_coin: dict[str, list[dict[str, Any]]] = {}
    for row in created["price_data_5min"]:
        by_coin.setdefault(row["coin_type"], []).append(row)
    assert {c: len(r) for c, r in by_coin.items()} == {"btc": 5, "eth": 5, "xrp": 5}
    btc = by_coin["btc"][-1]
    assert (btc["bid"], btc["ask"], btc["last"]) == (
        decimal.Decimal("139874.12"),
        decimal.Decimal("140310.55"),
        decimal.Decimal("140102.00"),
    )
    assert str(btc["timestamp"]) == "2026-11-24 12:00:00+00:00"  # the fetch's tick
    assert abs(by_coin["btc"][-2]["last"] / btc["last"] - 1) < decimal.Decimal("0.05")
    assert by_coin["eth"][-1]["last"] == decimal.Decimal("4730.02")  # Coinspot said "ETH": keys lower-cased
    assert len(fake_api.requests) == 1  # one fetch, Coinspot only


def test_seed_with_real_data_says_when_coinspot_is_down(
    omc_db: Any, fake_api: FakeApi, fake_clock: FakeClock
) -> None:
    serve(fake_api, coinspot=[Reply(status=503)])
    with pytest.raises(CollectorError, match="could not collect real prices from Coinspot"):
        asyncio.run(
            omc_data.seed_all_async(omc_db, collect_real_data=True, collector=request(fake_api, fake_clock))
        )
