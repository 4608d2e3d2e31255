"""The catalog against the facts of omc-schema.md: the DDL it derives, read back from a real PostgreSQL,
and its pure-Python derivations (load order, fingerprint, type text, Arrow types).

The expected facts below are written out by hand from omc-schema.md, not derived from the catalog,
so a wrong catalog entry cannot vouch for itself.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omc_data import catalog
from omc_data.catalog import PgType, numeric, parse_type, varchar
from omc_data.errors import UsageError
from omc_data.loaders.ddl import schema_ddl
from omc_data.snapshots.arrowschema import arrow_schema, arrow_type

# -- the facts of omc-schema.md ---------------------------------------------------------------------

# table -> "column type [NN]" lines, in column order. NN = NOT NULL. Types as omc-schema.md writes them.
DOC_COLUMNS: dict[str, str] = {
    "user": """
        email varchar(255) NN
        is_active boolean NN
        is_superuser boolean NN
        full_name varchar(255)
        id uuid NN
        hashed_password varchar NN
        created_at timestamptz NN
        updated_at timestamptz NN
        timezone varchar(50)
        preferred_currency varchar(10)
        risk_tolerance varchar(20)
        trading_experience varchar(20)
    """,
    "price_data_5min": """
        id integer NN
        coin_type varchar(20) NN
        bid numeric(20,8)
        ask numeric(20,8)
        last numeric(20,8)
        timestamp timestamptz NN
        created_at timestamptz NN
    """,
    "protocol_fundamentals": """
        id integer NN
        protocol varchar(50) NN
        tvl_usd numeric(20,2)
        fees_24h numeric(20,2)
        revenue_24h numeric(20,2)
        collected_at timestamptz NN
    """,
    "news_sentiment": """
        id integer NN
        title text NN
        source varchar(100)
        url text
        published_at timestamptz
        sentiment varchar(20)
        sentiment_score numeric(5,4)
        currencies varchar[]
        collected_at timestamptz NN
        total_votes integer
    """,
    "algorithms": """
        id uuid NN
        name varchar(255) NN
        description varchar(1000)
        algorithm_type varchar(50) NN
        version varchar(50) NN
        artifact_id uuid
        status varchar(20) NN
        configuration_json varchar
        default_execution_frequency integer NN
        default_position_limit numeric(20,2)
        performance_metrics_json varchar
        created_by uuid NN
        created_at timestamptz NN
        updated_at timestamptz NN
        last_executed_at timestamptz
    """,
    "deployed_algorithms": """
        id uuid NN
        user_id uuid NN
        algorithm_id uuid NN
        deployment_name varchar(255)
        is_active boolean NN
        execution_frequency integer NN
        position_limit numeric(20,2)
        daily_loss_limit numeric(20,2)
        parameters_json varchar
        created_at timestamptz NN
        updated_at timestamptz NN
        activated_at timestamptz
        deactivated_at timestamptz
        last_executed_at timestamptz
        total_profit_loss numeric(20,2) NN
        total_trades integer NN
    """,
    "positions": """
        id uuid NN
        user_id uuid NN
        coin_type varchar(20) NN
        quantity numeric(20,10) NN
        average_price numeric(20,8) NN
        total_cost numeric(20,2) NN
        created_at timestamptz NN
        updated_at timestamptz NN
    """,
    "orders": """
        id uuid NN
        user_id uuid NN
        algorithm_id uuid
        coin_type varchar(20) NN
        side varchar(10) NN
        order_type varchar(20) NN
        quantity numeric(20,10) NN
        price numeric(20,8)
        filled_quantity numeric(20,10) NN
        status varchar(20) NN
        error_message varchar(500)
        coinspot_order_id varchar(100)
        created_at timestamptz NN
        updated_at timestamptz NN
        submitted_at timestamptz
        filled_at timestamptz
    """,
    "agent_sessions": """
        id uuid NN
        user_id uuid NN
        user_goal varchar NN
        status varchar(20) NN
        error_message varchar
        result_summary varchar
        created_at timestamptz NN
        updated_at timestamptz NN
        completed_at timestamptz
        llm_provider varchar(20)
        llm_model varchar(100)
        llm_credential_id uuid
    """,
    "agent_session_messages": """
        id uuid NN
        session_id uuid NN
        role varchar(20) NN
        content varchar NN
        agent_name varchar(100)
        metadata_json varchar
        created_at timestamptz NN
        sequence_id integer
        event_type varchar(50)
        stage varchar(50)
    """,
    "agent_artifacts": """
        id uuid NN
        session_id uuid NN
        artifact_type varchar(50) NN
        name varchar(255) NN
        description varchar
        file_path varchar(500)
        mime_type varchar(100)
        size_bytes integer
        metadata_json varchar
        created_at timestamptz NN
    """,
    # the rest of the app at its current head (omc-schema.md), in the column order of its migrations
    "system_setting": """
        key varchar(100) NN
        value json
        description varchar
        updated_at timestamptz NN
    """,
    "risk_rule": """
        name varchar(100) NN
        description varchar(500)
        rule_type varchar NN
        value json
        is_active boolean NN
        id uuid NN
        created_at timestamptz NN
        updated_at timestamptz NN
    """,
    "audit_log": """
        event_type varchar(100) NN
        severity varchar(20) NN
        details json
        user_id uuid
        id uuid NN
        timestamp timestamptz NN
    """,
    "backtest_runs": """
        id uuid NN
        user_id uuid NN
        algorithm_id uuid NN
        coin_type varchar(20) NN
        start_date timestamptz NN
        end_date timestamptz NN
        initial_capital numeric(20,2) NN
        status varchar(20) NN
        results_json varchar
        equity_curve_json varchar
        trade_log_json varchar
        error_message varchar(2000)
        created_at timestamptz NN
        completed_at timestamptz
    """,
    "strategy_promotions": """
        algorithm_id uuid NN
        from_environment varchar(50) NN
        to_environment varchar(50) NN
        status varchar(20) NN
        promotion_notes varchar(1000)
        performance_snapshot_json varchar
        id uuid NN
        created_by uuid NN
        created_at timestamptz NN
        updated_at timestamptz NN
        reviewed_at timestamptz
        reviewed_by uuid
        rejection_reason varchar(1000)
    """,
    "trade_audit": """
        agent_id varchar(100) NN
        decision varchar(20) NN
        reason varchar(1000) NN
        confidence_score float8 NN
        asset varchar(20) NN
        price_at_decision numeric(20,8)
        is_executed boolean NN
        execution_order_id uuid
        block_reason varchar
        id uuid NN
        timestamp timestamptz NN
    """,
}

# (child table, column) -> parent table; every FK points at the parent's id.
# agent_sessions.llm_credential_id -> user_llm_credentials is an app table outside the dataset: no FK here.
DOC_FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("agent_sessions", "user_id"): "user",
    ("agent_session_messages", "session_id"): "agent_sessions",
    ("agent_artifacts", "session_id"): "agent_sessions",
    ("algorithms", "artifact_id"): "agent_artifacts",
    ("algorithms", "created_by"): "user",
    ("deployed_algorithms", "user_id"): "user",
    ("deployed_algorithms", "algorithm_id"): "algorithms",
    ("positions", "user_id"): "user",
    ("orders", "user_id"): "user",
    ("audit_log", "user_id"): "user",
    ("backtest_runs", "user_id"): "user",
    ("backtest_runs", "algorithm_id"): "algorithms",
    ("strategy_promotions", "algorithm_id"): "algorithms",
    ("strategy_promotions", "created_by"): "user",
    ("strategy_promotions", "reviewed_by"): "user",
}

DEFAULTS_CURRENT_TIMESTAMP = {
    ("user", "created_at"),
    ("user", "updated_at"),
    ("price_data_5min", "created_at"),
}
SERIAL_TABLES = {"price_data_5min", "protocol_fundamentals", "news_sentiment"}
TEXT_KEY_TABLES = {"system_setting": "key"}  # keyed by a varchar, not an id
JSON_COLUMNS = {("system_setting", "value"), ("risk_rule", "value"), ("audit_log", "details")}

# How format_type() spells the doc's types.
_PG_SPELLING = {
    "varchar": "character varying",
    "timestamptz": "timestamp with time zone",
    "float8": "double precision",
}


def pg_spelling(doc_type: str) -> str:
    for short, long in _PG_SPELLING.items():
        if doc_type == short or doc_type.startswith(short + "(") or doc_type == short + "[]":
            return long + doc_type[len(short) :]
    return doc_type


def doc_columns(table: str) -> list[tuple[str, str, bool]]:
    """(name, type as format_type spells it, not null) from DOC_COLUMNS."""
    out = []
    for line in DOC_COLUMNS[table].strip().splitlines():
        name, typ, *flags = line.split()
        out.append((name, pg_spelling(typ), flags == ["NN"]))
    return out


# -- the schema in a real database ------------------------------------------------------------------


@pytest.fixture
def schema_conn(pg_db: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A connection to a fresh database holding every table of ``schema_ddl()``."""
    with psycopg.connect(pg_db, autocommit=True) as conn:
        with conn.transaction():
            for stmt in schema_ddl():
                conn.execute(stmt)
        yield conn


