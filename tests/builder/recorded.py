"""Recorded responses of the three sources (the shapes of ../shared/api-samples, values of our own), and
a helper that serves them from a :class:`FakeApi` and points a build or ``collect`` at it."""

from __future__ import annotations

import copy
from typing import Any

from fakeapi import FakeApi, Reply

from omc_data.builder.fetch.http import RetryPolicy
from omc_data.builder.live import CollectRequest

TOKEN = "tok-7f3a9c2e51d04b8e"  # what a CryptoPanic token looks like; it must never be written anywhere
COINSPOT_PATH = "/pubapi/v2/latest"
DEFILLAMA_PATH = "/protocols"
CRYPTOPANIC_PATH = "/api/developer/v2/posts/"

COINSPOT: dict[str, Any] = {
    "status": "ok",
    "message": "ok",
    "prices": {
        "btc": {"bid": "139874.12", "ask": "140310.55", "last": "140102.00"},
        "ETH": {"bid": "4721.10", "ask": "4738.90", "last": "4730.02"},
        "sol": {"bid": 318.77, "ask": 320.41, "last": 319.5},
        "shib": {"bid": "3.421e-05", "ask": "0.00003502", "last": "0.000034600"},
        "pepe": {"bid": "0.0000190000001", "ask": "0.0000197", "last": "0.0000193"},  # rounded to 1e-8
        "aave": {"bid": "452.1", "ask": "457.9", "last": "455"},
        "wat": {"bid": "n/a", "ask": "1", "last": "1"},  # malformed: skipped, counted
        "odd": {"bid": "2.0", "ask": "1.0", "last": "3.0"},  # real life: kept, a warning
    },
}

DEFILLAMA: list[dict[str, Any]] = [
    {
        "name": "Aave V3",
        "slug": "aave-v3",
        "tvl": 31874112345.675,
        "category": "Lending",
        "chains": ["Ethereum"],
    },
    {"name": "Lido", "slug": "lido", "tvl": "28443119876.0", "category": "Liquid Staking"},
    {"name": "EigenLayer", "slug": "eigenlayer", "tvl": 12004567123.45},
    {"name": "No TVL", "slug": "no-tvl", "tvl": None},
    {"name": "Missing TVL", "slug": "missing-tvl"},
    {"name": "Uniswap V3", "slug": "uniswap-v3", "tvl": 4503332211.9},
]


def _post(pid: int, title: str, when: str, votes: dict[str, int], codes: list[str]) -> dict[str, Any]:
    return {
        "id": pid,
        "slug": title.replace(" ", "-"),
        "title": title,
        "published_at": when,
        "created_at": when,
        "kind": "news",
        "source": {"title": "CoinDesk", "region": "en", "domain": "coindesk.com", "type": "feed"},
        "url": f"https://cryptopanic.com/news/{pid}/{title.replace(' ', '-')}",
        "instruments": [{"code": c, "title": c} for c in codes],
        "votes": votes,
    }


VOTES = {"negative": 1, "positive": 14, "important": 6, "liked": 3, "disliked": 0, "lol": 0, "toxic": 0}
PAGE_1: dict[str, Any] = {
    # the `next` link names another host and carries the token: the collector must use neither
    "next": f"https://elsewhere.example.com/api/developer/v2/posts/?auth_token={TOKEN}&kind=news&page=2&public=true",
    "previous": None,
    "results": [
        _post(
            24015501,
            "Bitcoin climbs past 92K",
            "2026-11-24T11:14:05Z",
            {**VOTES, "saved": 2, "comments": 1},
            ["BTC"],
        ),
        _post(
            24015320,
            "Ethereum and Solana audit",
            "2026-11-24T09:02:44Z",
            {"negative": 3, "positive": 2},
            ["ETH", "SOL"],
        ),
    ],
}
PAGE_2: dict[str, Any] = {
    "next": None,
    "previous": f"https://elsewhere.example.com/api/developer/v2/posts/?auth_token={TOKEN}&page=1",
    "results": [
        _post(24014977, "Regulators publish guidance", "2026-11-24T07:40:00Z", {}, []),
        _post(
            24015320,
            "Ethereum and Solana audit",
            "2026-11-24T09:02:44Z",
            {"negative": 3, "positive": 2},
            ["ETH"],
        ),
    ],
}


def serve(
    api: FakeApi,
    *,
    coinspot: list[Reply] | None = None,
    defillama: list[Reply] | None = None,
    pages: dict[str, Reply] | None = None,
) -> None:
    """Route the three endpoints; each defaults to its recorded response."""
    api.route(COINSPOT_PATH, *(coinspot or [Reply(body=copy.deepcopy(COINSPOT))]))
    api.route(DEFILLAMA_PATH, *(defillama or [Reply(body=copy.deepcopy(DEFILLAMA))]))
    api.route_pages(CRYPTOPANIC_PATH, pages or {"1": Reply(body=PAGE_1), "2": Reply(body=PAGE_2)})


def endpoints(api: FakeApi) -> dict[str, str]:
    return {
        "coinspot": api.url_for(COINSPOT_PATH),
        "defillama": api.url_for(DEFILLAMA_PATH),
        "cryptopanic": api.url_for(CRYPTOPANIC_PATH) + "?public=true&kind=news",
    }


def env(api: FakeApi) -> dict[str, str]:
    """The environment a CLI run needs to collect from ``api`` (fast retries, the token)."""
    e = endpoints(api)
    return {
        "OMC_DATA_COINSPOT_URL": e["coinspot"],
        "OMC_DATA_DEFILLAMA_URL": e["defillama"],
        "OMC_DATA_CRYPTOPANIC_URL": e["cryptopanic"],
        "CRYPTOPANIC_API_KEY": TOKEN,
    }


# No test here expects a timeout: a generous one keeps a busy machine from failing a slow local reply.
FAST = RetryPolicy(timeout=30.0, attempts=3, backoff=0.01, backoff_max=0.02, budget=10.0)


def request(
    api: FakeApi, clock: Any, *, token: str | None = TOKEN, policy: RetryPolicy = FAST
) -> CollectRequest:
    return CollectRequest(
        endpoints=endpoints(api), cryptopanic_token=token, policy=policy, clock=clock, seed=1
    )
