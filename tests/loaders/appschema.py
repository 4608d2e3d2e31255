"""The real OMC app schema for loader tests: apply it, fingerprint a whole database, add app rows.

``sql/omc_current.sql`` is the app's database at alembic head ``s2v6w3x9y4z8`` and ``sql/omc_seed_era.sql``
at ``28ac3452fc30`` (see ``/work/shared/omc-schema.md``): the dataset tables with the app's quirks, app
tables whose foreign keys point at dataset rows, materialized views (current schema only), comments and
a CLUSTER ON mark.

``db_fingerprint`` reads everything a load could change, as plain data two calls can compare with ``==``:
rows of every table in every schema (sorted), every sequence's state, every materialized view's rows and
whether it is populated, and the definitions in ``public`` (columns, indexes, constraints, comments,
clustered flags, views, sequence options, owners and grants).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

Variant = Literal["current", "seed_era", "head"]

SQL_DIR = Path(__file__).parent / "sql"
ALEMBIC_HEADS: dict[Variant, str] = {
    "current": "s2v6w3x9y4z8",
    "seed_era": "28ac3452fc30",
    "head": "s2v6w3x9y4z8",  # omc_head.sql: the same revision with every table of the app
}
# App tables (not dataset tables) in the schema files, and the materialized views of the current one.
APP_TABLES: dict[Variant, tuple[str, ...]] = {
    "current": (
        "alembic_version",
        "user_llm_credentials",
        "ext_audit_log",
        "ext_backtest_runs",
        "ext_strategy_promotions",
    ),
    "seed_era": ("alembic_version", "ext_audit_log", "ext_backtest_runs", "ext_strategy_promotions"),
    "head": ("alembic_version", "collector", "alert_rule", "user_llm_credentials", "coinspot_credentials"),
}
# The dataset tables of the seed script: all that omc_current.sql and omc_seed_era.sql hold.
SEED_SCRIPT_TABLES = (
    "user",
    "agent_sessions",
    "agent_session_messages",
    "agent_artifacts",
    "algorithms",
    "deployed_algorithms",
    "positions",
    "orders",
    "price_data_5min",
    "protocol_fundamentals",
    "news_sentiment",
)
MATVIEWS = ("mv_price_hourly", "mv_price_daily", "mv_news_daily", "mv_order_volume")
# The materialized views of omc_head.sql (the app's seven at its head).
HEAD_MATVIEWS = (
    "mv_coin_targets_5min",
    "mv_ohlcv_1m",
    "mv_sentiment_signals_1h",
    "mv_catalyst_impact_decay",
    "mv_coin_sentiment_24h",
    "mv_signal_summary",
    "mv_training_set_v1",
)

_SYSTEM = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"


def schema_sql(variant: Variant = "current") -> str:
    return (SQL_DIR / f"omc_{variant}.sql").read_text()


def apply_schema(url: str, variant: Variant = "current") -> None:
    """Create the app's schema (tables, indexes, views, ...) in the empty database at ``url``."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(schema_sql(variant).encode())


# --- the fingerprint ---------------------------------------------------------------------------------


def _rows(conn: psycopg.Connection[Any], ident: sql.Composable) -> list[str]:
    query = sql.SQL("SELECT t::text FROM {} t ORDER BY 1").format(ident)
    return [r[0] for r in conn.execute(query).fetchall()]


def _data(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    rels = conn.execute(
        "SELECT n.nspname, c.relname, c.relkind, c.relispopulated FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p', 'S', 'm') AND {_SYSTEM} ORDER BY 1, 2"
    ).fetchall()
    tables: dict[str, list[str]] = {}
    sequences: dict[str, tuple[int, bool]] = {}
    matviews: dict[str, dict[str, Any]] = {}
    for schema, name, kind, populated in rels:
        key = f"{schema}.{name}"
        ident = sql.Identifier(schema, name)
        if kind == "S":
            row = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(ident)).fetchone()
            assert row is not None
            sequences[key] = (int(row[0]), bool(row[1]))
        elif kind == "m":
            matviews[key] = {"populated": populated, "rows": _rows(conn, ident) if populated else None}
        elif kind == "r":  # a partitioned table's rows are its partitions' rows
            tables[key] = _rows(conn, ident)
    return {"tables": tables, "sequences": sequences, "matviews": matviews}