def test_doc_lists_the_catalog_tables() -> None:
    assert set(DOC_COLUMNS) == set(catalog.table_names())
    assert len(DOC_COLUMNS) == 17  # the seed script's eleven, and the first six of the rest of the app


def test_tables_and_columns_match_the_doc(schema_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    tables = {
        r[0]
        for r in schema_conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
        )
    }
    assert tables == set(DOC_COLUMNS)
    for table in DOC_COLUMNS:
        rows = schema_conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [f'public."{table}"'],
        ).fetchall()
        assert rows == doc_columns(table), table


def test_information_schema_types(schema_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    def col(table: str, column: str) -> tuple[object, ...]:
        row = schema_conn.execute(
            "SELECT data_type, udt_name, character_maximum_length, numeric_precision, numeric_scale,"
            " is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s AND column_name = %s",
            [table, column],
        ).fetchone()
        assert row is not None, (table, column)
        return tuple(row)

    assert col("price_data_5min", "bid")[:5] == ("numeric", "numeric", None, 20, 8)
    assert col("positions", "quantity")[:5] == ("numeric", "numeric", None, 20, 10)
    assert col("news_sentiment", "sentiment_score")[:5] == ("numeric", "numeric", None, 5, 4)
    assert col("protocol_fundamentals", "tvl_usd")[:5] == ("numeric", "numeric", None, 20, 2)
    assert col("news_sentiment", "currencies")[:2] == ("ARRAY", "_varchar")
    assert col("user", "email")[:3] == ("character varying", "varchar", 255)
    assert col("user", "hashed_password")[:3] == ("character varying", "varchar", None)
    assert col("news_sentiment", "title")[:2] == ("text", "text")

    every = schema_conn.execute(
        "SELECT table_name, column_name, data_type, udt_name, column_default FROM information_schema.columns"
        " WHERE table_schema = 'public'"
    ).fetchall()
    assert len(every) == sum(len(doc_columns(t)) for t in DOC_COLUMNS)
    for table, column, data_type, udt, default in every:
        where = f"{table}.{column}"
        assert data_type != "timestamp without time zone", where
        # real JSON types only where the app's head has them (risk and audit tables); *_json is text
        assert udt not in ("json", "jsonb") or (table, column) in JSON_COLUMNS, where
        if column.endswith("_json"):
            assert udt == "varchar", where
        if column.endswith("_at") or column == "timestamp":
            assert data_type == "timestamp with time zone", where
        if (table, column) in DEFAULTS_CURRENT_TIMESTAMP:
            assert default == "CURRENT_TIMESTAMP", where
        elif column == "id" and table in SERIAL_TABLES:
            assert isinstance(default, str) and default.startswith("nextval("), where
        else:  # uuid keys included: the app makes uuid4 in Python
            assert default is None, where
    # no enums and no extensions beyond the built-in plpgsql
    assert schema_conn.execute("SELECT count(*) FROM pg_type WHERE typtype = 'e'").fetchone() == (0,)
    assert schema_conn.execute("SELECT array_agg(extname) FROM pg_extension").fetchone() == (["plpgsql"],)


def test_primary_keys_and_sequences(schema_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    pks = {
        r[0]: (r[1], r[2], r[3])
        for r in schema_conn.execute(
            "SELECT c.conrelid::regclass::text, c.conname, a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)"
            " WHERE c.contype = 'p' AND c.connamespace = 'public'::regnamespace"
        )
    }
    assert {t.strip('"') for t in pks} == set(DOC_COLUMNS)
    for table, (_, column, typ) in pks.items():
        if table in TEXT_KEY_TABLES:
            assert (column, typ) == (TEXT_KEY_TABLES[table], "character varying(100)")
            continue
        assert column == "id"
        assert typ == ("integer" if table.strip('"') in SERIAL_TABLES else "uuid"), table
    assert pks["price_data_5min"][0] == "price_data_5min_new_pkey"

    def sequence(table: str) -> tuple[object, ...]:
        row = schema_conn.execute(
            "SELECT s.seqrelid::regclass::text, format_type(s.seqtypid, NULL)"
            " FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(%s, 'id')::regclass",
            [table],
        ).fetchone()
        assert row is not None, table
        return tuple(row)

    assert sequence("price_data_5min") == ("price_data_5min_new_id_seq", "bigint")
    assert sequence("protocol_fundamentals") == ("protocol_fundamentals_id_seq", "integer")
    assert sequence("news_sentiment") == ("news_sentiment_id_seq", "integer")
    # the serial column draws from its sequence
    schema_conn.execute(
        "INSERT INTO price_data_5min (coin_type, timestamp) VALUES ('btc', '2026-01-01T00:00:00Z')"
    )
    assert schema_conn.execute("SELECT id FROM price_data_5min").fetchone() == (1,)
    uuid_defaults = schema_conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'"
        " AND udt_name = 'uuid' AND column_default IS NOT NULL"
    ).fetchone()
    assert uuid_defaults == (0,)


def _unique_indexes(conn: psycopg.Connection[tuple[Any, ...]]) -> dict[str, tuple[str, str]]:
    """index name -> (table, index definition) for every unique index that is not a primary key."""
    return {
        r[0]: (r[1], r[2])
        for r in conn.execute(
            "SELECT ci.relname, ct.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class ci ON ci.oid = i.indexrelid JOIN pg_class ct ON ct.oid = i.indrelid"
            " WHERE i.indisunique AND NOT i.indisprimary AND ct.relnamespace = 'public'::regnamespace"
        )
    }


def _index_columns(conn: psycopg.Connection[tuple[Any, ...]], table: str) -> dict[tuple[str, ...], bool]:
    """key columns (plain ones) -> unique, for every index of ``table``."""
    rows = conn.execute(
        "SELECT i.indisunique, array_agg(a.attname ORDER BY k.ord) FROM pg_index i"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary GROUP BY i.indexrelid, i.indisunique",
        [f'public."{table}"'],
    ).fetchall()
    out: dict[tuple[str, ...], bool] = {}
    for unique, cols in rows:
        out[tuple(cols)] = out.get(tuple(cols), False) or unique
    return out


def test_unique_rules(schema_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    unique = _unique_indexes(schema_conn)
    assert unique["ix_user_email"][0] == "user"
    assert unique["ix_user_email"][1].endswith("(email)")
    assert unique["uq_price_data_5min_coin_timestamp"][0] == "price_data_5min"
    assert unique["uq_price_data_5min_coin_timestamp"][1].endswith('(coin_type, "timestamp")')
    assert _index_columns(schema_conn, "news_sentiment")[("url",)] is True
    assert _index_columns(schema_conn, "positions")[("user_id", "coin_type")] is True
    price = _index_columns(schema_conn, "price_data_5min")
    assert price[("coin_type",)] is False
    assert price[("timestamp",)] is False
    assert ("coin_type", "timestamp") in price
    assert _index_columns(schema_conn, "orders")[("algorithm_id",)] is False


def test_unique_rules_hold_for_rows(schema_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    conn = schema_conn
    conn.execute(
        'INSERT INTO "user" (email, is_active, is_superuser, id, hashed_password)'
        " VALUES ('a@example.com', true, false, gen_random_uuid(), 'x')"
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            'INSERT INTO "user" (email, is_active, is_superuser, id, hashed_password)'
            " VALUES ('a@example.com', true, false, gen_random_uuid(), 'x')"
        )
    conn.execute("INSERT INTO price_data_5min (coin_type, timestamp) VALUES ('btc', '2026-01-01T00:00Z')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO price_data_5min (coin_type, timestamp) VALUES ('btc', '2026-01-01T00:00Z')")
    conn.execute("INSERT INTO price_data_5min (coin_type, timestamp) VALUES ('eth', '2026-01-01T00:00Z')")
    conn.execute("INSERT INTO news_sentiment (title, url, collected_at) VALUES ('a', 'https://x/1', now())")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO news_sentiment (title, url, collected_at) VALUES ('b', 'https://x/1', now())"
        )
    # url is nullable and unique: several NULL urls are fine
    conn.execute("INSERT INTO news_sentiment (title, url, collected_at) VALUES ('c', NULL, now())")
    conn.execute("INSERT INTO news_sentiment (title, url, collected_at) VALUES ('d', NULL, now())")


def test_protocol_fundamentals_one_row_per_protocol_per_utc_day(
    schema_conn: psycopg.Connection[tuple[Any, ...]],
) -> None:
    conn = schema_conn
    conn.execute("SET TimeZone = 'Australia/Sydney'")  # the rule is about the UTC day, not the session's

    def insert(protocol: str, collected_at: str) -> None:
        conn.execute(
            "INSERT INTO protocol_fundamentals (protocol, collected_at) VALUES (%s, %s::timestamptz)",
            [protocol, collected_at],
        )

    insert("aave", "2026-01-01T23:30:00Z")
    # 09:00 in Sydney on Jan 2 is 22:00 UTC on Jan 1: the same UTC day
    with pytest.raises(psycopg.errors.UniqueViolation):
        insert("aave", "2026-01-02T09:00:00+11:00")
    insert("aave", "2026-01-02T00:30:00Z")  # the next UTC day (still Jan 2 in Sydney): accepted
    insert("lido", "2026-01-01T23:30:00Z")  # another protocol on the same day: accepted
    with pytest.raises(psycopg.errors.UniqueViolation):
        insert("aave", "2026-01-01T00:00:00Z")
    count = conn.execute("SELECT count(*) FROM protocol_fundamentals").fetchone()
    assert count == (3,)


def test_foreign_keys_match_the_doc_without_cascade(
    schema_conn: psycopg.Connection[tuple[Any, ...]],
) -> None:
    rows = schema_conn.execute(
        "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname,"
        " c.confdeltype, c.confupdtype, c.condeferrable"
        " FROM pg_constraint c"
        " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
        " JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]"
        " WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
    ).fetchall()
    found = {(child.strip('"'), col): parent.strip('"') for child, col, parent, *_ in rows}
    assert found == DOC_FOREIGN_KEYS
    for child, col, _, ref_col, on_delete, on_update, deferrable in rows:
        assert ref_col == "id", (child, col)
        assert (on_delete, on_update, deferrable) == ("a", "a", False), (child, col)
    assert ("orders", "algorithm_id") not in found


def test_no_cascade_deleting_a_referenced_user_fails(
    schema_conn: psycopg.Connection[tuple[Any, ...]],
) -> None:
    conn = schema_conn
    uid = "00000000-0000-4000-8000-000000000001"
    conn.execute(
        'INSERT INTO "user" (email, is_active, is_superuser, id, hashed_password)'
        " VALUES ('a@example.com', true, false, %s, 'x')",
        [uid],
    )
    conn.execute("INSERT INTO positions VALUES (gen_random_uuid(), %s, 'btc', 1, 1, 1, now(), now())", [uid])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute('DELETE FROM "user"')
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # orders.algorithm_id has no FK, user_id does
        conn.execute(
            "INSERT INTO orders (id, user_id, algorithm_id, coin_type, side, order_type, quantity,"
            " filled_quantity, status, created_at, updated_at) VALUES (gen_random_uuid(), gen_random_uuid(),"
            " gen_random_uuid(), 'btc', 'buy', 'market', 1, 0, 'pending', now(), now())"
        )
    conn.execute(
        "INSERT INTO orders (id, user_id, algorithm_id, coin_type, side, order_type, quantity,"
        " filled_quantity, status, created_at, updated_at) VALUES (gen_random_uuid(), %s,"
        " gen_random_uuid(), 'btc', 'buy', 'market', 1, 0, 'pending', now(), now())",
        [uid],
    )


# -- pure Python: load order ------------------------------------------------------------------------

ALL_TABLES = list(catalog.table_names())


def test_load_order_matches_the_doc() -> None:
    order = catalog.load_order()
    assert sorted(order) == sorted(ALL_TABLES)
    pos = {name: i for i, name in enumerate(order)}
    assert order[0] == "user"
    assert pos["agent_sessions"] < pos["agent_session_messages"]
    assert pos["agent_sessions"] < pos["agent_artifacts"] < pos["algorithms"]
    assert pos["algorithms"] < pos["deployed_algorithms"]
    for child in ("positions", "orders", "deployed_algorithms", "algorithms", "agent_sessions"):
        assert pos["user"] < pos[child]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sets(st.sampled_from(ALL_TABLES)), st.randoms(use_true_random=False))
def test_load_order_puts_parents_first_for_any_subset(subset: set[str], rnd: random.Random) -> None:
    names = sorted(subset)
    rnd.shuffle(names)
    order = catalog.load_order(names)
    assert sorted(order) == sorted(subset)
    pos = {name: i for i, name in enumerate(order)}
    for (child, _), parent in DOC_FOREIGN_KEYS.items():
        if child in pos and parent in pos:
            assert pos[parent] < pos[child], (parent, child, order)
    # the order does not depend on the order the names came in
    assert order == catalog.load_order(sorted(subset))


def test_load_order_reports_a_cycle() -> None:
    a = dataclasses.replace(
        catalog.USER, foreign_keys=(catalog.ForeignKey(("id",), "agent_sessions", ("id",), "cyc"),)
    )
    tables = [a if t.name == "user" else t for t in catalog.TABLES]
    with pytest.raises(UsageError, match="cycle"):
        catalog.load_order(tables=tables)


# -- pure Python: fingerprint -----------------------------------------------------------------------


def test_fingerprint_is_stable_across_processes() -> None:
    code = "from omc_data import catalog; print(catalog.fingerprint())"
    outputs = set()
    for hashseed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "TZ": "Australia/Sydney"}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        outputs.add(done.stdout.strip())
    assert outputs == {catalog.fingerprint()}
    assert len(catalog.fingerprint()) == 64


