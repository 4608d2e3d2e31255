"""One more user or one more coin changes only what it must; another seed changes everything; every small
spec (edge cases included) builds a snapshot that validates."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import omc_data
from omc_data import catalog
from omc_data.errors import UsageError
from snaptools import snapshot_rows

AS_OF = "2026-11-01T00:00:00Z"
BASE: dict[str, Any] = {"seed": 5, "as_of": AS_OF, "users": 5, "coins": 3, "days": 1, "bcrypt_rounds": 4}
BUILDS = {
    "base": BASE,
    "plus-user": {**BASE, "users": 6},
    "plus-coin": {**BASE, "coins": 4},
    "other-seed": {**BASE, "seed": 6},
}
AGENT_TABLES = ("agent_sessions", "agent_session_messages", "agent_artifacts")
ALGORITHM_TABLES = ("algorithms", "deployed_algorithms")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stability")
    for tag, spec in BUILDS.items():
        omc_data.build_snapshot(tag, store=root, **spec)
    return root


def digests(store: Path, tag: str) -> dict[str, list[str]]:
    """table -> the sha256 of each part, as the manifest records them."""
    manifest = omc_data.open_snapshot(tag, store=store).manifest
    return {name: [p.sha256 for p in t.parts] for name, t in manifest.tables.items()}


def by_id(store: Path, tag: str, table: str) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in snapshot_rows(store, tag, table)}


def test_every_build_is_intact_and_covers_every_table(store: Path) -> None:
    for tag in BUILDS:
        snap = omc_data.open_snapshot(tag, store=store)
        assert snap.problems() == []
        assert set(snap.manifest.tables) == {t.name for t in catalog.TABLES}


# --- one more user ----------------------------------------------------------------------------------


def test_one_more_user_leaves_market_data_byte_identical(store: Path) -> None:
    a, b = digests(store, "base"), digests(store, "plus-user")
    for table in ("price_data_5min", "news_sentiment", "protocol_fundamentals"):
        assert a[table] == b[table], table
    assert a["user"] != b["user"]


def test_one_more_user_keeps_every_existing_user(store: Path) -> None:
    before, after = by_id(store, "base", "user"), by_id(store, "plus-user", "user")
    assert len(before) == BASE["users"] + 1
    assert len(after) == len(before) + 1
    for uid, row in before.items():
        assert after[uid] == row


def new_user(store: Path) -> Any:
    before, after = by_id(store, "base", "user"), by_id(store, "plus-user", "user")
    (newcomer,) = set(after) - set(before)
    return newcomer


@pytest.mark.parametrize("table", ["orders", "positions"])
def test_one_more_user_keeps_the_trading_of_existing_users(store: Path, table: str) -> None:
    before, after = by_id(store, "base", table), by_id(store, "plus-user", table)
    newcomer = new_user(store)
    assert before
    for key, row in before.items():
        assert after.get(key) == row, key
    added = {k: r for k, r in after.items() if k not in before}
    assert {r["user_id"] for r in added.values()} <= {newcomer}
    # the existing users' rows are exactly the old ones: nothing of theirs appeared
    assert {k for k, r in after.items() if r["user_id"] != newcomer} == set(before)


def test_the_new_user_trades(store: Path) -> None:
    """With this seed the newcomer is a trader (most users are): their orders and positions exist."""
    newcomer = new_user(store)
    orders = [o for o in snapshot_rows(store, "plus-user", "orders") if o["user_id"] == newcomer]
    positions = [p for p in snapshot_rows(store, "plus-user", "positions") if p["user_id"] == newcomer]
    assert orders
    filled = {o["coin_type"] for o in orders if o["filled_quantity"] > 0}
    assert {p["coin_type"] for p in positions} <= filled


# --- one more coin ----------------------------------------------------------------------------------


def test_one_more_coin_leaves_users_news_protocols_and_the_lab_byte_identical(store: Path) -> None:
    a, b = digests(store, "base"), digests(store, "plus-coin")
    # algorithms trade the top 10 coins of the ranked list whatever --coins says: unchanged too
    for table in ("user", "news_sentiment", "protocol_fundamentals", *AGENT_TABLES, *ALGORITHM_TABLES):
        assert a[table] == b[table], table
    assert a["price_data_5min"] != b["price_data_5min"]


def test_one_more_coin_keeps_the_existing_coins_prices(store: Path) -> None:
    def keyed(tag: str) -> dict[tuple[str, Any], dict[str, Any]]:
        return {(r["coin_type"], r["timestamp"]): r for r in snapshot_rows(store, tag, "price_data_5min")}

    before, after = keyed("base"), keyed("plus-coin")
    coins_before = {c for c, _ in before}
    coins_after = {c for c, _ in after}
    assert len(coins_before) == BASE["coins"]
    assert coins_before < coins_after and len(coins_after) == BASE["coins"] + 1
    for key, row in before.items():
        new = after[key]
        # the serial id is a surrogate; the row is identified by (coin_type, timestamp)
        assert {k: v for k, v in new.items() if k != "id"} == {k: v for k, v in row.items() if k != "id"}, key
    assert len(after) - len(before) == 288 * BASE["days"]


# --- another seed ------------------------------------------------------------------------------------


def test_another_seed_changes_every_table(store: Path) -> None:
    a, b = digests(store, "base"), digests(store, "other-seed")
    assert set(a) == set(b)
    for table in a:
        assert a[table] != b[table], table


# --- every small spec validates ---------------------------------------------------------------------


def build_and_check(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = omc_data.build_snapshot("h", store=Path(tmp), as_of=AS_OF, bcrypt_rounds=4, **spec)
        validation = manifest.validation
        assert validation["passed"] is True, validation
        assert validation["blocking_failures"] == 0
        assert validation["checks_run"] > 0
        assert set(manifest.tables) == {t.name for t in catalog.TABLES}
        assert manifest.tables["user"].rows == spec["users"] + 1
        assert manifest.tables["agent_sessions"].rows == spec["agent_sessions"]
        assert manifest.tables["algorithms"].rows == spec["algorithms"]
        assert manifest.tables["price_data_5min"].rows == 288 * spec["days"] * spec["coins"]
        # and the snapshot on disk validates again, the way `omc-data validate` sees it
        assert omc_data.verify_snapshot("h", store=Path(tmp)) == []
        report = omc_data.validate_snapshot("h", store=Path(tmp))
        assert report.passed, [c.to_json() for c in report.blocking_failures]


SPECS = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32),
        "users": st.integers(0, 4),
        "coins": st.integers(1, 3),
        "days": st.just(1),
        "algorithms": st.sampled_from([0, 1, 15]),
        "agent_sessions": st.sampled_from([0, 1, 20]),
        "deployments": st.sampled_from([0, 8]),
        "orders_per_user": st.sampled_from([0, 1, 20]),
        "news": st.sampled_from([0, 5]),
        "protocols": st.sampled_from([0, 3]),
    }
)
EDGE = {"news": 5, "protocols": 3, "deployments": 8, "orders_per_user": 20, "days": 1}


@settings(max_examples=6, deadline=None)
@given(spec=SPECS)
@example(spec={"seed": 1, "users": 0, "coins": 1, "algorithms": 15, "agent_sessions": 20, **EDGE})
@example(spec={"seed": 2, "users": 3, "coins": 2, "algorithms": 0, "agent_sessions": 20, **EDGE})
@example(spec={"seed": 3, "users": 3, "coins": 2, "algorithms": 15, "agent_sessions": 0, **EDGE})
@example(spec={"seed": 4, "users": 0, "coins": 3, "algorithms": 0, "agent_sessions": 0, **EDGE})
def test_every_small_spec_builds_a_snapshot_that_validates(spec: dict[str, Any]) -> None:
    build_and_check(spec)


def test_zero_days_is_a_usage_error() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with pytest.raises(UsageError, match="days must be at least 1"):
            omc_data.build_snapshot(
                "d0", store=Path(tmp), as_of=AS_OF, bcrypt_rounds=4, users=3, coins=2, days=0
            )
        assert list(Path(tmp).iterdir()) == []
