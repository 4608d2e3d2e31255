"""A stochastic-volatility market model for 5-minute crypto prices, vectorised with numpy.

Returns of coin *i* at tick *t* (5 minutes, absolute tick index = Unix seconds / 300)::

    r[i,t] = sigma[i,t] * (a[i] * m[t] + sqrt(1 - a[i]^2) * e[i,t]) + jumps
    log sigma[i,t] = log(level[i]) + hm[t] + hi[i,t] - var(hm + hi)      (so E[sigma^2] = level^2)

``m`` is the market factor, drawn per (seed, tick); ``e`` a coin's own shock, drawn per (seed, coin,
tick); both are unit-variance Student-t(4) draws (normal / sqrt(chi2_4 / 4), the scale capped at 4).
``hm`` (the market's log-volatility, shared by every coin) and ``hi`` (the coin's own) are each the sum
of a fast and a slow AR(1) process (half-lives of one hour and two days): the slow part makes the
autocorrelation of |r| decay over days. Jumps come in two kinds, market-wide (every coin moves by its
loading) and per coin, 2.5 and 1.5 a year, of 1-2.5 daily standard deviations. The price is anchored
at the as_of tick: log p[t] = log p[as_of] - (sum of the returns after t). Stablecoins are pinned to
their level with a tiny mean-reverting noise.

The spread widens with volatility: spread[i,t] = base[i] * (sigma[i,t] / level[i])^0.8 * lognormal
noise. ``last`` sits near the mid (offset at most a quarter of a tick's sigma), so the bid-ask bounce
stays small, as in 5-minute crypto data.

Stability: every random number is a hash of (seed, stream, absolute tick) (SplitMix64's finaliser), not
the next draw of a sequence, and the AR(1) filters run in blocks aligned to UTC days whose carried state
is a fixed, truncated sum over the previous blocks (weights below 1e-4 dropped; the filters read
``burn_in`` ticks before the first tick returned). So a coin's prices at a tick depend only on (seed,
coin, tick, as_of): adding a coin, or a day at the start of the history, changes no other price.
Everything is computed on whole arrays (a Python loop runs over filter lags and coins, never rows).

Targets (the acceptance thresholds of issue 21, checked by ``tests/builder/test_price_model.py`` over
90 days of 5-minute ticks) and the published figures behind them:

- Heavy tails: kurtosis of 5-minute log returns >= 8. Cont (2001), "Empirical properties of asset
  returns: stylized facts and statistical issues", Quantitative Finance 1:223-236, Table 1: 5-minute
  kurtosis of about 16 (S&P 500 futures) and 74 (USD/DEM); crypto returns are heavier-tailed still at
  high frequency (Zhang, Chan, Chan & Chan 2018, Applied Economics 50; Takaishi 2018, Physica A 506).
- Volatility clustering: autocorrelation of |r| >= 0.15 at lag 1, >= 0.08 at one hour and > 0.02 at
  one day, decaying slowly (Cont 2001: positive over days, decaying roughly as a power law; the same
  long memory is reported for Bitcoin by Takaishi 2018 and Zhang et al. 2018).
- No linear autocorrelation beyond the bid-ask bounce: lag-1 autocorrelation of r in [-0.15, 0.05],
  lags 2-12 within +-0.05 (Cont 2001: insignificant beyond about 20 minutes in liquid markets).
- Co-movement: BTC-ETH 5-minute return correlation in [0.6, 0.9], other top-10 coins with BTC in
  [0.4, 0.85] (strong, time-varying positive correlation among the large cryptocurrencies: Aslanidis,
  Bariviera & Martinez-Ibanez 2019, Finance Research Letters 31).
- Daily volatility 1-8% per coin (Liu & Tsyvinski 2021, "Risks and returns of cryptocurrency", Review of
  Financial Studies 34: a daily standard deviation of Bitcoin's return of about 5%).
- Spreads that widen with volatility (Dyhrberg, Foley & Svec 2018, Economics Letters 171, on Bitcoin
  liquidity and transaction costs).
- A few jump days per year (Scaillet, Treccani & Trevisan 2020, Journal of Financial Econometrics 18:
  jumps in Bitcoin prices are frequent at high frequency and cluster; the large ones are a few a year).

The defaults (``DEFAULTS`` and the ranked coin list's annual volatilities) come from those figures;
``build --calibrate`` replaces a coin's volatility level and spread with values fitted from collected
Coinspot ticks (:mod:`omc_data.builder.calibrate`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from omc_data.builder.generators.streams import derive, np_rng

TICKS_PER_DAY = 288
TICKS_PER_YEAR = 365 * TICKS_PER_DAY
TICK_SECONDS = 300
STABLECOINS = frozenset({"usdt", "usdc", "dai", "busd", "tusd", "usdp", "fdusd", "pyusd", "usde"})
# The coins whose returns load most on the market factor, and how much.
LOADINGS = {"btc": 0.94, "eth": 0.88}
MAJOR_LOADING = (0.7, 0.84)  # the rest of the top 10
OTHER_LOADING = (0.55, 0.78)


@dataclass(frozen=True)
class Params:
    """The model's parameters (defaults from the published figures in the module docstring)."""

    fast_half_life: float = 12.0  # ticks (1 hour)
    slow_half_life: float = 576.0  # ticks (2 days)
    market_fast_sd: float = 0.28  # stationary sd of each log-volatility component
    market_slow_sd: float = 0.36
    coin_fast_sd: float = 0.2
    coin_slow_sd: float = 0.25
    t_scale_cap: float = 4.0  # cap on the Student-t scale (no absurd single moves)
    market_jumps_per_year: float = 2.5
    coin_jumps_per_year: float = 1.5
    jump_size: tuple[float, float] = (1.0, 2.5)  # in daily standard deviations
    spread_vol_power: float = 0.8
    spread_noise_sd: float = 0.2
    stable_noise: float = 0.0006  # stablecoins: sd of the log price around its level
    truncation: float = 1e-4  # the AR carry ignores blocks whose weight falls below this


