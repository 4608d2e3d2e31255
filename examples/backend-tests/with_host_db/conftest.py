"""The backend's own fixtures: an engine on its test database and a session-wide ``db`` Session.

A real backend points the engine at its test database and runs its alembic migrations; this example
borrows a database from omc-data's plugin server and creates the tables omc-data knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from omc_data.testing.server import sqlalchemy_url


@pytest.fixture(scope="session")
def engine(omc_data_server: Any) -> Iterator[Engine]:
    with omc_data_server.clone(omc_data_server.empty_schema_template(), prefix="backend_test") as name:
        engine = create_engine(sqlalchemy_url(omc_data_server.url(name)))
        yield engine
        engine.dispose()


@pytest.fixture(scope="session")
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
