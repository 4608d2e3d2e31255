"""``build --calibrate``: each coin's volatility and spread fitted from collected Coinspot ticks, recorded
in the manifest, used by the price model for that coin only; published defaults without a collection."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recorded import COINSPOT

import omc_data
from omc_data.builder.calibrate import MIN_RETURNS, fit
from omc_data.builder.fetch.collection import Collection
from omc_data.builder.fetch.raw import RawResponse
from omc_data.builder.generators.prices import History
from omc_data.builder.generators.spec import Spec
from snaptools import run_cli, snapshot_rows

AS_OF = "2026-11-01T00:00:00Z"
END = dt.datetime.fromisoformat("2026-11-01T00:00:00+00:00")
URL = "https://www.coinspot.com.au/pubapi/v2/latest"
TICKS = 288  # one day of collected 5-minute ticks
BTC_VOL, ETH_VOL = 0.8, 1.3  # annualised, what the recorded path is drawn with
BTC_SPREAD, ETH_SPREAD = 0.004, 0.01
SMALL: dict[str, Any] = {"seed": 3, "users": 1, "coins": 3, "days": 2, "bcrypt_rounds": 4, "as_of": AS_OF}


def recorded_day(store: Path) -> None:
    """A day of Coinspot responses (the recorded sample's shape) filed as ``collect`` files them, btc and
    eth moving on seeded random walks with known volatility and spread."""
    rng = np.random.default_rng(11)
    per_tick = 1 / math.sqrt(365 * 288)
    btc = 140000 * np.exp(np.cumsum(rng.normal(0, BTC_VOL * per_tick, TICKS)))
    eth = 4700 * np.exp(np.cumsum(rng.normal(0, ETH_VOL * per_tick, TICKS)))
    collection = Collection.of_store(store)
    for i in range(TICKS):
        doc = copy.deepcopy(COINSPOT)
        for key, mid, spread in (("btc", btc[i], BTC_SPREAD), ("ETH", eth[i], ETH_SPREAD)):
            doc["prices"][key] = {
                "bid": f"{mid * (1 - spread / 2):.8f}",
                "ask": f"{mid * (1 + spread / 2):.8f}",
                "last": f"{mid:.8f}",
            }
        fetched = END - dt.timedelta(minutes=5 * (TICKS - 1 - i), seconds=-7)
        collection.add(RawResponse("coinspot", URL, 200, fetched, json.dumps(doc).encode()))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("calibrate")
    recorded_day(root)
    omc_data.build_snapshot("fitted", store=root, calibrate=True, **SMALL)
    omc_data.build_snapshot("plain", store=root, **SMALL)
    return root


def test_the_fit_recovers_volatility_and_spread(store: Path) -> None:
    calibration = omc_data.open_snapshot("fitted", store=store).manifest.inputs["calibration"]
    assert calibration["source"] == "collected coinspot ticks"
    assert calibration["responses"] == TICKS
    coins = calibration["coins"]
    assert set(coins) == {"btc", "eth"}  # usdt was not collected: it keeps its defaults
    assert coins["btc"]["volatility"] == pytest.approx(BTC_VOL, rel=0.15)
    assert coins["eth"]["volatility"] == pytest.approx(ETH_VOL, rel=0.15)
    assert coins["btc"]["spread"] == pytest.approx(BTC_SPREAD, rel=0.01)
    assert coins["eth"]["spread"] == pytest.approx(ETH_SPREAD, rel=0.01)
    assert coins["btc"]["returns"] == TICKS - 1


def test_fitted_parameters_drive_the_fitted_coins_only(store: Path) -> None:
    def rows(tag: str, coin: str) -> list[dict[str, Any]]:
        return [r for r in snapshot_rows(store, tag, "price_data_5min") if r["coin_type"] == coin]

    assert rows("fitted", "usdt") == rows("plain", "usdt")
    assert "calibration" not in omc_data.open_snapshot("plain", store=store).manifest.inputs
    fitted = rows("fitted", "btc")
    spreads = [(r["ask"] - r["bid"]) / r["last"] for r in fitted]
    assert float(np.median(np.array(spreads, dtype=float))) == pytest.approx(BTC_SPREAD, rel=0.35)
    assert fitted != rows("plain", "btc")


def test_the_model_reads_the_calibrated_level() -> None:
    spec = Spec(seed=3, as_of=END, coins=3, days=2)
    hist = History(spec, calibration={"btc": {"volatility": 0.9, "spread": 0.003}})
    assert hist.model.coins["btc"].level == 0.9
    assert hist.model.coins["btc"].spread == 0.003
    assert hist.model.coins["eth"].level == History(spec).model.coins["eth"].level


def test_without_a_collection_the_defaults_are_recorded(tmp_path: Path) -> None:
    m = omc_data.build_snapshot("v1", store=tmp_path, calibrate=True, **SMALL)
    calibration = m.inputs["calibration"]
    assert calibration["source"] == "published defaults"
    assert calibration["coins"] == {} and calibration["responses"] == 0
    assert "no collected Coinspot ticks" in calibration["reason"]


def test_too_few_ticks_keep_the_defaults() -> None:
    quotes = {"btc": dict.fromkeys(range(MIN_RETURNS), (99, 101, 100))}  # MIN_RETURNS - 1 returns
    assert fit(quotes) == {}
    quotes["btc"][10_000] = (99, 101, 100)  # across a gap longer than a day: not a usable return
    assert fit(quotes) == {}


def test_the_cli_option_records_the_calibration(store: Path) -> None:
    run = run_cli(
        "--store", str(store), "build", "--tag", "cli", "--no-real-data", "--calibrate",
        "--as-of", AS_OF, "--seed", "3", "--users", "1", "--coins", "3", "--days", "2",
        "--bcrypt-rounds", "4", "--json",
    )  # fmt: skip
    assert run.code == 0, run
    m = omc_data.open_snapshot("cli", store=store).manifest
    assert (
        m.inputs["calibration"]
        == omc_data.open_snapshot("fitted", store=store).manifest.inputs["calibration"]
    )