def _with_column(table: catalog.Table, column: str, **changes: Any) -> list[catalog.Table]:
    columns = tuple(dataclasses.replace(c, **changes) if c.name == column else c for c in table.columns)
    changed = dataclasses.replace(table, columns=columns)
    return [changed if t.name == table.name else t for t in catalog.TABLES]


def test_fingerprint_changes_with_a_column() -> None:
    base = catalog.fingerprint()
    assert catalog.fingerprint(catalog.TABLES) == base
    assert catalog.fingerprint(list(reversed(catalog.TABLES))) == base  # order of entries does not matter
    variants = [
        _with_column(catalog.PRICE_DATA_5MIN, "bid", type=numeric(20, 9)),
        _with_column(catalog.USER, "email", type=varchar(256)),
        _with_column(catalog.USER, "full_name", nullable=False),
        _with_column(catalog.NEWS_SENTIMENT, "total_votes", name="votes"),
    ]
    extra = dataclasses.replace(
        catalog.ORDERS, columns=(*catalog.ORDERS.columns, catalog.Column("note", catalog.TEXT))
    )
    variants.append([extra if t.name == "orders" else t for t in catalog.TABLES])
    prints = [catalog.fingerprint(v) for v in variants]
    assert base not in prints
    assert len(set(prints)) == len(prints)
    # documentation does not change what a snapshot holds
    assert catalog.fingerprint(_with_column(catalog.USER, "email", doc="something else")) == base


