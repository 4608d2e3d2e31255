"""CONTRIBUTING.md's "Adding a table" walk-through, run as written: a ``backtest_results`` table works.

The catalog entry, the generator and the domain checks are the ```python blocks under the
``<!-- example: NAME -->`` markers of CONTRIBUTING.md, executed in the namespace of the module they are
meant for. Nothing in src/ changes: the example table is handed to the catalog's derived functions
explicitly (``tables=...``), and GENERATORS / DOMAIN_CHECKS are patched per test. The last test runs
a whole ``build_snapshot`` with the registry's ``TABLES`` patched (the catalog's functions read it at
call time).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data import catalog
from omc_data.builder.generators import GENERATORS, algorithms
from omc_data.builder.generators.spec import Spec
from omc_data.builder.generators.world import World
from omc_data.catalog import Table, registry
from omc_data.catalog import trading as catalog_trading
from omc_data.loaders.ddl import foreign_key_ddl, schema_ddl, table_ddl
from omc_data.snapshots import validate
from omc_data.snapshots.arrowschema import arrow_schema
from omc_data.snapshots.store import Store
from omc_data.snapshots.writer import SnapshotWriter

CONTRIBUTING = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
SPEC = Spec(seed=7, as_of=AS_OF, users=4, coins=2, days=1, bcrypt_rounds=4)
NAME = "backtest_results"


def example(name: str) -> str:
    """The ```python block right under ``<!-- example: NAME -->`` in CONTRIBUTING.md."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    found = re.findall(rf"<!-- example: {name} -->\n```python\n(.*?)\n```\n", text, flags=re.DOTALL)
    assert len(found) == 1, f"CONTRIBUTING.md needs exactly one block marked 'example: {name}'"
    return str(found[0])


def run_example(name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run the block as if pasted into the module whose globals ``namespace`` copies."""
    namespace = dict(namespace)
    exec(compile(example(name), f"CONTRIBUTING.md <example: {name}>", "exec"), namespace)
    return namespace


@dataclasses.dataclass(frozen=True)
class Example:
    table: Table
    generate: Callable[[World], pa.Table]
    checks: Callable[[], Iterable[Any]]
    tables: tuple[Table, ...]  # the catalog as it reads once step 1 has added the entry to TABLES


@pytest.fixture(scope="module")
def ex() -> Example:
    table = run_example("catalog", vars(catalog_trading))["BACKTEST_RESULTS"]
    with pytest.MonkeyPatch.context() as mp:  # the generator module reads catalog.BACKTEST_RESULTS on import
        mp.setattr(catalog, "BACKTEST_RESULTS", table, raising=False)
        generate = run_example("generator", {"__name__": "omc_data.builder.generators.backtests"})["generate"]
    checks = run_example("checks", vars(validate))["_backtest_checks"]
    return Example(table, generate, checks, (*catalog.TABLES, table))


# -- derived from the catalog entry alone -----------------------------------------------------------


def test_catalog_entry_gives_the_arrow_schema(ex: Example) -> None:
    ts = pa.timestamp("us", tz="UTC")
    assert arrow_schema(ex.table) == pa.schema(
        [
            pa.field("id", pa.uuid(), nullable=False),
            pa.field("algorithm_id", pa.uuid(), nullable=False),
            pa.field("user_id", pa.uuid(), nullable=False),
            pa.field("coin_type", pa.string(), nullable=False),
            pa.field("started_at", ts, nullable=False),
            pa.field("ended_at", ts, nullable=False),
            pa.field("initial_capital", pa.decimal128(20, 2), nullable=False),
            pa.field("final_capital", pa.decimal128(20, 2), nullable=False),
            pa.field("total_return", pa.decimal128(10, 4), nullable=False),
            pa.field("sharpe_ratio", pa.decimal128(10, 4)),
            pa.field("max_drawdown", pa.decimal128(10, 4)),
            pa.field("trades", pa.int32(), nullable=False),
            pa.field("metrics_json", pa.string()),
            pa.field("created_at", ts, nullable=False),
        ]
    )
    assert ex.table.parents == ("algorithms", "user")
    assert not ex.table.has_surrogate_key


def test_load_order_puts_it_after_its_parents(ex: Example) -> None:
    order = catalog.load_order(tables=ex.tables)
    assert order.index(NAME) > order.index("algorithms") > order.index("user")
    assert catalog.load_order([NAME, "algorithms", "user"], tables=ex.tables) == ["user", "algorithms", NAME]
    assert NAME in catalog.children_of("algorithms", tables=ex.tables)
    assert NAME in catalog.children_of("user", tables=ex.tables)


def test_fingerprint_changes_with_the_new_table(ex: Example) -> None:
    assert catalog.fingerprint(ex.tables) != catalog.fingerprint()
    assert catalog.fingerprint(reversed(ex.tables)) == catalog.fingerprint(ex.tables)


def test_loader_ddl_creates_the_table(ex: Example) -> None:
    create, index = (s.as_string(None) for s in table_ddl(ex.table))
    assert create.startswith('CREATE TABLE "backtest_results" (\n    "id" uuid NOT NULL,\n')
    assert '    "total_return" numeric(10,4) NOT NULL,\n' in create
    assert '    "sharpe_ratio" numeric(10,4),\n' in create
    assert '    "metrics_json" varchar,\n' in create
    assert create.endswith('    CONSTRAINT "backtest_results_pkey" PRIMARY KEY ("id")\n)')
    assert index == 'CREATE INDEX "ix_backtest_results_algorithm_id" ON "backtest_results" ("algorithm_id")'
    assert [s.as_string(None) for s in foreign_key_ddl(ex.table)] == [
        'ALTER TABLE "backtest_results" ADD CONSTRAINT "backtest_results_algorithm_id_fkey" '
        'FOREIGN KEY ("algorithm_id") REFERENCES "algorithms" ("id")',
        'ALTER TABLE "backtest_results" ADD CONSTRAINT "backtest_results_user_id_fkey" '
        'FOREIGN KEY ("user_id") REFERENCES "user" ("id")',
    ]
    assert create in [s.as_string(None) for s in schema_ddl(ex.tables)]


def test_create_schema_ddl_runs_in_postgres(ex: Example, pg_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as conn:
        with conn.transaction():
            for stmt in schema_ddl(ex.tables):
                conn.execute(stmt)
        columns = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute"
            " WHERE attrelid = 'backtest_results'::regclass AND attnum > 0 AND NOT attisdropped"
            " ORDER BY attnum"
        ).fetchall()
        foreign_keys = conn.execute(
            "SELECT conname, confrelid::regclass::text FROM pg_constraint"
            " WHERE conrelid = 'backtest_results'::regclass AND contype = 'f' ORDER BY conname"
        ).fetchall()
    ts, money, ratio = "timestamp with time zone", "numeric(20,2)", "numeric(10,4)"
    assert columns == [
        ("id", "uuid", True),
        ("algorithm_id", "uuid", True),
        ("user_id", "uuid", True),
        ("coin_type", "character varying(20)", True),
        ("started_at", ts, True),
        ("ended_at", ts, True),
        ("initial_capital", money, True),
        ("final_capital", money, True),
        ("total_return", ratio, True),
        ("sharpe_ratio", ratio, False),
        ("max_drawdown", ratio, False),
        ("trades", "integer", True),
        ("metrics_json", "character varying", False),
        ("created_at", ts, True),
    ]
    assert foreign_keys == [
        ("backtest_results_algorithm_id_fkey", "algorithms"),
        ("backtest_results_user_id_fkey", '"user"'),
    ]


# -- the generator --------------------------------------------------------------------------------


def test_generator_is_reproducible_and_follows_its_parents(ex: Example) -> None:
    data = ex.generate(World(SPEC))
    assert data.schema == arrow_schema(ex.table)
    assert data.num_rows > 0
    assert data.equals(ex.generate(World(SPEC)))  # a fresh world with the same seed: the same rows
    rows = data.to_pylist()
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    by_id = {a.id: a for a in World(SPEC).get(algorithms.facts)}
    for row in rows:
        algo = by_id[row["algorithm_id"].bytes]
        assert algo.status != "draft"
        assert row["user_id"].bytes == algo.created_by.id
        assert algo.created_at <= row["created_at"] <= SPEC.as_of_tick
    # one more algorithm adds backtests and leaves every existing one as it was
    more = ex.generate(World(dataclasses.replace(SPEC, algorithms=SPEC.algorithms + 1))).to_pylist()
    assert [r for r in more if r["algorithm_id"].bytes in by_id] == rows


# -- end to end: written into a snapshot, validated --------------------------------------------------


def test_written_to_a_snapshot_and_validated(
    ex: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(GENERATORS, NAME, ex.generate)
    monkeypatch.setitem(validate.DOMAIN_CHECKS, NAME, ex.checks)
    lookup = {t.name: t for t in ex.tables}
    world = World(SPEC)
    # What builder.build does, with the extended catalog handed over explicitly.
    with SnapshotWriter(Store(tmp_path), "extended") as writer:
        for name in catalog.load_order(["user", "algorithms", NAME], tables=ex.tables):
            writer.write_table(lookup[name], GENERATORS[name](world))
        assert list(writer.tables) == ["user", "algorithms", NAME]
        entry = writer.tables[NAME]
        files = [writer.dir / p.path for p in entry.parts]
        parts = {name: [writer.dir / p.path for p in e.parts] for name, e in writer.tables.items()}
        report = validate.run_checks(parts, as_of=SPEC.as_of_tick, tables=ex.tables, proven=writer.proven)

        assert [pq.read_schema(f).remove_metadata() for f in files] == [arrow_schema(ex.table)]
        assert [(c.name, c.type, c.nullable) for c in entry.schema] == [
            (c.name, c.type.sql, c.nullable) for c in ex.table.columns
        ]
        assert (entry.primary_key, entry.diff_key) == (("id",), ("id",))
        assert entry.rows == ex.generate(World(SPEC)).num_rows
        assert entry.stats["total_return"]["max_scale"] == 4
        assert entry.stats["created_at"]["max"] <= "2026-11-01T00:00:00Z"

        ours = {c.name: c for c in report.checks if c.table == NAME}
        assert {
            "not_null.algorithm_id",
            "not_null.created_at",
            "length.coin_type",
            "json.metrics_json",
            "not_after_as_of.ended_at",
            "primary_key",
            "foreign_key.algorithm_id",
            "foreign_key.user_id",
            "time_order.after_algorithm_id",
            "time_order.after_user_id",
            "backtest_results.time_order",
            "backtest_results.returns",
            "backtest_results.ranges",
        } <= set(ours)
        assert [c for c in ours.values() if not c.passed] == []
        assert ours["primary_key"].method == "key_order"  # sorted_table's order proved the key unique
        assert report.passed

        # The derived checks bite: a dangling algorithm and a wrong return are caught.
        rows = pq.read_table(files).to_pylist()
        rows[0]["algorithm_id"] = uuid.UUID(int=1)
        rows[1]["total_return"] += 1
        broken = tmp_path / "broken.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=arrow_schema(ex.table)), broken)
        report = validate.run_checks({**parts, NAME: [broken]}, as_of=SPEC.as_of_tick, tables=ex.tables)
        failed = {c.name: c.failures for c in report.checks if c.table == NAME and not c.passed}
        assert failed == {"foreign_key.algorithm_id": 1, "backtest_results.returns": 1}


def test_build_snapshot_with_a_patched_catalog(
    ex: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "BACKTEST_RESULTS", ex.table, raising=False)
    monkeypatch.setattr(registry, "TABLES", ex.tables)
    monkeypatch.setitem(registry._BY_NAME, NAME, ex.table)
    monkeypatch.setitem(GENERATORS, NAME, ex.generate)
    monkeypatch.setitem(validate.DOMAIN_CHECKS, NAME, ex.checks)
    manifest = omc_data.build_snapshot(
        "bt",
        store=tmp_path,
        seed=SPEC.seed,
        as_of=AS_OF,
        users=SPEC.users,
        coins=SPEC.coins,
        days=SPEC.days,
        bcrypt_rounds=SPEC.bcrypt_rounds,
        tables=["user", "algorithms", NAME],
    )
    assert list(manifest.tables) == ["user", "algorithms", NAME]
    assert manifest.catalog_fingerprint == catalog.fingerprint(ex.tables)
    checks = {c["name"] for c in manifest.validation["checks"] if c["table"] == NAME}
    assert {"foreign_key.algorithm_id", "foreign_key.user_id", "backtest_results.returns"} <= checks
    assert any('CREATE TABLE "backtest_results"' in s.as_string(None) for s in schema_ddl())
