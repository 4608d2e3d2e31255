"""A local stand-in for the three public APIs ``omc-data build`` collects from, at their real sizes.

Standalone, stdlib only: ``python bench/real_server.py URL_FILE [--seed N] [--no-gzip]``. It generates
every response once at start (seeded, deterministic), binds ``127.0.0.1`` on a free port, writes its base
URL (``http://127.0.0.1:PORT``) to ``URL_FILE`` (written whole, then renamed into place) and serves until
SIGTERM/SIGINT. HTTP/1.1 with ``Content-Length`` and keep-alive; gzip when the client accepts it (as the
real APIs behind their CDNs do), ``--no-gzip`` to serve identity only.

- ``GET /pubapi/v2/latest``: Coinspot, ~400 coins. The first ten are the real keys (btc, eth, usdt, xrp,
  bnb, sol, usdc, doge, ada, trx) at plausible AUD prices; values are a mix of numeric strings, JSON
  numbers and exponents (``"3.42e-05"``, ``1.9e-07``), always ``bid <= last <= ask``.
- ``GET /protocols``: DeFiLlama, ~7,000 protocol objects with the real fields (id, name, slug, tvl,
  chainTvls with ``-borrowed``/``-staking``/``-pool2`` keys, chains, category, change_1h/1d/7d, mcap,
  descriptions, methodology, audits, oracles...): ~10 MB of JSON (~2 MB gzipped), sorted by TVL like
  the real one.
- ``GET /api/developer/v2/posts/``: CryptoPanic v2, 5 pages of 20 posts (``page=N``, default 1). It
  needs ``auth_token`` (401 ``{"status": "Incomplete", "info": ...}`` without); ``next`` links carry
  ``auth_token=...&page=N`` like the real API's (the last page's ``next`` is null). Post times count back
  from the server's start (floored to the minute), so they are always in the past of the fetch;
  everything else is seeded.

Anything else is a 404 with a JSON error body.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import signal
import sys
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

COINSPOT_PATH = "/pubapi/v2/latest"
DEFILLAMA_PATH = "/protocols"
CRYPTOPANIC_PATH = "/api/developer/v2/posts/"
COINS = 400
PROTOCOLS = 7000
PAGES, POSTS_PER_PAGE = 5, 20

# --------------------------------------------------------------------------------------------------
# Coinspot

# key, AUD price: the real top of Coinspot's list, then more real keys; the rest are made up
_REAL_COINS = """
btc 140102 eth 4730.02 usdt 1.53 xrp 3.695 bnb 1452.3 sol 319.5 usdc 1.5298 doge 0.331 ada 1.0488
trx 0.5214 link 28.25 avax 52.1 xlm 0.6203 sui 5.41 hbar 0.3398 ton 8.31 shib 0.0000346 dot 11.31
ltc 165.2 bch 690.4 uni 15.62 pepe 0.0000193 near 7.91 apt 14.08 icp 16.52 aave 455 etc 38.02
pol 0.781 render 11.24 fet 2.104 atom 9.81 arb 1.203 fil 8.12 algo 0.5811 vet 0.07203 op 3.104
inj 36.1 imx 2.402 stx 3.01 grt 0.3605 theta 2.903 mkr 2401 rune 7.41 sand 0.7804 mana 0.7402
axs 11.02 ldo 2.604 qnt 150.2 flow 1.102 egld 45.1 xtz 1.502 eos 1.101 chz 0.1302 kava 0.7021
crv 1.104 snx 3.402 comp 95.3 zec 80.1 dash 45.2 neo 20.1 iota 0.3802 bat 0.3304 enj 0.4012
zil 0.03604 one 0.02601 ksm 42.1 waves 2.102 ankr 0.05012 lrc 0.2504 sushi 1.603 yfi 11004
1inch 0.5502 bal 3.904 band 2.203 ocean 0.9012 storj 0.8004 skl 0.06012 celo 1.102 ens 35.1
gala 0.05012 ape 1.904 dydx 1.902 gmx 40.2 blur 0.4012 wld 3.404 sei 0.6012 tia 8.502 jup 1.302
pyth 0.5003 bonk 0.0000351 wif 3.002 floki 0.000221 ondo 1.602 ena 1.103 strk 0.6004 jto 3.902
"""


def _split(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


def _real_coins() -> list[tuple[str, float]]:
    words = _REAL_COINS.split()
    return [(words[i], float(words[i + 1])) for i in range(0, len(words), 2)]


def _ticker(r: random.Random, taken: set[str]) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    while True:
        key = "".join(r.choice(letters) for _ in range(r.choice((3, 3, 4, 4, 4, 5, 6))))
        if r.random() < 0.05:
            key += r.choice(("2", "3", "inu", "ai", "x"))
        if key not in taken:
            taken.add(key)
            return key


def _significant(value: float, digits: int = 5) -> int:
    """Decimal places for ``digits`` significant digits, within numeric(20, 8)."""
    if value <= 0:
        return 2
    return max(2, min(8, digits - 1 - math.floor(math.log10(value))))


def _coinspot_value(r: random.Random, value: float) -> Any:
    """A price as Coinspot may send it: a numeric string (mostly), a JSON number, or an exponent."""
    if value < 1e-4:  # tiny prices: exponents, as a string or a number
        mantissa = f"{value:.4e}"
        return mantissa if r.random() < 0.6 else float(mantissa)
    text = f"{value:.{_significant(value)}f}"
    roll = r.random()
    if roll < 0.7:
        return text
    if roll < 0.9:
        return float(text) if "." in text else int(text)
    return f"{float(text):.6e}"  # an exponent string for an ordinary price ("1.402000e+05")


def coinspot_latest(r: random.Random) -> dict[str, Any]:
    coins = _real_coins()
    taken = {key for key, _ in coins}
    while len(coins) < COINS:
        coins.append((_ticker(r, taken), math.exp(r.uniform(math.log(1e-7), math.log(500.0)))))
    prices: dict[str, Any] = {}
    for key, price in coins:
        last = price * math.exp(r.gauss(0.0, 0.002))
        spread = r.uniform(0.001, 0.03) if key not in ("usdt", "usdc") else r.uniform(0.002, 0.008)
        bid, ask = last * (1 - spread / 2), last * (1 + spread / 2)
        prices[key] = {
            name: _coinspot_value(r, v) for name, v in (("bid", bid), ("ask", ask), ("last", last))
        }
    return {"status": "ok", "message": "ok", "prices": prices}


# --------------------------------------------------------------------------------------------------
# DeFiLlama

_TOP_PROTOCOLS = (
    ("Lido", "lido", "Liquid Staking", "LDO"),
    ("Aave V3", "aave-v3", "Lending", "AAVE"),
    ("EigenLayer", "eigenlayer", "Restaking", "EIGEN"),
    ("Binance staked ETH", "binance-staked-eth", "Liquid Staking", "-"),
    ("ether.fi Stake", "ether.fi-stake", "Liquid Restaking", "ETHFI"),
    ("Ethena USDe", "ethena-usde", "Basis Trading", "ENA"),
    ("Sky Lending", "sky-lending", "CDP", "SKY"),
    ("Babylon Protocol", "babylon-protocol", "Restaking", "BABY"),
    ("Uniswap V3", "uniswap-v3", "Dexes", "UNI"),
    ("Pendle", "pendle", "Yield", "PENDLE"),
    ("Morpho Blue", "morpho-blue", "Lending", "MORPHO"),
    ("Spark", "spark", "Lending", "SPK"),
    ("JustLend", "justlend", "Lending", "JST"),
    ("Rocket Pool", "rocket-pool", "Liquid Staking", "RPL"),
    ("Jito Liquid Staking", "jito-liquid-staking", "Liquid Staking", "JTO"),
    ("Curve DEX", "curve-dex", "Dexes", "CRV"),
    ("Compound V3", "compound-v3", "Lending", "COMP"),
    ("Kamino Lend", "kamino-lend", "Lending", "KMNO"),
    ("Uniswap V2", "uniswap-v2", "Dexes", "UNI"),
    ("Ethena USDtb", "ethena-usdtb", "RWA", "-"),
    ("Hyperliquid Bridge", "hyperliquid-bridge", "Bridge", "HYPE"),
    ("Arbitrum Bridge", "arbitrum-bridge", "Chain", "ARB"),
    ("Convex Finance", "convex-finance", "Yield", "CVX"),
    ("Raydium AMM", "raydium-amm", "Dexes", "RAY"),
    ("PancakeSwap AMM", "pancakeswap-amm", "Dexes", "CAKE"),
)
_CATEGORIES = (
    ("Dexes", 24),
    ("Lending", 12),
    ("Yield", 11),
    ("Yield Aggregator", 6),
    ("Liquid Staking", 4),
    ("Derivatives", 6),
    ("Bridge", 3),
    ("CDP", 3),
    ("Services", 4),
    ("Farm", 5),
    ("Launchpad", 2),
    ("Gaming", 2),
    ("NFT Marketplace", 2),
    ("Staking Pool", 2),
    ("RWA", 2),
    ("Options", 2),
    ("Indexes", 1),
    ("Algo-Stables", 1),
    ("Cross Chain", 2),
    ("Privacy", 1),
    ("Insurance", 1),
    ("Prediction Market", 1),
    ("Liquid Restaking", 1),
    ("Restaking", 1),
    ("CEX", 1),
)
_CHAINS = _split(
    "Ethereum|Solana|BSC|Arbitrum|Base|Tron|Polygon|Avalanche|Optimism|Sui|Bitcoin|Hyperliquid|Aptos|"
    "Sonic|Blast|Linea|Mantle|Scroll|zkSync Era|Fantom|Cronos|Gnosis|Celo|Near|Starknet|Kava|Klaytn|"
    "Moonbeam|Metis|Polygon zkEVM|Mode|Manta|Merlin|Core|TON|Osmosis|Injective|Sei|Berachain|Unichain|"
    "Abstract|Flow|Hedera|Harmony|Aurora|Boba|Fuse|Moonriver|Telos|Oasis|IoTeX|Canto|Evmos|Kucoin|"
    "Conflux|Astar|Velas|Heco|OKExChain|Algorand|Cardano|Tezos|Elrond|Stacks|Bitlayer|BOB|Taiko|Zora|"
    "Fraxtal|opBNB|Ronin|Thorchain|Xai|Rootstock|Kaia|Flare|Chiliz|Filecoin|Wemix|Shimmer|Waves",
    "|",
)
_CHAIN_WEIGHTS = [1.0 / (1 + i) ** 1.1 for i in range(len(_CHAINS))]
_SYLLABLES = _split(
    "ve ra lo mi nu ka zo pe xi ta bo fu li da ge sy ne qu ar on el um ix or yn co ma so ri va te "
    "lu fi mo ze pa ki no sa ho ju be"
)
_SUFFIXES = _split(
    "Finance Swap Protocol DAO Labs Exchange Lend Vault Yield Bridge Fi Money Capital Markets Staking "
    "Perps Pools Farm Network Stable"
)
_VERSIONS = ("", "", "", "", " V2", " V3", " V1", " CLMM", " AMM", " Lend", " Perps")
_WORDS = _split(
    "decentralized liquidity protocol users lend borrow swap assets yield vaults automated market maker "
    "non-custodial staking rewards cross-chain bridge collateral stablecoin governance token fees pools "
    "concentrated leverage perpetual options strategies optimize returns secure audited community "
    "permissionless composable on-chain oracle isolated markets interest rates"
)
_METHODOLOGIES = (
    "Counts the liquidity on all AMM pools.",
    "Counts the tokens locked in the contracts to be used as collateral to borrow or to earn yield. "
    "Borrowed coins are not counted towards the TVL, so only the coins actually locked in the contracts "
    "are counted.",
    "TVL is calculated by summing the value of assets deposited into the protocol's vaults.",
    "Counts staked tokens in the staking contracts.",
    "Total value of assets bridged and held in the bridge contracts.",
    None,
)
_ORACLES = ("Chainlink", "Pyth", "RedStone", "Chronicle", "API3", "Switchboard", "Band", "Twap")


def _sentence(r: random.Random, words: int) -> str:
    text = " ".join(r.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _weighted(r: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return r.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _name(r: random.Random, taken: set[str]) -> tuple[str, str]:
    while True:
        stem = "".join(r.choice(_SYLLABLES) for _ in range(r.choice((2, 2, 3, 3, 4))))
        name = (
            stem.capitalize() + (" " + r.choice(_SUFFIXES) if r.random() < 0.6 else "") + r.choice(_VERSIONS)
        )
        slug = name.lower().replace(" ", "-")
        if slug not in taken:
            taken.add(slug)
            return name, slug


def _money(r: random.Random, value: float) -> float | int:
    """A TVL as DeFiLlama sends it: a float with a long tail of digits, or an int for round values."""
    if value == 0 or r.random() < 0.03:
        return round(value)
    return float(repr(value * (1 + r.uniform(-1e-9, 1e-9))))


def protocol(
    r: random.Random, pid: int, tvl: float, name: str, slug: str, category: str, symbol: str
) -> dict[str, Any]:
    n_chains = 1 if r.random() < 0.62 else min(len(_CHAINS), int(r.paretovariate(1.3)) + 1)
    if tvl > 1e9:
        n_chains = max(n_chains, r.randint(2, 12))
    chains: list[str] = []
    while len(chains) < n_chains:
        chain = r.choices(_CHAINS, weights=_CHAIN_WEIGHTS)[0]
        if chain not in chains:
            chains.append(chain)
    shares = sorted((r.paretovariate(1.2) for _ in chains), reverse=True)  # the first chain leads
    total = sum(shares)
    chain_tvls: dict[str, float | int] = {}
    lending = category in ("Lending", "CDP")
    staking = r.random() < 0.15
    pool2 = r.random() < 0.08
    for chain, share in zip(chains, shares, strict=True):
        value = tvl * share / total
        chain_tvls[chain] = _money(r, value)
        if lending:
            chain_tvls[f"{chain}-borrowed"] = _money(r, value * r.uniform(0.2, 0.8))
        if staking:
            chain_tvls[f"{chain}-staking"] = _money(r, value * r.uniform(0.01, 0.3))
        if pool2:
            chain_tvls[f"{chain}-pool2"] = _money(r, value * r.uniform(0.001, 0.05))
    if lending:
        chain_tvls["borrowed"] = _money(r, tvl * r.uniform(0.2, 0.8))
    if staking:
        chain_tvls["staking"] = _money(r, tvl * r.uniform(0.01, 0.3))
    if pool2:
        chain_tvls["pool2"] = _money(r, tvl * r.uniform(0.001, 0.05))
    has_token = symbol != "-"
    oracles = sorted(set(r.choices(_ORACLES, k=r.choice((0, 0, 1, 1, 2)))))
    listed = 1_600_000_000 + r.randrange(170_000_000)

    def change(scale: float) -> float | None:
        return None if r.random() < 0.06 else float(repr(r.gauss(0.0, scale)))

    doc: dict[str, Any] = {
        "id": str(pid),
        "name": name,
        "address": "0x" + "".join(r.choice("0123456789abcdef") for _ in range(40)) if has_token else None,
        "symbol": symbol,
        "url": f"https://{slug.replace('.', '')}.{r.choice(('fi', 'io', 'finance', 'xyz', 'com', 'org'))}",
        "description": _sentence(r, r.randint(20, 70)),
        "chain": chains[0] if len(chains) == 1 else "Multi-Chain",
        "logo": f"https://icons.llama.fi/{slug}.png",
        "audits": str(r.choice((0, 0, 1, 2, 2, 3))),
        "audit_note": None,
        "gecko_id": slug if has_token and r.random() < 0.7 else None,
        "cmcId": str(r.randrange(1, 35000)) if has_token and r.random() < 0.5 else None,
        "category": category,
        "chains": chains,
        "module": f"{slug}/index.js",
        "twitter": slug.replace("-", "").replace(".", "")[:15] if r.random() < 0.85 else None,
        "forkedFrom": [r.choice(("Uniswap V2", "Compound V2", "Aave V2", "Curve DEX"))]
        if r.random() < 0.2
        else [],
        "oracles": oracles,
        "oraclesBreakdown": [
            {"name": name_, "type": "Primary", "proof": [f"https://docs.{slug}.fi/oracles/{name_.lower()}"]}
            for name_ in oracles
        ],
        "language": r.choice(("Solidity", "Solidity", "Solidity", "Rust", "Move", "Vyper", "FunC")),
        "openSource": r.random() < 0.8,
        "listedAt": listed if r.random() < 0.9 else None,
        "methodology": r.choice(_METHODOLOGIES),
        "slug": slug,
        "tvl": _money(r, tvl),
        "chainTvls": chain_tvls,
        "change_1h": change(0.8),
        "change_1d": change(4.0),
        "change_7d": change(12.0),
        "tokenBreakdowns": {},
        "mcap": float(repr(tvl * r.uniform(0.05, 3.0))) if has_token and r.random() < 0.6 else None,
    }
    if r.random() < 0.35:
        doc["audit_links"] = [
            f"https://github.com/{slug}/audits/blob/main/audit-{i}.pdf" for i in range(r.randint(1, 3))
        ]
    if r.random() < 0.25:
        doc["github"] = [slug.replace(".", "")]
    if r.random() < 0.2:
        doc["parentProtocol"] = f"parent#{slug.rsplit('-', 1)[0]}"
    if r.random() < 0.2:
        doc["hallmarks"] = [
            [listed + r.randrange(40_000_000), _sentence(r, r.randint(2, 6))] for _ in range(r.randint(1, 3))
        ]
    if r.random() < 0.1:
        doc["treasury"] = f"{slug}.js"
    if r.random() < 0.2:
        doc["governanceID"] = [f"snapshot:{slug}.eth", f"tally:{slug}"][: r.randint(1, 2)]
    if r.random() < 0.05:
        doc["stablecoins"] = [f"{slug}-usd"]
    if r.random() < 0.05:
        doc["referralUrl"] = f"https://app.{slug}.fi/?ref=defillama"
    if r.random() < 0.05:
        doc["deprecated"] = True
    return doc


def defillama_protocols(r: random.Random) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    taken = {slug for _, slug, _, _ in _TOP_PROTOCOLS}
    ids = r.sample(range(1, 8 * PROTOCOLS), PROTOCOLS)
    for index in range(PROTOCOLS):
        if index < len(_TOP_PROTOCOLS):
            name, slug, category, symbol = _TOP_PROTOCOLS[index]
            tvl = 35e9 / (1 + index) ** 0.9
        else:
            name, slug = _name(r, taken)
            category = _weighted(r, _CATEGORIES)
            symbol = slug.split("-")[0][:5].upper() if r.random() < 0.5 else "-"
            # a long tail: most protocols hold little, many nothing at all
            tvl = 0.0 if r.random() < 0.12 else math.exp(r.uniform(math.log(10.0), math.log(3e9)))
        docs.append(protocol(r, ids[index], tvl, name, slug, category, symbol))
    for doc in r.sample(docs[len(_TOP_PROTOCOLS) :], k=PROTOCOLS // 200):  # adapters not reporting
        doc["tvl"] = None
    docs.sort(key=lambda d: -(d["tvl"] or 0))
    return docs


# --------------------------------------------------------------------------------------------------
# CryptoPanic

_SOURCES = (
    ("CoinDesk", "coindesk.com"),
    ("The Block", "theblock.co"),
    ("Decrypt", "decrypt.co"),
    ("Cointelegraph", "cointelegraph.com"),
    ("Blockworks", "blockworks.co"),
    ("The Defiant", "thedefiant.io"),
    ("Bitcoinist", "bitcoinist.com"),
    ("CryptoSlate", "cryptoslate.com"),
    ("NewsBTC", "newsbtc.com"),
    ("U.Today", "u.today"),
)
_INSTRUMENTS = (
    ("BTC", "Bitcoin", 1.83e12, 92110.5),
    ("ETH", "Ethereum", 5.71e11, 3090.2),
    ("SOL", "Solana", 9.8e10, 208.8),
    ("XRP", "XRP", 1.4e11, 2.41),
    ("BNB", "BNB", 1.3e11, 948.1),
    ("DOGE", "Dogecoin", 3.2e10, 0.216),
    ("ADA", "Cardano", 2.4e10, 0.684),
    ("LINK", "Chainlink", 1.2e10, 18.4),
    ("ARB", "Arbitrum", 4.1e9, 0.91),
    ("USDT", "Tether", 1.8e11, 1.0),
)
_HEADLINES = (
    "{coin} climbs past a key level as ETF inflows return",
    "{coin} slides as traders take profit after a strong week",
    "Analysts say {coin} could retest its yearly high",
    "{coin} developers ship a long-awaited upgrade",
    "Whales move $120M of {coin} to exchanges",
    "{coin} open interest hits a record on derivatives venues",
    "Regulators publish new guidance; {coin} holders react",
    "{coin} network fees drop to a six-month low",
)


def cryptopanic_pages(r: random.Random, newest: datetime) -> list[dict[str, Any]]:
    """The pages' documents, ``next`` left to fill in per request (it carries the caller's token)."""
    pages: list[dict[str, Any]] = []
    post_id = 24_100_000
    at = newest
    for _ in range(PAGES):
        results = []
        for _ in range(POSTS_PER_PAGE):
            at -= timedelta(seconds=r.randrange(60, 1800))
            post_id -= r.randrange(1, 40)
            picked = r.sample(_INSTRUMENTS, k=r.choice((0, 1, 1, 1, 2, 3)))
            title = r.choice(_HEADLINES).format(coin=picked[0][1] if picked else "Crypto market")
            slug = "-".join(title.replace("$", "").replace(";", "").replace(",", "").split())
            source, domain = r.choice(_SOURCES)
            stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            votes = {
                name: r.choice((0, 0, 0, 1, 2, 5, 14))
                for name in (
                    "negative",
                    "positive",
                    "important",
                    "liked",
                    "disliked",
                    "lol",
                    "toxic",
                    "saved",
                    "comments",
                )
            }
            results.append(
                {
                    "id": post_id,
                    "slug": slug,
                    "title": title,
                    "description": _sentence(r, r.randint(10, 30)) if r.random() < 0.8 else None,
                    "published_at": stamp,
                    "created_at": stamp,
                    "kind": "news",
                    "source": {"title": source, "region": "en", "domain": domain, "type": "feed"},
                    "original_url": f"https://{domain}/news/{slug.lower()}",
                    "url": f"https://cryptopanic.com/news/{post_id}/{slug}",
                    "instruments": [
                        {
                            "code": code,
                            "title": title_,
                            "slug": title_.lower(),
                            "url": f"https://cryptopanic.com/news/{title_.lower()}/",
                            "market_cap_usd": cap,
                            "price_in_usd": price,
                        }
                        for code, title_, cap, price in picked
                    ],
                    "votes": votes if r.random() < 0.95 else None,
                    "panic_score": r.randrange(0, 100) if r.random() < 0.7 else None,
                }
            )
        pages.append({"next": None, "previous": None, "results": results})
    return pages


# --------------------------------------------------------------------------------------------------
# The server


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


class Responses:
    """Every body, encoded once (and gzipped once); CryptoPanic pages per token, cached."""

    def __init__(self, seed: int, use_gzip: bool) -> None:
        r = random.Random(seed)
        self.use_gzip = use_gzip
        self.static: dict[str, tuple[bytes, bytes | None]] = {}
        for path, doc in ((COINSPOT_PATH, coinspot_latest(r)), (DEFILLAMA_PATH, defillama_protocols(r))):
            body = _dump(doc)
            self.static[path] = (body, gzip.compress(body, 6, mtime=0) if use_gzip else None)
        newest = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        self.pages = cryptopanic_pages(r, newest)
        self.base = ""
        self._cache: dict[tuple[int, str], tuple[bytes, bytes | None]] = {}
        self._lock = threading.Lock()

    def page(self, number: int, token: str) -> tuple[bytes, bytes | None]:
        key = (number, token)
        with self._lock:
            held = self._cache.get(key)
        if held is not None:
            return held
        doc = dict(self.pages[number - 1])
        query = {"auth_token": token, "kind": "news", "public": "true"}

        def link(n: int) -> str:
            return f"{self.base}{CRYPTOPANIC_PATH}?{urllib.parse.urlencode({**query, 'page': n})}"

        doc["next"] = link(number + 1) if number < PAGES else None
        doc["previous"] = link(number - 1) if number > 1 else None
        body = _dump(doc)
        made = (body, gzip.compress(body, 6, mtime=0) if self.use_gzip else None)
        with self._lock:
            self._cache[key] = made
        return made


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "omc-bench-real/1"
    bodies: Responses  # (``responses`` is BaseHTTPRequestHandler's status table)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path in self.bodies.static:
            self._send(200, *self.bodies.static[url.path])
        elif url.path == CRYPTOPANIC_PATH:
            token = query.get("auth_token", "")
            page = query.get("page", "1")
            if not token:
                self._send(401, _dump({"status": "Incomplete", "info": "Missing auth_token"}), None)
            elif not page.isdigit() or not 1 <= int(page) <= PAGES:
                self._send(404, _dump({"detail": "Invalid page."}), None)
            else:
                self._send(200, *self.bodies.page(int(page), token))
        else:
            self._send(404, _dump({"status": "error", "message": f"no such endpoint: {url.path}"}), None)

    def _send(self, status: int, body: bytes, gzipped: bytes | None) -> None:
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        payload = gzipped if gzipped is not None and accepts else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if payload is gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url_file", type=Path, help="where to write the base URL once listening")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--no-gzip", action="store_true", help="never gzip, whatever the client accepts")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    responses = Responses(args.seed, use_gzip=not args.no_gzip)
    Handler.bodies = responses
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    responses.base = f"http://127.0.0.1:{port}"  # the address bound just above

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    partial = args.url_file.with_name(args.url_file.name + ".partial")
    partial.write_text(responses.base + "\n")
    partial.replace(args.url_file)
    sizes = ", ".join(f"{path} {len(body) / 1e6:.2f} MB" for path, (body, _) in responses.static.items())
    print(
        f"real_server: {responses.base} ({sizes}; ready in {time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
