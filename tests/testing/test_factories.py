"""The create_test_* helpers and fixtures on the plugin's own database and on a host ``db`` Session."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import decimal
import itertools
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import omc_data
from omc_data.loaders.ddl import schema_ddl
from omc_data.testing import (
    create_test_agent_session,
    create_test_algorithm,
    create_test_deployed_algorithm,
    create_test_order,
    create_test_position,
    create_test_price_data,
    create_test_user,
    remove_created,
    seed_all,
    seeded,
)


def count(db: Any, table: str) -> int:
    return int(db.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one())


@pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning")
def test_fixtures_give_rows_that_obey_the_rules(
    omc_db: Any,
    test_user: dict[str, Any],
    test_superuser: dict[str, Any],
    test_price_data: list[dict[str, Any]],
    test_algorithm: dict[str, Any],
) -> None:
    from passlib.context import CryptContext

    assert test_user["email"].endswith((".example.com", "@example.com", "@example.org", "@example.net"))
    assert test_user["email"] != test_superuser["email"]
    assert test_superuser["is_superuser"] and not test_user["is_superuser"]
    hashed = omc_db.execute(
        sa.text('SELECT hashed_password FROM "user" WHERE id = :i'), {"i": test_user["id"]}
    ).scalar_one()
    assert hashed.startswith("$2b$04$")
    assert CryptContext(schemes=["bcrypt"]).verify(omc_data.defaults.PASSWORD, hashed)
    assert len(test_price_data) == 50
    stamps = [row["timestamp"] for row in test_price_data]
    assert all((b - a).total_seconds() == 300 for a, b in itertools.pairwise(stamps))
    assert {row["coin_type"] for row in test_price_data} == {"btc"}
    assert all(row["bid"] <= row["last"] <= row["ask"] for row in test_price_data)
    assert test_algorithm["created_by"] == test_user["id"]
    assert count(omc_db, "algorithms") == 1


def test_helpers_follow_the_trading_rules(omc_db: Any) -> None:
    user = create_test_user(omc_db, full_name="Alice")
    position = create_test_position(omc_db, user=user, coin_type="eth", quantity="2", average_price="4000")
    assert position["total_cost"] == decimal.Decimal("8000.00")
    order = position["order"]
    assert (
        order["status"] == "filled" and order["filled_quantity"] == order["quantity"] == position["quantity"]
    )
    pending = create_test_order(omc_db, user=user, status="pending")
    assert pending["filled_quantity"] == 0 and pending["submitted_at"] is None
    partial = create_test_order(omc_db, user=user, status="partial")
    assert 0 < partial["filled_quantity"] < partial["quantity"]
    session = create_test_agent_session(omc_db, user=user, messages=3)
    assert count(omc_db, "agent_session_messages") == 3 and session["completed_at"] is not None
    with pytest.raises(omc_data.errors.UsageError):
        create_test_order(omc_db, user=user, status="lost")


def test_same_seed_and_test_id_give_the_same_rows(omc_db: Any) -> None:
    seeded(omc_db, 5, "a-test")
    first = create_test_user(omc_db)
    prices = create_test_price_data(omc_db, coin_type="eth", ticks=3)
    remove_created(omc_db)
    seeded(omc_db, 5, "a-test")
    again = create_test_user(omc_db)
    assert (again["id"], again["email"]) == (first["id"], first["email"])
    assert [p["last"] for p in create_test_price_data(omc_db, coin_type="eth", ticks=3)] == [
        p["last"] for p in prices
    ]
    seeded(omc_db, 5, "another-test")
    assert create_test_user(omc_db)["email"] != first["email"]


def test_seed_all_async_fills_the_database_through_a_session(omc_db: Any) -> None:
    created = asyncio.run(omc_data.seed_all_async(omc_db, user_count=3, algorithm_count=4))
    assert len(created["user"]) == 4  # and the superuser
    assert count(omc_db, "algorithms") == 4
    assert count(omc_db, "positions") == 3
    assert count(omc_db, "price_data_5min") == 150


@dataclasses.dataclass
class AppUser:
    """Like the app's SQLModel ``User``: attributes, not a mapping."""

    id: uuid.UUID | None
    email: str


