"""Change tracking on the dataset tables: every app INSERT, UPDATE, DELETE or TRUNCATE is counted.

A load installs, in its own transaction, one statement-level AFTER INSERT OR UPDATE OR DELETE OR
TRUNCATE trigger per table it writes (``omc_data_track``). The trigger bumps that table's sequence
``omc_data."changes:<table>"``. Why a sequence and not a counter row:

- ``nextval`` never waits for another writer and never conflicts: two app transactions writing the
  same table do not serialize on a counter row.
- it is not transactional, so a change is visible to ``status`` the moment the statement ran, before
  its commit (a rolled-back write still counts: that only means one extra backup).
- statement level: one ``nextval`` per statement, nothing per row (a 5M-row COPY fires it once).

The function cannot make an app write fail: SECURITY DEFINER with a fixed search_path (an app role
needs no right on schema ``omc_data``), ``lock_timeout = 0`` (a lock on the sequence makes the write
wait, not fail), and ``EXCEPTION WHEN OTHERS`` swallows everything else (a dropped sequence, say;
``status`` then reads ``unknown``, since the sequence is gone).

The load's own writes are not changes: it stores its transaction id in the setting
``omc_data.loading_xid`` (transaction-local), which the trigger compares with ``txid_current()``, and
restarts each counter at 1 in its transaction (``ALTER SEQUENCE ... RESTART`` rolls back with a failed
load, where nextval or setval would not; a RESTART by anyone else goes to the START, 0, below it) and
records that baseline with the load. ``status`` compares them with the
counters now: higher is ``changed``; a missing trigger, disabled trigger, missing or lower counter is
``unknown`` (the tracking was lost). ``omc-data untrack`` removes it all (``remove``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

TRIGGER = "omc_data_track"
FUNCTION = "omc_data.note_change"
GUC = "omc_data.loading_xid"

_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = 0
AS $fn$
BEGIN
    IF current_setting('{GUC}', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM nextval(TG_ARGV[0]::regclass);
    END IF;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$fn$
"""


def sequence_name(table: str) -> str:
    return f"changes:{table}"


def _sequence(table: str) -> sql.Composable:
    return sql.SQL("omc_data.{}").format(sql.Identifier(sequence_name(table)))


@dataclass(frozen=True)
class TableTracking:
    """One table's tracking as ``status -v`` lists it."""

    table: str
    trigger: str | None  # None: no trigger (removed, or never installed)
    enabled: bool
    counter: int | None  # None: no sequence

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "trigger": self.trigger,
            "enabled": self.enabled,
            "counter": self.counter,
        }


