"""The create_test_* helpers and fixtures on the plugin's own database and on a host ``db`` Session."""

from __future__ import annotations

import asyncio
import decimal
import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import omc_data
from omc_data.loaders.ddl import schema_ddl
from omc_data.testing import (
    create_test_agent_session,
    create_test_order,
    create_test_position,
    create_test_price_data,
    create_test_user,
    remove_created,
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
