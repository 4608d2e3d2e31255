"""``protocol_fundamentals``: synthetic stand-ins for DeFiLlama, one row per protocol per UTC day.

``--protocols N`` takes the first N of a ranked list of real DeFiLlama slugs (TVL levels are rough figures
of late 2026), each with a daily TVL walk over ``--days`` days ending at ``as_of``; fees and revenue are
plausible fractions of TVL. Serial ids follow (collected_at, protocol), the order a daily collector
inserts in.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pyarrow as pa

from omc_data import catalog
from omc_data.builder.generators.common import numbered
from omc_data.builder.generators.streams import rng
from omc_data.builder.generators.world import World
from omc_data.snapshots.arrowschema import arrow_schema

TABLE = catalog.PROTOCOL_FUNDAMENTALS

# slug, TVL in USD billions
_RANKED = """
aave-v3 38|lido 27|eigenlayer 15|binance-staked-eth 13|ethena-usde 12|sky-lending 8.5|uniswap-v3 5.2
pendle 6.1|morpho-blue 7.4|ether.fi-stake 8.8|rocket-pool 3.4|jito-liquid-staking 3.1|spark 4.2
babylon-protocol 5.6|compound-v3 2.4|curve-dex 2.2|kamino-lend 2.9|justlend 3.6|sparklend 3.9
maple 2.7|hyperliquid-hlp 1.9|lombard-finance 1.6|fluid-lending 1.8|euler-v2 1.5|jupiter-perpetual 1.9
raydium-amm 1.7|balancer-v2 0.9|gmx-v2 0.6|convex-finance 1.1|venus-core-pool 1.8|yearn-finance 0.4
stargate-v2 0.35|aerodrome-slipstream 1.1|orca-dex 0.5|marinade-liquid-staking 1.4|frax-ether 0.3
"""
RANKED_PROTOCOLS: tuple[tuple[str, float], ...] = tuple(
    (slug, float(tvl))
    for item in _RANKED.replace("\n", "|").split("|")
    if item.strip()
    for slug, tvl in [item.split()]
)
CENT = decimal.Decimal("0.01")


def protocols(count: int) -> list[tuple[str, float]]:
    """The first ``count`` protocols; beyond the list, numbered stand-ins with smaller TVL."""
    out = list(RANKED_PROTOCOLS[:count])
    for n in range(len(out), count):
        out.append((f"defi-protocol-{n + 1:03d}", 0.25 * math.exp(-(n - len(RANKED_PROTOCOLS)) / 50)))
    return out


def _money(value: float) -> decimal.Decimal:
    return decimal.Decimal(f"{value:.2f}").quantize(CENT)


def generate(world: World) -> pa.Table:
    if world.real.protocols is not None:  # collected rows; this generator is their stand-in
        return numbered(TABLE, world.real.protocols)
    spec = world.spec
    days = max(spec.days, 1)
    rows = []
    for slug, tvl_bn in protocols(spec.protocols):
        r = rng(spec.seed, TABLE.name, slug)
        level = tvl_bn * 1e9 * r.uniform(0.9, 1.1)
        fee_rate = r.uniform(0.00005, 0.0008)
        take = r.uniform(0.05, 0.5)
        walk = [level]
        for _ in range(days - 1):
            walk.append(walk[-1] * math.exp(r.gauss(0.0, 0.025)))
        for back, tvl in enumerate(walk):  # walk[0] is today, walk[-1] the oldest day
            fees = tvl * fee_rate * math.exp(r.gauss(0.0, 0.3))
            rows.append(
                {
                    "protocol": slug,
                    "tvl_usd": _money(tvl),
                    "fees_24h": _money(fees),
                    "revenue_24h": _money(fees * take),
                    "collected_at": spec.as_of_tick - dt.timedelta(days=back),
                }
            )
    rows.sort(key=lambda row: (row["collected_at"], row["protocol"]))
    for n, row in enumerate(rows, start=1):
        row["id"] = n
    return pa.Table.from_pylist(rows, schema=arrow_schema(TABLE))
