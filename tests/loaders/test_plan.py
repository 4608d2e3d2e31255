"""The load plan's rules, without a server: a real snapshot's manifest against target schemas made here.

Each test starts from a target identical to the catalog and changes one thing, then asserts the exact
bridge or blocker (table, column, and that the message names the way out).
"""

from __future__ import annotations

import dataclasses

import pytest

from omc_data import catalog
from omc_data.loaders.introspect import ForeignKey, MatView, TargetColumn, TargetSchema, TargetTable
from omc_data.loaders.plan import Plan, make_plan, replaced_tables
from omc_data.snapshots.manifest import Manifest
from snaptools import build_small

_PG_NAMES = {
    "integer": "int4",
    "bigint": "int8",
    "boolean": "bool",
    "varchar[]": "_varchar",
    "double precision": "float8",
}
ALL = frozenset({"SELECT", "INSERT", "DELETE", "TRUNCATE"})


def target_column(c: catalog.Column) -> TargetColumn:
    t = c.type
    return TargetColumn(
        name=c.name,
        pg_type=_PG_NAMES.get(t.name, t.name),
        sql_type=t.sql,
        length=t.length,
        precision=t.precision,
        scale=t.scale,
        not_null=not c.nullable,
        has_default=c.default is not None or c.serial is not None,
    )


def catalog_schema(**changes: list[TargetColumn] | None) -> TargetSchema:
    """The catalog as a target; ``table=None`` drops a table, ``table=[columns]`` replaces its columns."""
    tables = {}
    for i, t in enumerate(catalog.current()):
        columns = [target_column(c) for c in t.columns]
        if t.name in changes:
            if changes[t.name] is None:
                continue
            columns = list(changes[t.name] or [])
        sequences = {c.name: c.serial.sequence for c in t.columns if c.serial}
        tables[t.name] = TargetTable(
            name=t.name,
            oid=1000 + i,
            columns={c.name: c for c in columns},
            is_owner=True,
            privileges=ALL,
            sequences=sequences,
            sequence_owned=dict.fromkeys(sequences, True),
        )
    fks = [
        ForeignKey(fk.name, t.name, fk.columns, fk.ref_table, fk.ref_columns, "no action")
        for t in catalog.current()
        for fk in t.foreign_keys
    ]
    return TargetSchema(
        tables=tables, foreign_keys=fks, views=[], alembic_revision="s2v6w3x9y4z8", schema="public"
    )


def columns_of(table: str) -> list[TargetColumn]:
    return [target_column(c) for c in catalog.table(table).columns]


def replace_column(table: str, name: str, **fields: object) -> list[TargetColumn]:
    return [dataclasses.replace(c, **fields) if c.name == name else c for c in columns_of(table)]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return build_small(tmp_path_factory.mktemp("plan") / "store", "p")


def blockers(plan: Plan) -> list[tuple[str, str | None]]:
    return [(b.table, b.column) for b in plan.blockers]


def test_the_catalog_itself_loads_without_bridges_or_blockers(manifest: Manifest) -> None:
    plan = make_plan(manifest, catalog_schema())
    assert plan.blockers == [] and plan.bridges == []
    assert plan.table_names == catalog.load_order()
    by_name = {t.name: t for t in plan.tables}
    # Tables other tables reference are DELETEd; the rest TRUNCATEd.
    assert {n for n, t in by_name.items() if t.empty_with == "DELETE"} == {
        "user", "agent_sessions", "agent_artifacts", "algorithms"
    }  # fmt: skip
    assert by_name["price_data_5min"].sequences == {"id": "price_data_5min_new_id_seq"}
    assert not by_name["news_sentiment"].binary  # varchar[]: the text COPY path
    assert all(t.binary for n, t in by_name.items() if n != "news_sentiment")
    # Text columns go last in the binary COPY column list.
    price_cols = [c.name for c in by_name["price_data_5min"].columns]
    assert price_cols[-1] == "coin_type" and set(price_cols) == set(
        manifest.tables["price_data_5min"].column_names
    )


def test_an_older_schema_without_current_only_columns_blocks_unless_column_loss(manifest: Manifest) -> None:
    older = [c for c in columns_of("news_sentiment") if c.name != "total_votes"]
    plan = make_plan(manifest, catalog_schema(news_sentiment=older))
    assert blockers(plan) == [("news_sentiment", "total_votes")]
    assert "--allow-column-loss" in str(plan.blockers[0])
    plan = make_plan(manifest, catalog_schema(news_sentiment=older), allow_column_loss=True)
    assert plan.blockers == []
    news = next(t for t in plan.tables if t.name == "news_sentiment")
    assert news.dropped == ["total_votes"] and "total_votes" not in [c.name for c in news.columns]
    assert [str(b) for b in plan.bridges] == [
        f"news_sentiment.total_votes: not in the target; {manifest.tables['news_sentiment'].rows:,} "
        "non-null values dropped"
    ]


def test_a_snapshot_column_that_is_all_null_is_bridged_silently(manifest: Manifest) -> None:
    # agent_sessions.llm_credential_id is always NULL in builds: nothing is lost without it.
    assert (
        manifest.tables["agent_sessions"].stats["llm_credential_id"]["nulls"]
        == manifest.tables["agent_sessions"].rows
    )
    older = [c for c in columns_of("agent_sessions") if c.name != "llm_credential_id"]
    plan = make_plan(manifest, catalog_schema(agent_sessions=older))
    assert plan.blockers == []
    assert [(b.table, b.column) for b in plan.bridges] == [("agent_sessions", "llm_credential_id")]


