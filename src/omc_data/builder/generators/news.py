"""``news_sentiment``: synthetic stand-ins for CryptoPanic posts, with votes and the sentiment they imply.

Titles talk about coins of the ranked list; ``currencies`` keep CryptoPanic's upper-case codes; the URL is
a CryptoPanic-style post URL, unique per post. Sentiment comes from the votes by the same rule as
collected news (:mod:`omc_data.domain.sentiment`). Serial ids follow publication order.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators.coins import top_coins
from omc_data.builder.generators.common import instant_between, numbered
from omc_data.builder.generators.streams import rng
from omc_data.builder.generators.world import World
from omc_data.domain import sentiment
from omc_data.snapshots.arrowschema import arrow_schema

TABLE = catalog.NEWS_SENTIMENT
NEWS_COINS = 20  # news is about the top coins of the ranked list, whatever --coins says
SOURCES = (
    "CoinDesk",
    "Cointelegraph",
    "The Block",
    "Decrypt",
    "CryptoSlate",
    "Bitcoin Magazine",
    "U.Today",
    "NewsBTC",
    "CryptoPotato",
    "Blockworks",
    "The Defiant",
    "Bitcoinist",
)
# (title, tone): the tone leans the community's votes, so "climbs" reads mostly positive
TITLES = (
    ("{name} climbs {pct}% as traders eye ${level} resistance", 1),
    ("{name} slips {pct}% after a wave of liquidations", -1),
    ("Analysts: {name} could retest its yearly high within weeks", 1),
    ("{name} ETF inflows top ${flows} million in a day", 1),
    ("Whales moved {whales} million {code} to exchanges this week", -1),
    ("{name} network upgrade goes live; fees drop {pct}%", 1),
    ("Regulators weigh new rules that could hit {name} exchanges", -1),
    ("{name} and {name2} decouple as market volatility returns", 0),
    ("Australian exchange volumes in {code} hit a {months}-month high", 1),
    ("{name} developers propose a change to staking rewards", 0),
)
NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "USDT": "Tether",
    "XRP": "XRP",
    "BNB": "BNB",
    "SOL": "Solana",
    "USDC": "USD Coin",
    "DOGE": "Dogecoin",
    "ADA": "Cardano",
    "TRX": "TRON",
    "LINK": "Chainlink",
    "AVAX": "Avalanche",
    "XLM": "Stellar",
    "SUI": "Sui",
    "HBAR": "Hedera",
    "TON": "Toncoin",
    "SHIB": "Shiba Inu",
    "DOT": "Polkadot",
    "LTC": "Litecoin",
    "BCH": "Bitcoin Cash",
}
VOTE_KINDS = ("positive", "negative", "important", "liked", "disliked", "lol", "toxic", "saved", "comments")


def _votes(r: random.Random, mood: float) -> dict[str, int]:
    if r.random() < 0.15:
        return dict.fromkeys(VOTE_KINDS, 0)
    scale = r.choice((3, 8, 20, 60))
    good, bad = max(mood, 0.05), max(1 - mood, 0.05)
    return {
        "positive": int(r.expovariate(1 / (scale * good))),
        "negative": int(r.expovariate(1 / (scale * bad))),
        "important": int(r.expovariate(1 / scale * 2)),
        "liked": int(r.expovariate(1 / (scale * good * 0.5))),
        "disliked": int(r.expovariate(1 / (scale * bad * 0.5))),
        "lol": int(r.expovariate(1 / 2)),
        "toxic": int(r.expovariate(1 / (1 + scale * bad * 0.1))),
        "saved": int(r.expovariate(1 / scale)),
        "comments": int(r.expovariate(1 / scale)),
    }


def _slug(text: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in text).split()
    return "-".join(words[:10])


def generate(world: World) -> pa.Table:
    if world.real.news is not None:  # collected rows; this generator is their stand-in
        return numbered(TABLE, world.real.news)
    spec = world.spec
    codes = [c.code for c in top_coins(NEWS_COINS)]
    window = dt.timedelta(days=max(spec.days, 1))
    rows = []
    for k in range(spec.news):
        r = rng(spec.seed, TABLE.name, k)
        code, code2 = r.sample(codes, 2)
        published = instant_between(r, spec.as_of_tick - window, spec.as_of_tick - dt.timedelta(minutes=1))
        collected = min(published + dt.timedelta(seconds=r.randint(60, 3600)), spec.as_of_tick)
        template, tone = r.choice(TITLES)
        title = template.format(
            name=NAMES.get(code, code),
            name2=NAMES.get(code2, code2),
            code=code,
            pct=r.randint(2, 18),
            level=f"{r.randint(1, 150) * 1000:,}",
            flows=r.randint(40, 900),
            whales=r.randint(2, 900),
            months=r.randint(3, 18),
        )
        mentioned = [code] + ([code2] if "{name2}" in template or r.random() < 0.25 else [])
        votes = _votes(r, min(max(0.5 + 0.3 * tone + r.uniform(-0.25, 0.25), 0.0), 1.0))
        verdict = sentiment.from_votes(votes)
        post = 21_000_000 + k * 16 + r.randint(0, 15)  # unique per k: the ranges do not overlap
        rows.append(
            {
                "title": title,
                "source": r.choice(SOURCES),
                "url": f"https://cryptopanic.com/news/{post}/{_slug(title)}",
                "published_at": published,
                "sentiment": verdict.label,
                "sentiment_score": verdict.score,
                "currencies": sorted(set(mentioned)),
                "collected_at": collected,
                "total_votes": verdict.total_votes,
            }
        )
    rows.sort(key=lambda row: (row["published_at"], row["url"]))
    for n, row in enumerate(rows, start=1):
        row["id"] = n
    return pa.Table.from_pylist(rows, schema=arrow_schema(TABLE))
