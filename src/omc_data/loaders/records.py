"""The record of loads in schema ``omc_data``, and what ``status`` makes of it.

Each load (or clear) adds a row to ``omc_data.loads`` (its own schema, so the app's alembic never sees
it) with, per table, the row count and the extremes of the primary key. ``status`` reads them again:
equal means ``unchanged``, different ``changed`` (naming the tables), no record ``unknown``. The load
also records the change counters of its tables (``tracking``): every app statement that wrote since,
an UPDATE that keeps counts and extremes included, shows as ``changed``; tracking that was removed or
reset reads ``unknown (<reason>)``. ``status --deep`` compares contents instead (``api.database_status``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Literal, TypedDict

import psycopg
from psycopg import sql

from omc_data import catalog
from omc_data.loaders import introspect, tracking
from omc_data.loaders.session import connect, existing_tables
from omc_data.loaders.target import Target

RecordKind = Literal["load", "clear"]
State = Literal["unchanged", "changed", "unknown"]


class LastLoad(TypedDict):
    """The latest row of ``omc_data.loads``: which snapshot was loaded (or a clear), when, by whom."""

    tag: str  # empty for a clear
    kind: RecordKind
    loaded_at: str  # RFC 3339, UTC
    loaded_by: str
    tables: dict[str, int]  # rows loaded by table


class RowChanges(TypedDict):
    added: int
    removed: int
    changed: int


class _DeepStatus(TypedDict, total=False):
    reason: str  # why the state is unknown
    tracking: list[dict[str, Any]]  # each recorded table's trigger and counter (``status -v``)
    deep: bool  # the contents were compared row by row (``api.database_status(deep=True)``)
    changed_rows: dict[str, RowChanges]


class DatabaseStatus(_DeepStatus):
    """What ``omc-data status --json`` prints: a dict, typed."""

    target: str  # masked
    tables: dict[str, int]  # rows now, by dataset table
    last_load: LastLoad | None
    alembic_revision: str | None
    state: State
    changed_tables: list[str]


_RECORD_DDL = [
    "CREATE SCHEMA IF NOT EXISTS omc_data",
    "CREATE TABLE IF NOT EXISTS omc_data.loads ("
    " id bigserial PRIMARY KEY, tag text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(),"
    " loaded_by text NOT NULL DEFAULT current_user, catalog_fingerprint text NOT NULL,"
    " manifest_sha256 text NOT NULL, tables jsonb NOT NULL)",
    "ALTER TABLE omc_data.loads ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'load'",
    "ALTER TABLE omc_data.loads ADD COLUMN IF NOT EXISTS fingerprint jsonb",
    "ALTER TABLE omc_data.loads ADD COLUMN IF NOT EXISTS tracking jsonb",
]
_INSERT_LOAD = (
    "INSERT INTO omc_data.loads"
    " (tag, catalog_fingerprint, manifest_sha256, tables, kind, fingerprint, tracking)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def table_fingerprint(
    conn: psycopg.Connection[Any], names: Sequence[str], known_rows: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    """Row count and key extremes of each table: cheap (the key's index answers min/max).

    ``known_rows``: counts the caller knows exactly (a load knows what it copied), not counted again.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        key = list(catalog.table(name).primary_key) if name in catalog.table_names() else []
        table = sql.Identifier(name)
        rows = (known_rows or {}).get(name)
        count = sql.SQL("(SELECT count(*) FROM {})").format(table) if rows is None else sql.Literal(rows)
        parts: list[sql.Composable] = [count]
        for column in key[:1]:  # ORDER BY + LIMIT, not min(): there is no min(uuid); the key index answers
            col = sql.Identifier(column)
            for direction in (sql.SQL("ASC"), sql.SQL("DESC")):
                parts.append(
                    # "AS extreme": a bare ORDER BY name would sort the text cast instead of using the index
                    sql.SQL("(SELECT {}::text AS extreme FROM {} ORDER BY {} {} LIMIT 1)").format(
                        col, table, col, direction
                    )
                )
        row = conn.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(parts))).fetchone()
        assert row is not None
        out[name] = {
            "rows": int(row[0]),
            "key_min": row[1] if key else None,
            "key_max": row[2] if key else None,
        }
    return out