# -- pure Python: type text -------------------------------------------------------------------------

_type_strategy = st.one_of(
    st.sampled_from([c.type for t in catalog.TABLES for c in t.columns]),
    st.builds(varchar, st.integers(1, 10_485_760)),
    st.builds(lambda p, s: numeric(p, min(s, p)), st.integers(1, 1000), st.integers(0, 1000)),
    st.sampled_from(
        [PgType(n) for n in ("uuid", "integer", "bigint", "boolean", "text", "varchar", "timestamptz")]
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_type_strategy)
def test_parse_type_inverts_sql(pg_type: PgType) -> None:
    assert parse_type(pg_type.sql) == pg_type
    assert parse_type(f"  {pg_type.sql} ") == pg_type


def test_parse_type_rejects_unknown_types() -> None:
    for text in ("jsonx", "timestamp", "numeric", "varchar(x)", "int4", "float8", ""):
        with pytest.raises(ValueError):
            parse_type(text)


# -- pure Python: Arrow types -----------------------------------------------------------------------


def test_arrow_types_are_exact() -> None:
    assert arrow_type(catalog.INTEGER) == pa.int32()
    assert arrow_type(catalog.BIGINT) == pa.int64()
    assert arrow_type(catalog.BOOLEAN) == pa.bool_()
    assert arrow_type(numeric(20, 8)) == pa.decimal128(20, 8)
    assert arrow_type(numeric(5, 4)) == pa.decimal128(5, 4)
    assert arrow_type(catalog.TIMESTAMPTZ) == pa.timestamp("us", tz="UTC")
    assert arrow_type(catalog.TEXT) == pa.string()
    assert arrow_type(varchar(20)) == pa.string()
    assert arrow_type(catalog.VARCHAR_ARRAY) == pa.list_(pa.string())
    uuid_type = arrow_type(catalog.UUID)
    assert isinstance(uuid_type, pa.BaseExtensionType)
    assert uuid_type.extension_name == "arrow.uuid"
    assert uuid_type.storage_type == pa.binary(16)
    with pytest.raises(ValueError):
        arrow_type(PgType("numeric"))


def test_arrow_schema_of_price_data_5min() -> None:
    price = pa.decimal128(20, 8)
    ts = pa.timestamp("us", tz="UTC")
    expected = pa.schema(
        [
            pa.field("id", pa.int32(), nullable=False),
            pa.field("coin_type", pa.string(), nullable=False),
            pa.field("bid", price),
            pa.field("ask", price),
            pa.field("last", price),
            pa.field("timestamp", ts, nullable=False),
            pa.field("created_at", ts, nullable=False),
        ]
    )
    assert arrow_schema(catalog.PRICE_DATA_5MIN).equals(expected, check_metadata=True)


def test_arrow_schemas_follow_the_doc_for_every_column() -> None:
    expected_by_doc_type = {
        "json": pa.string(),
        "float8": pa.float64(),
        "integer": pa.int32(),
        "boolean": pa.bool_(),
        "text": pa.string(),
        "uuid": pa.uuid(),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "varchar[]": pa.list_(pa.string()),
    }
    for table, text in DOC_COLUMNS.items():
        schema = arrow_schema(catalog.table(table))
        lines = [line.split() for line in text.strip().splitlines()]
        assert schema.names == [line[0] for line in lines]
        for name, doc_type, *flags in lines:
            field = schema.field(name)
            if doc_type.startswith("numeric("):
                p, s = doc_type[8:-1].split(",")
                want = pa.decimal128(int(p), int(s))
            elif doc_type.startswith("varchar"):
                want = pa.list_(pa.string()) if doc_type.endswith("[]") else pa.string()
            else:
                want = expected_by_doc_type[doc_type]
            assert field.type == want, (table, name)
            assert field.nullable is (flags != ["NN"]), (table, name)
