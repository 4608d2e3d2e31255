"""Test data for the OMC backend's own tests: a pytest plugin and ``create_test_*`` helpers.

Installed with omc-data, the plugin loads by itself (``pytest11`` entry point) and gives every test
the fixtures ``omc_db``, ``test_user``, ``test_superuser``, ``test_price_data``, ``test_algorithm``,
``omc_snapshot_db`` and ``omc_data_seed`` (see :mod:`omc_data.testing.plugin`). The helpers::

    from omc_data.testing import create_test_order, create_test_user

    def test_orders_page(db):
        user = create_test_user(db, email="alice@example.com")
        create_test_order(db, user=user, status="partial")

Only pytest is imported here; the helpers and everything under them load on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omc_data.testing.plugin import (
    SnapshotDb,
    _omc_data_engine,
    _test_algorithm,
    _test_price_data,
    _test_superuser,
    _test_user,
    omc_data_seed,
    omc_data_server,
    omc_db,
    omc_snapshot_db,
    pytest_configure,
)

if TYPE_CHECKING:
    from omc_data.testing.factories import (
        bcrypt_hash,
        create_test_agent_session,
        create_test_algorithm,
        create_test_deployed_algorithm,
        create_test_order,
        create_test_position,
        create_test_price_data,
        create_test_superuser,
        create_test_user,
        remove_created,
        seeded,
    )
    from omc_data.testing.seed import seed_all, seed_all_async

_HELPERS = {
    "bcrypt_hash": "factories",
    "create_test_agent_session": "factories",
    "create_test_algorithm": "factories",
    "create_test_deployed_algorithm": "factories",
    "create_test_order": "factories",
    "create_test_position": "factories",
    "create_test_price_data": "factories",
    "create_test_superuser": "factories",
    "create_test_user": "factories",
    "remove_created": "factories",
    "seeded": "factories",
    "seed_all": "seed",
    "seed_all_async": "seed",
}

__all__ = [
    "SnapshotDb",
    "_omc_data_engine",
    "_test_algorithm",
    "_test_price_data",
    "_test_superuser",
    "_test_user",
    "bcrypt_hash",
    "create_test_agent_session",
    "create_test_algorithm",
    "create_test_deployed_algorithm",
    "create_test_order",
    "create_test_position",
    "create_test_price_data",
    "create_test_superuser",
    "create_test_user",
    "omc_data_seed",
    "omc_data_server",
    "omc_db",
    "omc_snapshot_db",
    "pytest_configure",
    "remove_created",
    "seed_all",
    "seed_all_async",
    "seeded",
]


def __getattr__(name: str) -> Any:
    if name in _HELPERS:
        import importlib

        module = importlib.import_module(f"omc_data.testing.{_HELPERS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