def record(
    conn: psycopg.Connection[Any],
    *,
    kind: RecordKind,
    tag: str,
    manifest_sha256: str,
    rows: dict[str, int],
    baseline: dict[str, int] | None = None,
) -> None:
    """Add this load (``kind`` load) or clear to ``omc_data.loads``, in the caller's transaction.

    ``baseline``: the change counters of the tables tracked (``tracking.install``), as the load began.
    """
    for stmt in _RECORD_DDL:
        conn.execute(stmt)
    conn.execute(
        _INSERT_LOAD,
        [
            tag,
            catalog.fingerprint(),
            manifest_sha256,
            json.dumps(rows),
            kind,
            json.dumps(table_fingerprint(conn, list(rows), rows)),
            None if baseline is None else json.dumps(baseline),
        ],
    )


def database_status(target: Target) -> DatabaseStatus:
    """What the database holds now, and whether its dataset tables changed since the last load."""
    with connect(target, purpose="omc-data status") as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        present = existing_tables(conn, catalog.table_names())
        names = catalog.load_order(present)
        now = table_fingerprint(conn, names)
        last: LastLoad | None = None
        recorded: dict[str, dict[str, Any]] | None = None
        baseline: dict[str, int] | None = None
        has_log = conn.execute("SELECT to_regclass('omc_data.loads') IS NOT NULL").fetchone()
        if has_log and has_log[0]:
            columns = {
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute"
                    " WHERE attrelid = 'omc_data.loads'::regclass AND attnum > 0"
                ).fetchall()
            }
            fingerprint = sql.SQL("fingerprint" if "fingerprint" in columns else "NULL::jsonb")
            tracked = sql.SQL("tracking" if "tracking" in columns else "NULL::jsonb")
            kind = sql.SQL("kind" if "kind" in columns else "'load'")
            row = conn.execute(
                sql.SQL(
                    "SELECT tag, loaded_at, loaded_by, tables, {}, {}, {}"
                    " FROM omc_data.loads ORDER BY id DESC LIMIT 1"
                ).format(fingerprint, kind, tracked)
            ).fetchone()
            if row:
                last = {
                    "tag": row[0],
                    "kind": row[5],
                    "loaded_at": row[1].astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                    "loaded_by": row[2],
                    "tables": row[3],
                }
                recorded = row[4]
                baseline = row[6]
        watched = [name for name in names if name in (recorded or {})]
        counters = tracking.read(conn, watched)
        revision = introspect.alembic_revision(conn)
        conn.rollback()
    state, changed = _compare_fingerprints(recorded, now)
    reason = "no load by omc-data recorded" if state == "unknown" else None
    if state != "unknown":
        edited, lost = tracking.compare(baseline, counters)
        changed = [name for name in names if name in changed or name in edited]
        state = "changed" if changed else "unknown" if lost else "unchanged"
        reason = lost if state == "unknown" else None
    status: DatabaseStatus = {
        "target": target.masked,
        "tables": {name: fp["rows"] for name, fp in now.items()},
        "last_load": last,
        "alembic_revision": revision,
        "state": state,
        "changed_tables": changed,
        "tracking": [t.to_json() for t in counters],
    }
    if reason:
        status["reason"] = reason
    return status


def _compare_fingerprints(
    recorded: dict[str, dict[str, Any]] | None, now: dict[str, dict[str, Any]]
) -> tuple[State, list[str]]:
    """unchanged | changed (with the tables) | unknown (no load recorded with a fingerprint)."""
    if not recorded:
        return "unknown", []
    changed = [name for name, fp in recorded.items() if now.get(name) != fp]
    return ("changed" if changed else "unchanged"), changed