_RELATIONS = """
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text, c.reloptions::text,
       obj_description(c.oid, 'pg_class'), c.relpersistence
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v', 'S', 'i', 'I')
ORDER BY 1
"""
_COLUMNS = """
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum), a.attidentity, a.attgenerated
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm', 'v')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, 2
"""
_INDEXES = """
SELECT ic.relname, t.relname, pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisvalid,
       i.indisready, obj_description(i.indexrelid, 'pg_class')
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace
ORDER BY 1
"""
_CONSTRAINTS = """
SELECT t.relname, con.conname, con.contype, pg_get_constraintdef(con.oid), con.convalidated,
       con.condeferrable, con.condeferred, obj_description(con.oid, 'pg_constraint'),
       coalesce(ic.relname, '')
FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
LEFT JOIN pg_class ic ON ic.oid = con.conindid
WHERE con.connamespace = 'public'::regnamespace
ORDER BY 1, 2
"""
_VIEWS = """
SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('m', 'v') ORDER BY 1
"""
_SEQUENCES = """
SELECT s.seqrelid::regclass::text, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin,
       s.seqmax, s.seqcache, s.seqcycle,
       (SELECT d.refobjid::regclass::text || '.' || a.attname || ':' || d.deptype::text
          FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
           AND d.refclassid = 'pg_class'::regclass
           AND d.deptype IN ('a', 'i'))
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1
"""
_TRIGGERS = """
SELECT t.relname, tg.tgname, pg_get_triggerdef(tg.oid), tg.tgenabled
FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
WHERE t.relnamespace = 'public'::regnamespace AND NOT tg.tgisinternal ORDER BY 1, 2
"""


def _keyed(rows: list[tuple[Any, ...]], width: int = 1) -> dict[Any, tuple[Any, ...]]:
    return {(r[0] if width == 1 else tuple(r[:width])): tuple(r[width:]) for r in rows}


