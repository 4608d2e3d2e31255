"""omc_snapshot_db: each test gets its own clone of a template loaded once per tag."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

import omc_data
from omc_data.testing import SnapshotDb
from omc_data.testing.server import TestServer
from snaptools import SMALL


@pytest.fixture(scope="module", autouse=True)
def small_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A small snapshot in a store the plugin finds through OMC_DATA_STORE."""
    store = tmp_path_factory.mktemp("store")
    omc_data.build_snapshot("small", store=store, news=0, **SMALL)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMC_DATA_STORE", str(store))
        yield


def users(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute('SELECT count(*) FROM "user"').fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.omc_snapshot("small")
def test_a_clone_holds_the_snapshot_and_changes_stay_in_it(omc_snapshot_db: SnapshotDb) -> None:
    assert omc_snapshot_db.tag == "small"
    assert users(omc_snapshot_db.url) == SMALL["users"] + 1
    with psycopg.connect(omc_snapshot_db.url) as conn:
        conn.execute(
            'DELETE FROM "user" WHERE NOT is_superuser AND id NOT IN '
            "(SELECT user_id FROM orders UNION SELECT user_id FROM positions "
            "UNION SELECT created_by FROM algorithms UNION SELECT user_id FROM agent_sessions "
            "UNION SELECT user_id FROM deployed_algorithms)"
        )


@pytest.mark.omc_snapshot("small")
def test_the_next_clone_is_fresh_and_the_template_was_loaded_once(
    omc_snapshot_db: SnapshotDb, omc_data_server: TestServer
) -> None:
    assert users(omc_snapshot_db.url) == SMALL["users"] + 1
    assert len(omc_data_server.snapshot_templates) == 1


@pytest.mark.parametrize("omc_snapshot_db", ["small"], indirect=True)
def test_indirect_parametrisation_names_the_tag(omc_snapshot_db: SnapshotDb) -> None:
    assert omc_snapshot_db.tag == "small"
    assert users(omc_snapshot_db.url) == SMALL["users"] + 1