DEFAULTS = Params()


@dataclass(frozen=True)
class CoinModel:
    """One coin's own parameters."""

    key: str
    level: float  # annualised volatility
    spread: float  # typical (ask - bid) / mid at typical volatility
    loading: float  # weight on the market factor, 0..1
    anchor: float  # price at the as_of tick, AUD

    @property
    def stable(self) -> bool:
        return self.key in STABLECOINS


# --- counter-based random numbers ---------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def tick_keys(ticks: np.ndarray) -> np.ndarray:
    """The hash input of each absolute tick (computed once per build, shared by every stream)."""
    with np.errstate(over="ignore"):
        out: np.ndarray = ticks.astype(np.uint64) * _GOLDEN
    return out


def _hash(seed: int, stream: str, keys: np.ndarray) -> np.ndarray:
    """64 random bits per tick key for ``stream`` (SplitMix64's finaliser of key + a stream constant):
    the same bits for a tick whatever else is drawn."""
    with np.errstate(over="ignore"):
        x: np.ndarray = keys + np.uint64(derive(seed, "prices", stream))
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _unit(bits: np.ndarray, shift: int, width: int) -> np.ndarray:
    """float32 uniforms in (0, 1] from ``width`` bits of ``bits`` starting at ``shift``."""
    field = (bits >> np.uint64(shift)) if shift else bits
    if shift + width < 64:
        field = field & np.uint64((1 << width) - 1)
    out: np.ndarray = (field.astype(np.float32) + np.float32(0.5)) * np.float32(1.0 / (1 << width))
    return out


