"""What the catalog learned for the app's newer tables, end to end on a small made-up catalog:
json, jsonb, bytea and double precision columns, a CHECK constraint, a partial unique index over an
expression, a varchar primary key and a foreign key onto a unique column that is not the primary key.

``schema_ddl`` must make PostgreSQL enforce each rule, ``run_checks`` must find each break in Parquet
rows, and diff must compare JSON by value (key order and spacing are not content).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data import catalog
from omc_data.catalog import (
    BOOLEAN,
    BYTEA,
    FLOAT8,
    INTEGER,
    JSON,
    JSONB,
    TIMESTAMPTZ,
    UUID,
    Check,
    Column,
    ForeignKey,
    KeyPart,
    Serial,
    Table,
    UniqueKey,
    varchar,
)
from omc_data.errors import UsageError
from omc_data.loaders.ddl import schema_ddl
from omc_data.snapshots.arrowschema import arrow_schema
from omc_data.snapshots.validate import run_checks
from snaptools import write_snapshot

ITEM = Table(
    name="item",
    columns=(
        Column("id", INTEGER, False, serial=Serial("item_id_seq")),
        Column("link", varchar(100), False),
    ),
    primary_key=("id",),
    primary_key_name="item_pkey",
    diff_key=(KeyPart("link"),),
    unique_keys=(UniqueKey("ix_item_link", (KeyPart("link"),)),),
)
MATCH = Table(
    name="match",
    columns=(
        Column("id", INTEGER, False, serial=Serial("match_id_seq")),
        Column("item_link", varchar(100), False),
        Column("score", INTEGER),
        Column("payload", JSONB),
        Column("blob", BYTEA),
        Column("weight", FLOAT8),
    ),
    primary_key=("id",),
    primary_key_name="match_pkey",
    diff_key=(KeyPart("item_link"),),
    foreign_keys=(ForeignKey(("item_link",), "item", ("link",), "match_item_link_fkey"),),
    checks=(Check("match_score_check", "score >= 1 AND score <= 10", ("score",)),),
)
CREDENTIAL = Table(
    name="credential",
    columns=(
        Column("id", UUID, False),
        Column("owner", varchar(20), False),
        Column("model", varchar(20)),
        Column("is_active", BOOLEAN, False),
    ),
    primary_key=("id",),
    primary_key_name="credential_pkey",
    diff_key=(KeyPart("id"),),
    unique_keys=(
        UniqueKey("ix_uq_active", (KeyPart("owner"), KeyPart("model", if_null="")), where="is_active"),
    ),
)
SETTING = Table(
    name="setting",
    columns=(Column("key", varchar(100), False), Column("value", JSON), Column("at", TIMESTAMPTZ, False)),
    primary_key=("key",),
    primary_key_name="setting_pkey",
    diff_key=(KeyPart("key"),),
)
TABLES = (ITEM, MATCH, CREDENTIAL, SETTING)


def test_the_made_up_catalog_is_consistent_and_a_key_that_is_not_one_is_caught() -> None:
    assert catalog.reference_problems(TABLES) == []
    assert catalog.load_order(tables=TABLES) == ["item", "match", "credential", "setting"]
    loose = Table(
        name="loose",
        columns=(Column("id", UUID, False), Column("ref", varchar(100))),
        primary_key=("id",),
        primary_key_name="loose_pkey",
        diff_key=(KeyPart("id"),),
        foreign_keys=(ForeignKey(("ref",), "credential", ("owner",), "loose_ref_fkey"),),
    )
    assert catalog.reference_problems([*TABLES, loose]) == [
        "loose.loose_ref_fkey: credential('owner',) is not a key"
    ]
    with pytest.raises(UsageError, match="unknown columns"):
        Table(
            "bad",
            (Column("id", UUID),),
            ("id",),
            "bad_pkey",
            (KeyPart("id"),),
            checks=(Check("c", "x > 0", ("x",)),),
        )
    for text in ("json", "jsonb", "bytea", "double precision"):
        assert catalog.parse_type(text).sql == text


def test_ddl_makes_postgresql_enforce_every_rule(pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        for stmt in schema_ddl(TABLES):
            conn.execute(stmt)
        definition = conn.execute("SELECT pg_get_indexdef('ix_uq_active'::regclass)").fetchone()
        assert definition is not None
        assert (
            "COALESCE(model, ''::character varying)" in definition[0] and "WHERE is_active" in definition[0]
        )
        pk = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_constraint c JOIN pg_attribute a"
            " ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) WHERE c.conname = 'setting_pkey'"
        ).fetchone()
        assert pk == ("character varying(100)",)
        types: dict[str, str] = dict(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = 'match'::regclass AND attnum > 0"
            ).fetchall()
        )
        assert (types["payload"], types["blob"], types["weight"]) == ("jsonb", "bytea", "double precision")
        conn.execute("INSERT INTO item (link) VALUES ('https://example.com/a')")
        conn.execute("INSERT INTO match (item_link, score) VALUES ('https://example.com/a', 10)")
        failures = {
            "check": "INSERT INTO match (item_link, score) VALUES ('https://example.com/a', 11)",
            "foreign key": "INSERT INTO match (item_link) VALUES ('https://example.com/nowhere')",
            "partial unique": "INSERT INTO credential VALUES (gen_random_uuid(), 'ann', NULL, true),"
            " (gen_random_uuid(), 'ann', NULL, true)",
        }
        for failing in failures.values():  # each rule refuses its row
            with pytest.raises(psycopg.errors.IntegrityError):
                conn.execute(failing)
        # outside the partial index's rows, and NULL read as '' only where the index says so
        conn.execute(
            "INSERT INTO credential VALUES (gen_random_uuid(), 'ann', NULL, true),"
            " (gen_random_uuid(), 'ann', NULL, false), (gen_random_uuid(), 'ann', 'gpt', true)"
        )


def _parts(tmp_path: Path, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[Path]]:
    out = {}
    for t in TABLES:
        path = tmp_path / f"{t.name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows.get(t.name, []), schema=arrow_schema(t)), path)
        out[t.name] = [path]
    return out


def test_validation_finds_each_break(tmp_path: Path) -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(0)))
    good = {
        "item": [{"id": 1, "link": "a"}, {"id": 2, "link": "b"}],
        "match": [
            {"id": 1, "item_link": "a", "score": 3, "payload": '{"x": [1]}', "blob": b"\x00", "weight": 0.5},
            {"id": 2, "item_link": "b", "score": None, "payload": None, "blob": None, "weight": None},
        ],
        "credential": [
            {"id": uuid.UUID(int=1), "owner": "ann", "model": None, "is_active": True},
            {"id": uuid.UUID(int=2), "owner": "ann", "model": None, "is_active": False},
            {"id": uuid.UUID(int=3), "owner": "ann", "model": "gpt", "is_active": True},
        ],
        "setting": [{"key": "kill_switch", "value": '{"active": false}', "at": at}],
    }
    (tmp_path / "good").mkdir()
    report = run_checks(_parts(tmp_path / "good", good), as_of=at, tables=TABLES)
    assert report.passed and [c for c in report.checks if not c.passed] == []
    names = {(c.table, c.name) for c in report.checks}
    assert {("match", "check.match_score_check"), ("credential", "unique.ix_uq_active")} <= names
    assert {("match", "foreign_key.item_link"), ("match", "json.payload"), ("setting", "json.value")} <= names

    bad = {k: [dict(r) for r in v] for k, v in good.items()}
    bad["match"][0]["score"] = 11
    bad["match"][1]["item_link"] = "nowhere"
    bad["match"][1]["payload"] = "{not json"
    bad["match"][0]["payload"] = '{"x": "\\u0000"}'  # valid JSON that jsonb refuses
    bad["credential"][1]["is_active"] = True  # a second active (ann, NULL): NULL reads as ''
    (tmp_path / "bad").mkdir()
    report = run_checks(_parts(tmp_path / "bad", bad), as_of=at, tables=TABLES)
    assert {(c.table, c.name): c.failures for c in report.checks if not c.passed} == {
        ("match", "check.match_score_check"): 1,
        ("match", "foreign_key.item_link"): 1,
        ("match", "json.payload"): 2,
        ("credential", "unique.ix_uq_active"): 1,
    }


def _rule(value: str) -> dict[str, Any]:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(0)))
    return {
        "name": "Max position size",
        "rule_type": "max_position_size",
        "value": value,
        "is_active": True,
        "id": uuid.UUID(int=7),
        "created_at": at,
        "updated_at": at,
    }


def test_diff_compares_json_by_value(tmp_path: Path) -> None:
    write_snapshot(tmp_path, "a", {"risk_rule": [_rule('{"max_value": 5000, "scope": ["btc", "eth"]}')]})
    write_snapshot(tmp_path, "b", {"risk_rule": [_rule('{ "scope" : ["btc","eth"], "max_value":5000 }')]})
    write_snapshot(tmp_path, "c", {"risk_rule": [_rule('{"max_value": 5000, "scope": ["eth", "btc"]}')]})
    same = omc_data.diff_snapshots("a", "b", store=tmp_path)
    assert same.tables["risk_rule"].status == "unchanged"
    changed = omc_data.diff_snapshots("a", "c", store=tmp_path)  # list order is content
    assert changed.tables["risk_rule"].status == "changed"
    assert changed.tables["risk_rule"].columns_changed == {"value": 1}
    manifest = omc_data.open_snapshot("a", store=tmp_path).manifest
    assert manifest.format_version == 2  # a json column needs the second format