def _definitions(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    columns: dict[str, list[tuple[Any, ...]]] = {}
    for table, *rest in conn.execute(_COLUMNS).fetchall():
        columns.setdefault(table, []).append(tuple(rest))
    return {
        "relations": _keyed(conn.execute(_RELATIONS).fetchall()),
        "columns": columns,
        "indexes": _keyed(conn.execute(_INDEXES).fetchall()),
        "constraints": _keyed(conn.execute(_CONSTRAINTS).fetchall(), width=2),
        "views": _keyed(conn.execute(_VIEWS).fetchall()),
        "sequences": _keyed(conn.execute(_SEQUENCES).fetchall()),
        "triggers": _keyed(conn.execute(_TRIGGERS).fetchall(), width=2),
    }


def db_fingerprint(url: str) -> dict[str, Any]:
    """Everything a load could change, comparable with ``==``.

    ``tables``: every table's rows as sorted row texts (all schemas: app tables and ``omc_data.*`` too);
    ``sequences``: ``(last_value, is_called)`` of every sequence; ``matviews``: rows (sorted) and whether
    populated; ``schema``: the definitions in ``public`` (see ``schema_part``).
    """
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET extra_float_digits = 3")
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        out = _data(conn)
        out["schema"] = _definitions(conn)
        conn.rollback()
    return out


TRACKING_TRIGGER = "omc_data_track"


def schema_part(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The definitions only: columns, indexes, constraints, comments, clustered flags, views, grants.

    Without the change-tracking triggers a load installs (``loaders.tracking``): the one definition a
    successful load adds on purpose. A failed load must leave them as they were: ``db_fingerprint``
    keeps them.
    """
    out = dict(fingerprint["schema"])
    out["triggers"] = {k: v for k, v in out["triggers"].items() if k[1] != TRACKING_TRIGGER}
    return out


def fingerprint_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Where two fingerprints differ, one line per key (for assertion messages)."""
    out: list[str] = []
    for part in sorted(set(before) | set(after)):
        b, a = before.get(part, {}), after.get(part, {})
        for key in sorted(set(b) | set(a), key=str):
            if b.get(key) != a.get(key):
                out.append(f"{part}[{key}]: {str(b.get(key))[:300]} -> {str(a.get(key))[:300]}")
    return out


# --- materialized views ------------------------------------------------------------------------------


def stale_matviews(url: str) -> dict[str, tuple[int, int]]:
    """Materialized views whose rows differ from a fresh run of their definition: name -> (held, fresh)."""
    stale: dict[str, tuple[int, int]] = {}
    with psycopg.connect(url) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        views = conn.execute(
            "SELECT c.oid::regclass::text, pg_get_viewdef(c.oid), c.relispopulated FROM pg_class c"
            " WHERE c.relkind = 'm' AND c.relnamespace = 'public'::regnamespace ORDER BY 1"
        ).fetchall()
        for name, definition, populated in views:
            query = sql.SQL(definition.strip().rstrip(";"))
            fresh = [
                r[0] for r in conn.execute(sql.SQL("SELECT t::text FROM ({}) t ORDER BY 1").format(query))
            ]
            held = _rows(conn, sql.SQL(name)) if populated else []
            if not populated or held != fresh:
                stale[name] = (len(held), len(fresh))
    return stale


# --- app rows that point at dataset rows -------------------------------------------------------------


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{table}"]).fetchone()
    return bool(row and row[0])


def seed_app_rows(
    url: str,
    *,
    credentials: int = 1,
    audit: int = 2,
    backtests: int = 1,
    promotions: int = 2,
    system_audit: int = 1,
) -> dict[str, int]:
    """Insert app rows that reference the dataset rows loaded now; return the count per table.

    ``credentials`` LLM credentials for the first users (by email; the table cascades on user delete,
    skipped where it does not exist: the seed era), ``audit`` audit-log rows of the first user,
    ``backtests`` backtest runs of the first algorithms (by id), each with ``promotions`` strategy
    promotions (cascading from their run: a chain two levels deep). ``system_audit`` more audit rows
    with no user reference nothing and are not counted: a ``--cascade`` load must leave them.
    """
    counts: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        users = [r[0] for r in conn.execute('SELECT id FROM "user" ORDER BY email').fetchall()]
        algorithms = [r[0] for r in conn.execute("SELECT id FROM algorithms ORDER BY id").fetchall()]
        if not users or (backtests and not algorithms):
            raise ValueError("seed_app_rows needs loaded users and algorithms")
        if credentials and _exists(conn, "user_llm_credentials"):
            for n, user_id in enumerate(users[:credentials]):
                conn.execute(
                    "INSERT INTO user_llm_credentials (id, user_id, provider, model_name, encrypted_api_key,"
                    " is_default) VALUES (gen_random_uuid(), %s, 'openai', 'gpt-4o', %s, %s)",
                    [user_id, f"sealed-key-{n}".encode(), n == 0],
                )
            counts["user_llm_credentials"] = min(credentials, len(users))
        for n in range(audit):
            conn.execute(
                "INSERT INTO ext_audit_log (user_id, action, details) VALUES (%s, 'login', %s::jsonb)",
                [users[0], f'{{"attempt": {n}}}'],
            )
        if audit:
            counts["ext_audit_log"] = audit
        for _ in range(system_audit):
            conn.execute("INSERT INTO ext_audit_log (user_id, action) VALUES (NULL, 'maintenance')")
        runs = 0
        for algorithm_id in algorithms[:backtests]:
            row = conn.execute(
                "INSERT INTO ext_backtest_runs (id, algorithm_id, status, parameters, metrics)"
                " VALUES (gen_random_uuid(), %s, 'completed', '{\"days\": 30}', '{\"sharpe\": 1.2}')"
                " RETURNING id",
                [algorithm_id],
            ).fetchone()
            assert row is not None
            runs += 1
            for stage in range(promotions):
                conn.execute(
                    "INSERT INTO ext_strategy_promotions (backtest_run_id, stage) VALUES (%s, %s)",
                    [row[0], f"stage-{stage}"],
                )
        if runs:
            counts["ext_backtest_runs"] = runs
            if promotions:
                counts["ext_strategy_promotions"] = runs * promotions
    return counts


def app_row_counts(url: str, variant: Variant = "current") -> dict[str, int]:
    """Rows in each app table of ``variant`` (alembic_version included)."""
    out: dict[str, int] = {}
    with psycopg.connect(url) as conn:
        for table in APP_TABLES[variant]:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            out[table] = int(row[0]) if row else 0
    return out
