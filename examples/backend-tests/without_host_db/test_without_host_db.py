"""No ``db`` fixture here: the plugin brings its own database (never DATABASE_URL)."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from omc_data import seed_all_async


def test_fixtures_on_the_plugin_database(omc_db: Any, test_superuser: dict, test_price_data: list) -> None:
    assert test_superuser["is_superuser"]
    assert len(test_price_data) == 50
    assert omc_db.execute(sa.text("SELECT count(*) FROM price_data_5min")).scalar_one() == 50


def test_each_test_starts_empty(omc_db: Any) -> None:
    assert omc_db.execute(sa.text('SELECT count(*) FROM "user"')).scalar_one() == 0


def test_seed_all_async(omc_db: Any) -> None:
    created = asyncio.run(seed_all_async(omc_db, user_count=2, algorithm_count=3))
    assert len(created["algorithms"]) == 3
    assert omc_db.execute(sa.text("SELECT count(*) FROM positions")).scalar_one() == 2
