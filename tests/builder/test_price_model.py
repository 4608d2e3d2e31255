"""The price model shows the stylized facts of crypto prices (issue 21's thresholds, checked on a seeded
90-day history of 5-minute ticks), stays put when coins or days are added, and is reproducible."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from omc_data.builder.generators import pricemodel
from omc_data.builder.generators.prices import History
from omc_data.builder.generators.spec import Spec
from omc_data.snapshots import stylized
from omc_data.snapshots.stylized import CoinFacts

AS_OF = dt.datetime.fromisoformat("2026-11-01T00:00:00+00:00")
SEED = 23  # seeds 20-29 all meet the thresholds; this one with the widest margins
DAYS = 90  # >= 60 days: the figures are stable at this length
MAJORS = ("btc", "eth", "xrp", "bnb", "sol", "doge", "ada", "trx")  # the top 10 without usdt, usdc
STABLE = ("usdt", "usdc")

Series = dict[str, dict[str, np.ndarray]]


def series(spec: Spec) -> Series:
    hist = History(spec)
    out = {}
    for coin in hist.coins:
        bid, ask, last = hist.path(coin)
        out[coin.key] = {"bid": bid, "ask": ask, "last": last}
    return out


@pytest.fixture(scope="module")
def top10() -> Series:
    return series(Spec(seed=SEED, as_of=AS_OF, coins=10, days=DAYS))


@pytest.fixture(scope="module")
def facts(top10: Series) -> dict[str, CoinFacts]:
    return stylized.stylized_facts(top10)


@pytest.mark.parametrize("coin", MAJORS)
def test_returns_have_heavy_tails(facts: dict[str, CoinFacts], coin: str) -> None:
    assert facts[coin].kurtosis >= 8, facts[coin]


@pytest.mark.parametrize("coin", MAJORS)
def test_volatility_clusters_and_decays_slowly(facts: dict[str, CoinFacts], coin: str) -> None:
    acf = facts[coin].abs_acf
    assert acf[1] >= 0.15, acf
    assert acf[12] >= 0.08, acf
    assert acf[288] > 0.02, acf
    assert acf[1] > acf[12] > acf[288], acf  # decaying


@pytest.mark.parametrize("coin", MAJORS)
def test_returns_have_little_linear_autocorrelation(facts: dict[str, CoinFacts], coin: str) -> None:
    acf = facts[coin].return_acf
    assert -0.15 <= acf[1] <= 0.05, acf
    for lag in range(2, 13):
        assert abs(acf[lag]) <= 0.05, (lag, acf)


def test_btc_and_eth_move_together(facts: dict[str, CoinFacts]) -> None:
    assert facts["eth"].corr_btc is not None
    assert 0.6 <= facts["eth"].corr_btc <= 0.9


@pytest.mark.parametrize("coin", [c for c in MAJORS if c not in ("btc", "eth")])
def test_other_majors_follow_btc(facts: dict[str, CoinFacts], coin: str) -> None:
    corr = facts[coin].corr_btc
    assert corr is not None and 0.4 <= corr <= 0.85, corr


@pytest.mark.parametrize("coin", MAJORS)
def test_daily_volatility_is_plausible(facts: dict[str, CoinFacts], coin: str) -> None:
    assert 0.01 <= facts[coin].daily_volatility <= 0.08, facts[coin].daily_volatility


@pytest.mark.parametrize("coin", MAJORS)
def test_spreads_widen_with_volatility(facts: dict[str, CoinFacts], coin: str) -> None:
    corr = facts[coin].spread_vol_corr
    assert corr is not None and corr > 0.2, corr


def test_every_row_keeps_bid_last_ask_order(top10: Series) -> None:
    for key, s in top10.items():
        assert (s["bid"] >= 1).all(), key
        assert (s["bid"] < s["ask"]).all(), key
        assert ((s["bid"] <= s["last"]) & (s["last"] <= s["ask"])).all(), key


@pytest.mark.parametrize("coin", STABLE)
def test_stablecoins_stay_pinned(top10: Series, facts: dict[str, CoinFacts], coin: str) -> None:
    last = top10[coin]["last"].astype(np.float64)
    assert np.abs(last / np.median(last) - 1).max() < 0.01
    assert facts[coin].daily_volatility < 0.005
    corr = facts[coin].corr_btc
    assert corr is not None and abs(corr) < 0.1


def test_a_few_jump_days_per_year() -> None:
    """Over a year: jumps are rare (a few days per coin), but there are some."""
    burn = pricemodel.burn_in(pricemodel.DEFAULTS)
    first_day = 20_000  # days since the epoch (2024-10-04): the filters start on a day boundary
    ticks = np.arange(first_day * 288, first_day * 288 + burn + 288 * 365, dtype=np.int64)
    market = pricemodel.market(SEED, ticks)
    keep = slice(burn, None)
    counts = {}
    for key, level, loading in (("btc", 0.55, 0.93), ("eth", 0.7, 0.84), ("sol", 0.9, 0.75)):
        coin = pricemodel.CoinModel(key, level, 0.002, loading, 100.0)
        returns = pricemodel.coin_ticks(SEED, coin, market, keep=keep).returns
        assert returns is not None
        counts[key] = stylized.jump_days(returns)
    assert all(1 <= n <= 20 for n in counts.values()), counts
    assert 1 <= int(np.count_nonzero(market.jump[keep])) <= 10


# --- stable under growth, reproducible ---------------------------------------------------------------


def test_more_coins_and_more_days_change_no_existing_price(top10: Series) -> None:
    bigger = series(Spec(seed=SEED, as_of=AS_OF, coins=12, days=DAYS + 3))
    assert set(top10) < set(bigger)
    n = DAYS * 288
    for key, s in top10.items():
        for field in ("bid", "ask", "last"):
            assert np.array_equal(bigger[key][field][-n:], s[field]), (key, field)


def test_a_single_coin_alone_gets_the_same_prices(top10: Series) -> None:
    alone = series(Spec(seed=SEED, as_of=AS_OF, coins=1, days=DAYS))
    assert np.array_equal(alone["btc"]["last"], top10["btc"]["last"])


def test_same_inputs_same_prices_another_seed_other_prices(top10: Series) -> None:
    again = series(Spec(seed=SEED, as_of=AS_OF, coins=10, days=DAYS))
    other = series(Spec(seed=SEED + 1, as_of=AS_OF, coins=10, days=DAYS))
    for key in top10:
        assert np.array_equal(again[key]["last"], top10[key]["last"]), key
        assert not np.array_equal(other[key]["last"], top10[key]["last"]), key


def test_the_history_ends_near_the_coins_level(top10: Series) -> None:
    """Prices are anchored at as_of: the last tick lies within 15% of the ranked list's level."""
    levels = {"btc": 140000.0, "eth": 4700.0, "usdt": 1.53}
    for key, level in levels.items():
        last = top10[key]["last"][-1] / 1e8
        assert abs(math.log(last / level)) < math.log(1.16), (key, last)


