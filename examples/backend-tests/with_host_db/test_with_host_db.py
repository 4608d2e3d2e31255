"""Backend-style tests: the omc-data fixtures write through the backend's own ``db`` Session."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from omc_data.testing import create_test_order, create_test_position


def test_the_fixtures_use_the_backend_session(db: Session, omc_db: Session, test_user: dict) -> None:
    assert omc_db is db
    email = db.execute(sa.text('SELECT email FROM "user" WHERE id = :i'), {"i": test_user["id"]}).scalar_one()
    assert email == test_user["email"]


def test_rows_are_flushed_not_committed(engine: Engine, test_algorithm: dict) -> None:
    with engine.connect() as other:  # another connection does not see uncommitted rows
        assert other.execute(sa.text("SELECT count(*) FROM algorithms")).scalar_one() == 0


def test_helpers_take_the_session(db: Session, omc_db: Session, test_user: dict) -> None:
    position = create_test_position(db, user=test_user, coin_type="eth", quantity="1.5")
    create_test_order(db, user=test_user, status="cancelled")
    assert db.execute(sa.text("SELECT count(*) FROM orders")).scalar_one() == 2
    assert position["order"]["filled_quantity"] == position["quantity"]


def test_earlier_tests_left_nothing_behind(db: Session) -> None:
    for table in ("user", "algorithms", "orders", "positions", "price_data_5min"):
        assert db.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one() == 0