def test_extra_target_columns_nullable_or_defaulted_are_bridged_not_null_without_default_blocks(
    manifest: Manifest,
) -> None:
    extra = [
        TargetColumn("note", "text", "text", None, None, None, False, False),
        TargetColumn("score", "int4", "integer", None, None, None, True, True),
        TargetColumn("must", "text", "text", None, None, None, True, False),
    ]
    plan = make_plan(manifest, catalog_schema(orders=columns_of("orders") + extra))
    assert [(b.column, b.action) for b in plan.bridges] == [
        ("note", "not in the snapshot; left NULL"),
        ("score", "not in the snapshot; filled by the column's default"),
    ]
    assert blockers(plan) == [("orders", "must")]


def test_column_order_never_matters(manifest: Manifest) -> None:
    plan = make_plan(manifest, catalog_schema(orders=list(reversed(columns_of("orders")))))
    assert plan.blockers == [] and plan.bridges == []


@pytest.mark.parametrize(
    ("table", "column", "fields", "reason"),
    [
        ("user", "email", {"length": 5, "sql_type": "character varying(5)"}, "characters do not fit"),
        ("orders", "price", {"precision": 20, "scale": 2, "sql_type": "numeric(20,2)"}, "decimal places"),
        ("orders", "price", {"precision": 9, "scale": 8, "sql_type": "numeric(9,8)"}, "integer digits"),
        ("orders", "created_at", {"pg_type": "timestamp", "sql_type": "timestamp"}, "lose their zone"),
        ("orders", "id", {"pg_type": "text", "sql_type": "text"}, "cannot go into a text column"),
        ("agent_artifacts", "size_bytes", {"pg_type": "int2", "sql_type": "smallint"}, "do not fit smallint"),
    ],
)
def test_types_that_cannot_hold_the_data_block_from_statistics(
    manifest: Manifest, table: str, column: str, fields: dict[str, object], reason: str
) -> None:
    plan = make_plan(manifest, catalog_schema(**{table: replace_column(table, column, **fields)}))
    assert blockers(plan) == [(table, column)]
    assert reason in plan.blockers[0].reason


def test_wider_types_are_fine(manifest: Manifest) -> None:
    wider = replace_column("orders", "price", precision=30, scale=12, sql_type="numeric(30,12)")
    wider = [dataclasses.replace(c, pg_type="text", sql_type="text", length=None) if c.name == "side" else c
             for c in wider]  # fmt: skip
    plan = make_plan(manifest, catalog_schema(orders=wider))
    assert plan.blockers == []


def test_a_missing_newer_table_is_skipped_and_said_unless_loaded_rows_point_at_it(manifest: Manifest) -> None:
    plan = make_plan(manifest, catalog_schema(trade_audit=None, risk_rule=None))  # an older schema
    assert plan.blockers == [] and plan.skipped == ["risk_rule", "trade_audit"]
    assert "trade_audit" not in plan.table_names
    assert [str(b) for b in plan.bridges if b.column is None] == [
        "risk_rule: not in the target (an older schema); skipped",
        "trade_audit: not in the target (an older schema); skipped",
    ]
    # a table of the seed era is in every app schema: its absence is a broken target, not an old one
    plan = make_plan(manifest, catalog_schema(positions=None))
    assert blockers(plan) == [("positions", None)]
    assert "--create-schema" in str(plan.blockers[0])


def test_a_target_without_any_of_the_tables_names_create_schema(manifest: Manifest) -> None:
    plan = make_plan(manifest, catalog_schema(**dict.fromkeys(catalog.table_names())))
    assert blockers(plan) == [(t, None) for t in catalog.load_order()]
    assert all("--create-schema" in str(b) for b in plan.blockers)


def test_tables_narrowing_takes_dataset_children_along(manifest: Manifest) -> None:
    assert replaced_tables(manifest, ["agent_sessions"]) == [
        "agent_sessions", "agent_session_messages", "agent_artifacts", "algorithms", "deployed_algorithms",
        "backtest_runs", "strategy_promotions",
    ]  # fmt: skip
    assert replaced_tables(manifest, ["price_data_5min"]) == ["price_data_5min"]
    plan = make_plan(manifest, catalog_schema(), tables=["user"])
    unrelated: tuple[str, ...] = ("price_data_5min", "protocol_fundamentals", "news_sentiment")
    unrelated += ("system_setting", "risk_rule", "trade_audit")  # no foreign key into the user's rows
    assert plan.table_names == catalog.load_order([t for t in catalog.table_names() if t not in unrelated])


def test_missing_privileges_and_view_ownership_block(manifest: Manifest) -> None:
    base = catalog_schema()
    orders = dataclasses.replace(base.tables["orders"], privileges=frozenset({"SELECT"}))
    views = [MatView("mv_order_volume", populated=True, is_owner=False), MatView("mv_empty", False, False)]
    schema = dataclasses.replace(base, tables={**base.tables, "orders": orders}, views=views)
    plan = make_plan(manifest, schema)
    assert plan.missing_privileges == [
        "INSERT ON orders",
        "DELETE ON orders",
        "ownership of materialized view mv_order_volume (to refresh it)",
    ]
    assert plan.views == ["mv_order_volume"] and plan.skipped_views == ["mv_empty"]
    assert len(plan.blockers) == 3