def test_the_ar_filter_matches_the_recursion() -> None:
    """The blocked filter equals x[t] = phi x[t-1] + sqrt(1 - phi^2) sd e[t] after the burn-in."""
    rng = np.random.default_rng(3)
    shocks = rng.standard_normal(288 * 60)
    for half_life, sd in ((12.0, 0.3), (576.0, 0.4)):
        phi = 0.5 ** (1.0 / half_life)
        fast = pricemodel.ar1(shocks, half_life, sd, pricemodel.DEFAULTS.truncation)
        slow = np.zeros_like(shocks)
        for t in range(1, len(shocks)):
            slow[t] = phi * slow[t - 1] + math.sqrt(1 - phi * phi) * sd * shocks[t]
        burn = pricemodel.burn_in(pricemodel.DEFAULTS)
        assert np.allclose(fast[burn:], slow[burn:], atol=1e-3 * sd), half_life


def test_the_facts_read_a_price_table(top10: Series, facts: dict[str, CoinFacts]) -> None:
    """The report's path: rows of ``price_data_5min`` (shuffled) give the same figures."""
    keys = sorted(top10)
    n = len(top10["btc"]["last"])
    columns: dict[str, list[Any]] = {"coin_type": [], "timestamp": [], "bid": [], "ask": [], "last": []}
    for key in keys:
        columns["coin_type"] += [key] * n
        columns["timestamp"] += list(range(n))
        for field in ("bid", "ask", "last"):
            columns[field] += (top10[key][field] / 1e8).tolist()
    table = pa.table(columns).take(np.random.default_rng(1).permutation(n * len(keys)))
    again = stylized.stylized_facts(stylized.series_from_table(table))
    for key in ("btc", "eth", "usdt"):
        assert again[key].kurtosis == pytest.approx(facts[key].kurtosis, rel=1e-6)
        assert again[key].corr_btc == (None if key == "btc" else pytest.approx(facts[key].corr_btc, rel=1e-6))
        assert again[key].to_json()["abs_acf"]["12"] == pytest.approx(facts[key].abs_acf[12], rel=1e-6)
