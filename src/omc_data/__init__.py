"""omc-data: snapshot-versioned datasets for the Oh My Coins database.

    import omc_data
    omc_data.build_snapshot("v12", store="snapshots", seed=7)
    omc_data.load_snapshot("v12", store="snapshots", db="postgresql://omc@127.0.0.1:5432/omc")
    omc_data.diff_snapshots("v11", "v12", store="snapshots").summary()

The API is imported lazily (PEP 562), so ``import omc_data`` and ``omc-data --help`` stay instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omc_data.api import (
        build_snapshot,
        capture_snapshot,
        check_snapshot,
        clear_dataset_tables,
        collect_once,
        database_status,
        diff_snapshots,
        list_snapshots,
        load_snapshot,
        local_server_down,
        local_server_reset,
        local_server_status,
        local_server_up,
        open_snapshot,
        open_store,
        prune_collection,
        remove_snapshot,
        replay_snapshot,
        validate_snapshot,
        verify_snapshot,
    )
    from omc_data.testing.seed import seed_all_async

__all__ = [
    "build_snapshot",
    "capture_snapshot",
    "check_snapshot",
    "clear_dataset_tables",
    "collect_once",
    "database_status",
    "diff_snapshots",
    "list_snapshots",
    "load_snapshot",
    "local_server_down",
    "local_server_reset",
    "local_server_status",
    "local_server_up",
    "open_snapshot",
    "open_store",
    "prune_collection",
    "remove_snapshot",
    "replay_snapshot",
    "seed_all_async",
    "validate_snapshot",
    "verify_snapshot",
]


def __getattr__(name: str) -> Any:
    if name == "seed_all_async":  # test data through a SQLAlchemy Session (omc_data.testing)
        from omc_data.testing import seed

        return seed.seed_all_async
    if name in __all__:
        from omc_data import api

        return getattr(api, name)
    raise AttributeError(f"module 'omc_data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