def test_helpers_take_the_apps_objects_and_plain_ids_as_parents(omc_db: Any) -> None:
    row = create_test_user(omc_db)
    as_object = AppUser(id=row["id"], email=row["email"])
    parents = [row, as_object, SimpleNamespace(id=row["id"]), row["id"], str(row["id"])]
    for parent, coin in zip(parents, ["btc", "eth", "sol", "xrp", "ada"], strict=True):
        assert create_test_order(omc_db, user=parent)["user_id"] == parent_uuid(parent)
        position = create_test_position(omc_db, user=parent, coin_type=coin)  # one per user and coin
        assert position["user_id"] == position["order"]["user_id"] == parent_uuid(parent)
        assert create_test_agent_session(omc_db, user=parent)["user_id"] == parent_uuid(parent)
        assert create_test_algorithm(omc_db, user=parent)["created_by"] == parent_uuid(parent)
    algorithm = create_test_algorithm(omc_db, user=as_object)
    algo_object = SimpleNamespace(**algorithm)
    for algo in (algorithm, algo_object, algorithm["id"]):
        deployed = create_test_deployed_algorithm(omc_db, algorithm=algo, user=as_object)
        assert (deployed["algorithm_id"], deployed["user_id"]) == (algorithm["id"], row["id"])
    by_creator = create_test_deployed_algorithm(omc_db, algorithm=algo_object)
    assert by_creator["user_id"] == row["id"] and by_creator["deployment_name"].startswith("Test ")
    owned = omc_db.execute(sa.text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": row["id"]})
    assert owned.scalar_one() == 2 * len(parents)  # an order, and the position's buy
    with pytest.raises(omc_data.errors.UsageError, match="has no 'id'"):
        create_test_order(omc_db, user=SimpleNamespace(email="x@example.com"))
    with pytest.raises(omc_data.errors.UsageError, match="no id yet"):
        create_test_order(omc_db, user=AppUser(id=None, email="x@example.com"))


def parent_uuid(parent: Any) -> uuid.UUID:
    if isinstance(parent, dict):
        return uuid.UUID(str(parent["id"]))
    if isinstance(parent, (str, uuid.UUID)):
        return uuid.UUID(str(parent))
    return uuid.UUID(str(parent.id))


def price_keys(db: Any) -> set[tuple[str, dt.datetime]]:
    return {(c, t) for c, t in db.execute(sa.text("SELECT coin_type, timestamp FROM price_data_5min"))}


def test_seed_all_twice_adds_fresh_users_and_only_the_missing_ticks(omc_db: Any) -> None:
    as_of = dt.datetime(2026, 11, 1, 12, 2, tzinfo=dt.timezone.utc)
    first = asyncio.run(omc_data.seed_all_async(omc_db, user_count=2, algorithm_count=2, as_of=as_of))
    assert max(r["timestamp"] for r in first["price_data_5min"]) == as_of.replace(minute=0)
    later = as_of + dt.timedelta(hours=1)
    second = asyncio.run(omc_data.seed_all_async(omc_db, user_count=2, algorithm_count=2, as_of=later))
    emails = [u["email"] for u in first["user"] + second["user"]]
    assert len(set(emails)) == len(emails) == 6  # two users and a superuser each time
    assert count(omc_db, "user") == 6 and count(omc_db, "algorithms") == 4
    assert len(second["price_data_5min"]) == 3 * 12  # the hour not there yet, of each coin
    assert count(omc_db, "price_data_5min") == 3 * (50 + 12)
    third = asyncio.run(omc_data.seed_all_async(omc_db, user_count=1, algorithm_count=0, as_of=later))
    assert third["price_data_5min"] == [] and len(third["user"]) == 2


def test_seed_all_is_reproducible_for_a_seed_and_as_of_and_ends_now_by_default(omc_db: Any) -> None:
    as_of = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)

    def run() -> tuple[list[Any], set[tuple[str, dt.datetime]], list[Any]]:
        created = seed_all(omc_db, user_count=2, algorithm_count=1, seed=7, as_of=as_of)
        keys = price_keys(omc_db)
        prices = sorted((r["coin_type"], r["timestamp"], r["last"]) for r in created["price_data_5min"])
        remove_created(omc_db)
        return [(u["id"], u["email"]) for u in created["user"]], keys, prices

    assert run() == run()
    before = dt.datetime.now(dt.timezone.utc)
    created = seed_all(omc_db, user_count=1, algorithm_count=0, coins=["btc"], price_ticks=3)
    last = max(r["timestamp"] for r in created["price_data_5min"])
    assert before - dt.timedelta(minutes=5) < last <= dt.datetime.now(dt.timezone.utc)


# -- a host ``db`` fixture, on a seed-era schema (no current-head columns) --------------------------


@pytest.fixture
def seed_era_url(pg_db: str) -> str:
    with psycopg.connect(pg_db) as conn:
        for stmt in schema_ddl():
            conn.execute(stmt)
        for table, column in [
            ("agent_sessions", "llm_provider"),
            ("agent_sessions", "llm_model"),
            ("agent_sessions", "llm_credential_id"),
            ("agent_session_messages", "sequence_id"),
            ("agent_session_messages", "event_type"),
            ("agent_session_messages", "stage"),
        ]:
            conn.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    return pg_db


class TestHostDb:
    @pytest.fixture
    def db(self, seed_era_url: str) -> Iterator[Session]:
        engine = sa.create_engine("postgresql+psycopg://" + seed_era_url.split("://", 1)[1])
        with Session(engine) as session:
            yield session
            session.commit()  # what the helpers left (nothing: they clean up) becomes visible
        engine.dispose()

    def test_uses_the_host_session_and_older_columns(
        self, db: Session, omc_db: Any, test_user: dict[str, Any]
    ) -> None:
        assert omc_db is db
        session = create_test_agent_session(db, user=test_user, messages=2)
        assert count(db, "agent_sessions") == 1 and session["llm_provider"] == "system_default"
        assert db.in_transaction()

    def test_teardown_removed_every_row(self, db: Session) -> None:
        # The previous test's rows were deleted children first before its session committed.
        assert all(count(db, t) == 0 for t in ("user", "agent_sessions", "agent_session_messages"))

    def test_rows_are_flushed_not_committed(
        self, db: Session, seed_era_url: str, test_user: dict[str, Any]
    ) -> None:
        with psycopg.connect(seed_era_url) as other:
            assert other.execute('SELECT count(*) FROM "user"').fetchone() == (0,)
