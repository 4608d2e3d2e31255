"""The ranked coin list synthetic price history draws from: ``--coins N`` takes the first N.

Keys are Coinspot's (lower case, as the app's collectors store them); prices are rough AUD levels and
volatilities rough annualised figures, enough for believable paths. News keeps CryptoPanic's upper-case
codes (``code``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Coin:
    key: str  # Coinspot key, lower case
    price: float  # starting level, AUD
    volatility: float  # annualised

    @property
    def code(self) -> str:
        return self.key.upper()


# rank, key, AUD price, annual volatility
_RANKED = """
btc 140000 0.55|eth 4700 0.70|usdt 1.53 0.02|xrp 3.68 0.95|bnb 1450 0.60|sol 318 0.90|usdc 1.53 0.02
doge 0.331 1.10|ada 1.05 0.95|trx 0.52 0.70|link 28.2 0.95|avax 52 1.00|xlm 0.62 0.95|sui 5.4 1.20
hbar 0.34 1.05|ton 8.3 0.90|shib 0.0000346 1.10|dot 11.3 0.95|ltc 165 0.80|bch 690 0.85|uni 15.6 1.00
pepe 0.0000193 1.40|near 7.9 1.05|apt 14.1 1.05|icp 16.5 1.10|aave 455 1.00|etc 38 0.90|pol 0.78 1.05
render 11.2 1.20|fet 2.1 1.20|atom 9.8 0.95|arb 1.2 1.10|fil 8.1 1.05|algo 0.58 1.00|vet 0.072 1.00
op 3.1 1.10|inj 36 1.15|imx 2.4 1.15|stx 3.0 1.15|grt 0.36 1.10|theta 2.9 1.05|mkr 2400 0.95
rune 7.4 1.15|sand 0.78 1.10|mana 0.74 1.10|axs 11 1.10|ldo 2.6 1.10|qnt 150 0.95|flow 1.1 1.05
egld 45 1.00|xtz 1.5 0.95|eos 1.1 0.95|chz 0.13 1.10|kava 0.7 1.05|crv 1.1 1.20|snx 3.4 1.15
comp 95 1.05|zec 80 1.00|dash 45 0.95|neo 20 1.00|iota 0.38 1.05|bat 0.33 1.00|enj 0.4 1.05
zil 0.036 1.05|one 0.026 1.10|ksm 42 1.05|waves 2.1 1.10|ankr 0.05 1.10|lrc 0.25 1.10|sushi 1.6 1.15
yfi 11000 1.05|1inch 0.55 1.10|bal 3.9 1.10|ren 0.07 1.15|band 2.2 1.05|ocean 0.9 1.15|storj 0.8 1.05
skl 0.06 1.15|celo 1.1 1.05|ens 35 1.10|gala 0.05 1.20|ape 1.9 1.20|dydx 1.9 1.20|gmx 40 1.05
blur 0.4 1.25|wld 3.4 1.25|sei 0.6 1.20|tia 8.5 1.20|jup 1.3 1.20|pyth 0.5 1.20|bonk 0.000035 1.40
wif 3.0 1.45|floki 0.00022 1.40|ondo 1.6 1.20|ena 1.1 1.25|strk 0.6 1.20|jto 3.9 1.20|mina 0.8 1.05
rose 0.09 1.10|kas 0.2 1.15|xdc 0.06 0.95|hnt 7.5 1.15|ar 28 1.15|rndr 11.2 1.20|gno 420 0.90
"""

RANKED_COINS: tuple[Coin, ...] = tuple(
    Coin(key, float(price), float(vol))
    for row in _RANKED.replace("\n", "|").split("|")
    if row.strip()
    for key, price, vol in [row.split()]
)

MAX_COINS = len(RANKED_COINS)


def top_coins(count: int) -> tuple[Coin, ...]:
    if count > MAX_COINS:
        raise ValueError(f"at most {MAX_COINS} coins are known, {count} asked")
    return RANKED_COINS[:count]
