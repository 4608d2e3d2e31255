"""Issue 14.1: every app INSERT, UPDATE, DELETE or TRUNCATE since the last load is seen by the cheap
``status`` (so the next CLI load backs up first), the load's own writes are not, lost tracking reads
``unknown (<reason>)``, and the tracking never makes an app write fail."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import omc_data
from snaptools import build_small, fresh_copy, run_cli, snapshot_rows

TAG = "v0"
DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tracking") / "s"
    build_small(root, TAG)
    return root


@pytest.fixture
def store(base: Path, tmp_path: Path) -> Path:
    return fresh_copy(base, tmp_path)


@pytest.fixture
def loaded(pg_db: str, store: Path) -> str:
    omc_data.load_snapshot(TAG, db=pg_db, store=store, create_schema=True)
    return pg_db


def _execute(db: str, statement: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(statement)


def _status(db: str) -> dict[str, Any]:
    return dict(omc_data.database_status(db))


def _poll(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_right_after_a_load_the_tables_are_unchanged_and_status_v_lists_the_triggers(
    loaded: str, store: Path
) -> None:
    status = _status(loaded)
    assert status["state"] == "unchanged", status
    assert "reason" not in status
    tracked = {t["table"]: t for t in status["tracking"]}
    assert "user" in tracked and "price_data_5min" in tracked
    assert all(
        t["trigger"] == "omc_data_track" and t["enabled"] and t["counter"] >= 1 for t in tracked.values()
    )
    verbose = run_cli("--store", str(store), "-v", "status", "--db", loaded)
    assert verbose.code == 0, verbose
    assert "since then: unchanged" in verbose.stdout
    assert f"tracking user: trigger omc_data_track, counter {tracked['user']['counter']}" in verbose.stdout
    # A second load over it: its own writes are still not changes.
    omc_data.load_snapshot(TAG, db=loaded, store=store)
    assert _status(loaded)["state"] == "unchanged"


def test_an_update_of_one_full_name_is_changed_and_the_next_cli_load_backs_it_up(
    loaded: str, store: Path
) -> None:
    _execute(
        loaded,
        "UPDATE \"user\" SET full_name = 'Edited By The App'"
        ' WHERE id = (SELECT min(id::text)::uuid FROM "user")',
    )
    status = _status(loaded)  # at once: nothing waits for statistics to be flushed
    assert (status["state"], status["changed_tables"]) == ("changed", ["user"]), status
    shown = run_cli("--store", str(store), "status", "--db", loaded)
    assert shown.code == 0, shown
    assert "since then: changed (user)" in shown.stdout
    load = run_cli("--store", str(store), "load", TAG, "--db", loaded, "--json")
    assert load.code == 0, load
    backup = load.json()["backup"]
    assert backup and backup.startswith("pre-load-"), load
    assert "Edited By The App" in {r["full_name"] for r in snapshot_rows(store, backup, "user")}
    assert _status(loaded)["state"] == "unchanged"


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("INSERT INTO price_data_5min SELECT * FROM price_data_5min LIMIT 0", "price_data_5min"),
        ("DELETE FROM price_data_5min WHERE id = (SELECT max(id) FROM price_data_5min)", "price_data_5min"),
        ("TRUNCATE news_sentiment", "news_sentiment"),
        ("UPDATE protocol_fundamentals SET id = id WHERE false", "protocol_fundamentals"),
    ],
    ids=["insert", "delete", "truncate", "update"],
)
def test_each_kind_of_write_is_seen_and_named(loaded: str, statement: str, table: str) -> None:
    _execute(loaded, statement)
    status = _status(loaded)
    assert (status["state"], status["changed_tables"]) == ("changed", [table]), status


def test_a_rolled_back_write_counts_as_a_change_which_only_costs_a_backup(loaded: str) -> None:
    with psycopg.connect(loaded) as conn:
        conn.execute('UPDATE "user" SET full_name = full_name')
        conn.rollback()
    assert _status(loaded)["changed_tables"] == ["user"]


@pytest.mark.parametrize(
    "lose",
    [
        "untrack",
        'ALTER TABLE "user" DISABLE TRIGGER omc_data_track',
        'DROP TRIGGER omc_data_track ON "user"',
        'ALTER SEQUENCE omc_data."changes:user" RESTART',
        'DROP SEQUENCE omc_data."changes:user"',
        "DROP TABLE omc_data.loads",
    ],
)
def test_lost_tracking_reads_unknown_with_its_reason_and_the_next_load_backs_up(
    loaded: str, store: Path, lose: str
) -> None:
    if lose == "untrack":
        removed = run_cli("--store", str(store), "untrack", "--db", loaded, "--json")
        assert removed.code == 0, removed
        assert "user" in removed.json()["untracked"]
    else:
        _execute(loaded, lose)
    status = _status(loaded)
    assert status["state"] == "unknown", status
    if lose == "DROP TABLE omc_data.loads":
        assert status["reason"] == "no load by omc-data recorded"
    else:
        assert "removed or reset on" in status["reason"] and "user" in status["reason"]
    shown = run_cli("--store", str(store), "status", "--db", loaded)
    assert f"since then: unknown ({status['reason']})" in " ".join(shown.stdout.split()), shown
    done = omc_data.load_snapshot(TAG, db=loaded, store=store, backup=None)
    assert done.backup is not None
    assert _status(loaded)["state"] == "unchanged"  # the load put the tracking back


@pytest.fixture
def app_role(loaded: str) -> Iterator[str]:
    """The conninfo of a LOGIN role that is not the tables' owner and has no right on schema omc_data."""
    role = f"omc_app_{secrets.token_hex(4)}"
    password = secrets.token_hex(8)
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
        )
        conn.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(sql.Identifier(role))
        )
    params = conninfo_to_dict(loaded)
    params.update(user=role, password=password)
    try:
        yield make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})
    finally:
        with psycopg.connect(loaded, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_app_write_as_a_non_owner_role_is_counted(loaded: str, app_role: str) -> None:
    _execute(app_role, "UPDATE \"user\" SET full_name = 'by the app role' WHERE false")
    assert _status(loaded)["changed_tables"] == ["user"]


def test_an_app_write_never_fails_when_the_counter_is_missing(loaded: str, app_role: str) -> None:
    _execute(loaded, 'DROP SEQUENCE omc_data."changes:user"')
    _execute(app_role, "UPDATE \"user\" SET full_name = 'still written'")
    with psycopg.connect(loaded) as conn:
        assert conn.execute(
            "SELECT count(*) FROM \"user\" WHERE full_name <> 'still written'"
        ).fetchone() == (0,)
    assert _status(loaded)["state"] == "unknown"


def test_an_app_write_waits_for_a_locked_counter_and_never_fails(loaded: str, app_role: str) -> None:
    errors: list[BaseException] = []

    def app_write() -> None:
        try:
            with psycopg.connect(app_role, autocommit=True, application_name="tracking-app") as conn:
                conn.execute("SET lock_timeout = '50ms'")  # the app's own: the trigger does not inherit it
                conn.execute("UPDATE \"user\" SET full_name = 'while locked'")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with psycopg.connect(loaded) as holder, psycopg.connect(loaded, autocommit=True) as watch:
        holder.execute('ALTER SEQUENCE omc_data."changes:user" INCREMENT BY 1')  # locks out nextval
        writer = threading.Thread(target=app_write)
        writer.start()
        _poll(
            lambda: (
                watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tracking-app'"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                == (1,)
            ),
            "the app write to wait for the counter's lock",
        )
        holder.commit()
        writer.join(DEADLINE_S)
    assert not writer.is_alive() and errors == []
    assert _status(loaded)["changed_tables"] == ["user"]


def test_a_write_committed_between_status_and_the_loads_lock_is_backed_up(loaded: str, store: Path) -> None:
    assert _status(loaded)["state"] == "unchanged"  # what a user saw before running load
    app = psycopg.connect(loaded, application_name="tracking-app")
    app.execute("UPDATE \"user\" SET full_name = 'landed before the lock'")  # holds its row locks
    outcome: list[Any] = []

    def load() -> None:
        try:
            outcome.append(
                omc_data.load_snapshot(TAG, db=loaded, store=store, backup=None, lock_timeout=DEADLINE_S)
            )
        except BaseException as exc:
            outcome.append(exc)

    loader = threading.Thread(target=load)
    try:
        loader.start()
        with psycopg.connect(loaded, autocommit=True) as watch:
            _poll(
                lambda: (
                    watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'omc-data load%%'"
                        " AND wait_event_type = 'Lock'"
                    ).fetchone()
                    == (1,)
                ),
                "the load to wait for the app's lock",
            )
        app.commit()
        loader.join(DEADLINE_S)
    finally:
        app.close()
    assert not loader.is_alive()
    (result,) = outcome
    assert not isinstance(result, BaseException), result
    assert result.backup is not None
    assert {r["full_name"] for r in snapshot_rows(store, result.backup, "user")} == {"landed before the lock"}