def normals(seed: int, stream: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals per tick (Box-Muller on two 32-bit uniforms of one hash), in
    float32: shocks need no more digits, and the transcendental functions run twice as wide."""
    bits = _hash(seed, stream, keys)
    radius = np.sqrt(np.float32(-2.0) * np.log(_unit(bits, 0, 32)))
    angle = np.float32(2.0 * math.pi) * _unit(bits, 32, 32)
    return radius * np.cos(angle), radius * np.sin(angle)


def smooth_normals(seed: int, stream: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit-variance draws per tick for shocks a filter smooths (the filter's sum makes them normal):
    each the centred sum of two 16-bit uniforms of one hash (a triangular distribution), float64."""
    bits = _hash(seed, stream, keys)
    mask = np.uint64(0xFFFF)
    scale = math.sqrt(6.0) / 65536.0  # (u1 + u2 - 1) * sqrt(6), u = (16 bits + 0.5) / 65536
    shift = (1.0 / 65536.0 - 1.0) * math.sqrt(6.0)
    first = ((bits & mask) + ((bits >> np.uint64(16)) & mask)).astype(np.float64)
    second = (((bits >> np.uint64(32)) & mask) + (bits >> np.uint64(48))).astype(np.float64)
    first *= scale
    first += shift
    second *= scale
    second += shift
    return first, second


def uniforms(seed: int, stream: str, keys: np.ndarray) -> tuple[np.ndarray, ...]:
    """Four independent float32 uniforms in (0, 1) per tick, 16 bits each, from one hash."""
    bits = _hash(seed, stream, keys)
    return tuple(_unit(bits, s, 16) for s in (0, 16, 32, 48))


def student_t(z: np.ndarray, ua: np.ndarray, ub: np.ndarray, cap: float) -> np.ndarray:
    """Unit-variance Student-t(4) from a normal and two uniforms (chi2_4 = -2 log(ua ub)), float64."""
    chi2 = np.float32(-0.5) * np.log(ua * ub)  # chi2_4 / 4
    scale = np.minimum(np.float32(1.0) / np.sqrt(chi2), np.float32(cap))
    scale *= z
    out: np.ndarray = scale.astype(np.float64)
    out *= 1.0 / math.sqrt(2.0)
    return out


# --- AR(1) filters in blocks aligned to absolute time ---------------------------------------------------


def _block_length(phi: float) -> int:
    """The longest divisor of a day whose in-block rescaling phi^-L stays below 1e4 (precision)."""
    for length in (288, 144, 96, 72, 48, 36, 32, 24, 16, 12, 8, 6, 4, 3, 2, 1):
        if length * -math.log(phi) <= math.log(1e4):
            return length
    return 1


def burn_in(params: Params) -> int:
    """Ticks of shocks an AR filter reads before the first tick it returns (whole days)."""
    longest = 0
    for half_life in (params.fast_half_life, params.slow_half_life):
        phi = 0.5 ** (1.0 / half_life)
        length = _block_length(phi)
        blocks = math.ceil(math.log(params.truncation) / (length * math.log(phi)))
        longest = max(longest, (blocks + 1) * length)
    return math.ceil(longest / TICKS_PER_DAY) * TICKS_PER_DAY


def ar1(shocks: np.ndarray, half_life: float, sd: float, truncation: float) -> np.ndarray:
    """x[t] = phi x[t-1] + sqrt(1 - phi^2) sd shocks[t], the state carried over a truncated past.

    ``shocks`` starts at a day boundary (absolute tick) and holds whole days, the first ``burn_in``
    ticks only feeding the carry: every value depends on the absolute ticks before it, not on where the
    array starts.
    """
    phi = 0.5 ** (1.0 / half_life)
    length = _block_length(phi)
    j = np.arange(length, dtype=np.float64)
    rise = phi**j
    local = shocks.reshape(-1, length) * ((sd * math.sqrt(1.0 - phi * phi)) * phi**-j)
    np.cumsum(local, axis=1, out=local)
    local *= rise  # in-block, from a zero state
    ends = local[:, -1].copy()
    depth = math.ceil(math.log(truncation) / (length * math.log(phi)))
    carry = np.zeros(len(ends))
    decay = phi**length
    for m in range(depth):  # carry[b] = sum over m of decay^m * ends[b - m], in a fixed order
        carry[m:] += decay**m * ends[: len(ends) - m]
    local[1:] += carry[:-1, None] * (rise * phi)[None, :]
    result: np.ndarray = local.reshape(-1)
    return result


# --- the model ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Market:
    """The market factor's shock, log-volatility and jumps over a tick range (shared by every coin)."""

    ticks: np.ndarray  # absolute tick indexes, whole days, burn-in first
    keys: np.ndarray  # their hash inputs
    shock: np.ndarray
    logvol: np.ndarray
    jump: np.ndarray  # signed jump sizes in daily standard deviations, 0 where none


def market(seed: int, ticks: np.ndarray, params: Params = DEFAULTS) -> Market:
    keys = tick_keys(ticks)
    z = normals(seed, "market.shock", keys)[0]
    ua, ub, uj, us = uniforms(seed, "market.uniform", keys)
    fast, slow = smooth_normals(seed, "market.volatility", keys)
    logvol = ar1(fast, params.fast_half_life, params.market_fast_sd, params.truncation)
    logvol += ar1(slow, params.slow_half_life, params.market_slow_sd, params.truncation)
    jump = _jumps(uj, us, params.market_jumps_per_year, params)
    return Market(ticks, keys, student_t(z, ua, ub, params.t_scale_cap), logvol, jump)


def _jumps(select: np.ndarray, size: np.ndarray, per_year: float, params: Params) -> np.ndarray:
    """Signed jump sizes in daily standard deviations (0 where none): a tick jumps when ``select`` falls
    below the per-tick probability, and its position there sets the magnitude; ``size`` the sign."""
    out = np.zeros(len(select))
    p = per_year / TICKS_PER_YEAR
    if p <= 0:
        return out
    hit = np.flatnonzero(select < p)
    lo, hi = params.jump_size
    magnitude = lo + (hi - lo) * (select[hit].astype(np.float64) / p)
    out[hit] = np.where(size[hit] < 0.5, -magnitude, magnitude)
    return out


def coin_ticks(
    seed: int, coin: CoinModel, mkt: Market, params: Params = DEFAULTS, keep: slice = slice(None)
) -> Path:
    """log returns (or pinned log mids), spreads and last offsets of ``coin`` over ``mkt``'s ticks
    ``keep`` (the ticks before them only feed the volatility filters)."""
    keys = mkt.keys[keep]
    n = len(keys)
    stream = f"coin.{coin.key}"
    e, zspread = normals(seed, stream + ".shock", keys)
    ua, ub, ulast, uj = uniforms(seed, stream + ".uniform", keys)
    fast, slow = smooth_normals(seed, stream + ".volatility", mkt.keys)
    tick_level = coin.level / math.sqrt(TICKS_PER_YEAR)
    daily = coin.level / math.sqrt(365.0)
    noise = params.spread_noise_sd
    returns: np.ndarray | None = None
    log_mid: np.ndarray | None = None
    if coin.stable:
        log_mid = params.stable_noise * ar1(fast, params.fast_half_life, 1.0, params.truncation)[keep]
        log_sigma = np.zeros(n)
        sigma = np.full(n, tick_level)
    else:
        own = ar1(fast, params.fast_half_life, params.coin_fast_sd, params.truncation)
        own += ar1(slow, params.slow_half_life, params.coin_slow_sd, params.truncation)
        variance = (
            params.market_fast_sd**2
            + params.market_slow_sd**2
            + params.coin_fast_sd**2
            + params.coin_slow_sd**2
        )
        log_sigma = own[keep]
        log_sigma += mkt.logvol[keep]
        log_sigma -= variance
        sigma = np.exp(log_sigma)
        sigma *= tick_level
        a = coin.loading
        shock = student_t(e, ua, ub, params.t_scale_cap)
        shock *= math.sqrt(1.0 - a * a)
        shock += a * mkt.shock[keep]
        returns = sigma * shock
        returns += (daily * a) * mkt.jump[keep]
        returns += daily * _jumps(uj, ulast, params.coin_jumps_per_year, params)
    spread = params.spread_vol_power * log_sigma
    spread += noise * zspread
    spread = np.exp(spread - 0.5 * noise * noise)
    spread *= coin.spread
    np.minimum(spread, 0.2, out=spread)
    # |log(last / mid)| at most half the spread and a quarter of the tick's sigma: a small bounce
    reach = np.minimum(spread * 0.5, 0.25 * sigma)
    reach *= 2.0 * ulast - 1.0
    return Path(returns=returns, log_mid=log_mid, spread=spread, offset=reach)


@dataclass(frozen=True)
class Path:
    returns: np.ndarray | None  # log returns per tick (None for a pinned coin)
    log_mid: np.ndarray | None  # log(mid / anchor) per tick for a pinned coin
    spread: np.ndarray
    offset: np.ndarray  # log(last / mid)


def mid_prices(path: Path, anchor: float) -> np.ndarray:
    """Mid prices, the last one at ``anchor`` (a sum from the end: prepending days keeps every later
    value)."""
    if path.log_mid is not None:
        out: np.ndarray = anchor * np.exp(path.log_mid)
        return out
    assert path.returns is not None
    r = path.returns
    after = np.zeros(len(r))
    after[:-1] = np.cumsum(r[:0:-1])[::-1]  # sum of the returns after each tick
    out = anchor * np.exp(-after)
    return out


def coin_models(
    seed: int,
    coins: list[tuple[str, float, float, int]],
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, CoinModel]:
    """Each coin's parameters from (key, price, annual volatility, rank) and calibrated overrides."""
    out = {}
    for key, price, vol, rank in coins:
        g = np_rng(seed, "price_data_5min", key)
        level = vol * g.uniform(0.9, 1.1)
        anchor = price * g.uniform(0.85, 1.15)
        spread = (level / math.sqrt(TICKS_PER_YEAR)) * g.uniform(0.5, 1.5)
        if key in LOADINGS:
            loading = LOADINGS[key] + g.uniform(-0.02, 0.02)
        elif rank < 10:
            loading = g.uniform(*MAJOR_LOADING)
        else:
            loading = g.uniform(*OTHER_LOADING)
        fitted = (overrides or {}).get(key, {})
        level = float(fitted.get("volatility", level))
        spread = float(fitted.get("spread", spread))
        out[key] = CoinModel(key, level, spread, 0.0 if key in STABLECOINS else loading, anchor)
    return out