def install(conn: psycopg.Connection[Any], tables: Sequence[str]) -> dict[str, int]:
    """In the caller's (the load's) transaction: the triggers on ``tables``, and its own writes ignored.

    Returns each tracked table's counter now (the baseline recorded with the load). A table (or counter)
    the role does not own is left out: ``status`` then says ``unknown`` for it.
    """
    conn.execute("CREATE SCHEMA IF NOT EXISTS omc_data")
    owner = conn.execute(
        "SELECT pg_has_role(proowner, 'MEMBER') FROM pg_proc WHERE oid = to_regprocedure(%s)",
        [f"{FUNCTION}()"],
    ).fetchone()
    if owner is None or owner[0]:  # another role's function (an earlier load by it) is used as it is
        conn.execute(_FUNCTION_DDL)
    conn.execute("SELECT set_config(%s, txid_current()::text, true)", [GUC])
    baseline: dict[str, int] = {}
    for table in tables:
        row = conn.execute(  # the owner (or a member): the load needs it anyway, DROP TRIGGER too
            "SELECT pg_has_role(relowner, 'MEMBER') FROM pg_class WHERE oid = %s::regclass", [table]
        ).fetchone()
        if not row or not row[0]:
            continue
        seq = _sequence(table)
        conn.execute(sql.SQL("CREATE SEQUENCE IF NOT EXISTS {} AS bigint MINVALUE 0 START 0").format(seq))
        mine = conn.execute(
            "SELECT pg_has_role(relowner, 'MEMBER') FROM pg_class WHERE oid = to_regclass(%s)",
            [f'omc_data."{sequence_name(table)}"'],
        ).fetchone()
        if not mine or not mine[0]:  # another role's counter: not tracked by this load (status: unknown)
            continue
        # The baseline is 1, set transactionally (a failed load leaves the counter as it was; setval
        # or nextval would not roll back): a RESTART by anyone else goes to START 0, below it.
        conn.execute(sql.SQL("ALTER SEQUENCE {} MINVALUE 0 START WITH 0 RESTART WITH 1").format(seq))
        found = conn.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s", [table, TRIGGER]
        ).fetchone()
        if found and found[0] != "O":
            conn.execute(
                sql.SQL("DROP TRIGGER {} ON {}").format(sql.Identifier(TRIGGER), sql.Identifier(table))
            )
            found = None
        if not found:
            conn.execute(
                sql.SQL(
                    "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {}"
                    " FOR EACH STATEMENT EXECUTE FUNCTION {}({})"
                ).format(
                    sql.Identifier(TRIGGER),
                    sql.Identifier(table),
                    sql.SQL(FUNCTION),
                    sql.Literal(f'omc_data."{sequence_name(table)}"'),
                )
            )
        baseline[table] = _counter(conn, table) or 0
    return baseline


def _counter(conn: psycopg.Connection[Any], table: str) -> int | None:
    exists = conn.execute("SELECT to_regclass(%s)", [f'omc_data."{sequence_name(table)}"']).fetchone()
    if not exists or exists[0] is None:
        return None
    row = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(_sequence(table))).fetchone()
    assert row is not None
    return int(row[0]) + 1 if row[1] else int(row[0])  # the value nextval would return


def read(conn: psycopg.Connection[Any], tables: Sequence[str]) -> list[TableTracking]:
    """Each table's trigger (name, enabled) and counter, as they are now."""
    out: list[TableTracking] = []
    for table in tables:
        found = conn.execute(
            "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE t.tgrelid = to_regclass(%s) AND t.tgname = %s"
            " AND n.nspname = 'omc_data' AND p.proname = 'note_change'",
            [table, TRIGGER],
        ).fetchone()
        trigger = str(found[0]) if found else None
        enabled = bool(found) and found is not None and found[1] in ("O", "A")
        out.append(TableTracking(table, trigger, enabled, _counter(conn, table)))
    return out


def compare(recorded: dict[str, int] | None, now: Sequence[TableTracking]) -> tuple[list[str], str | None]:
    """The tables changed since the baseline, and why the tracking cannot be trusted (None: it can)."""
    if recorded is None:
        return [], "the last load recorded no change tracking"
    by_name = {t.table: t for t in now}
    changed: list[str] = []
    lost: list[str] = []
    for table, base in recorded.items():
        t = by_name.get(table)
        if t is None:
            continue
        if t.trigger is None or not t.enabled or t.counter is None or t.counter < base:
            lost.append(table)
        elif t.counter > base:
            changed.append(table)
    missing = [t.table for t in now if t.table not in recorded]
    reason = None
    if lost:
        reason = f"change tracking was removed or reset on {', '.join(lost)}"
    elif missing:
        reason = f"the last load did not track {', '.join(missing)}"
    return changed, reason


def remove(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop the function (with every trigger using it) and the counters; the tables that were tracked."""
    tracked = [
        str(r[0])
        for r in conn.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = %s ORDER BY 1",
            [TRIGGER],
        ).fetchall()
    ]
    conn.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}() CASCADE")
    for (name,) in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'omc_data' AND c.relkind = 'S' AND c.relname LIKE 'changes:%%'"
    ).fetchall():
        conn.execute(sql.SQL("DROP SEQUENCE omc_data.{}").format(sql.Identifier(str(name))))
    return tracked
