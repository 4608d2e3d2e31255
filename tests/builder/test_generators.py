"""What the generators make: keys, references, time order, vocabularies, the Lab, and the default counts.

The expectations are written out here from ``omc-schema.md`` and ``DESIGN.md`` (not read from the
catalog), so a catalog that drifts from the app's schema is caught too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import omc_data
from omc_data import catalog

AS_OF = "2026-11-01T00:00:00Z"
AS_OF_DT = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
DEFAULT: dict[str, Any] = {"seed": 3, "as_of": AS_OF, "bcrypt_rounds": 4}  # every count at its default
SMALL: dict[str, Any] = {
    "seed": 21,
    "as_of": "2026-11-01T00:12:00Z",
    "users": 5,
    "coins": 3,
    "days": 2,
    "bcrypt_rounds": 4,
}
TAGS = {"default": AS_OF_DT, "small": dt.datetime(2026, 11, 1, 0, 10, tzinfo=dt.timezone.utc)}

# (table, column) -> (parent table, parent column), from omc-schema.md
FOREIGN_KEYS = {
    ("agent_sessions", "user_id"): ("user", "id"),
    ("agent_session_messages", "session_id"): ("agent_sessions", "id"),
    ("agent_artifacts", "session_id"): ("agent_sessions", "id"),
    ("algorithms", "artifact_id"): ("agent_artifacts", "id"),
    ("algorithms", "created_by"): ("user", "id"),
    ("deployed_algorithms", "user_id"): ("user", "id"),
    ("deployed_algorithms", "algorithm_id"): ("algorithms", "id"),
    ("positions", "user_id"): ("user", "id"),
    ("orders", "user_id"): ("user", "id"),
    ("audit_log", "user_id"): ("user", "id"),
    ("backtest_runs", "user_id"): ("user", "id"),
    ("backtest_runs", "algorithm_id"): ("algorithms", "id"),
    ("strategy_promotions", "algorithm_id"): ("algorithms", "id"),
    ("strategy_promotions", "created_by"): ("user", "id"),
    ("strategy_promotions", "reviewed_by"): ("user", "id"),
}
# When a row came to be, for tables without created_at.
BORN = {"audit_log": "timestamp"}
# Status-like columns and the values the app uses (omc-schema.md).
VALUES = {
    ("user", "preferred_currency"): {
        *("AUD", "USD", "EUR", "GBP", "JPY", "CNY", "CAD", "NZD", "SGD"),
        *("BTC", "ETH", "USDT", "USDC", "BNB"),
    },
    ("user", "risk_tolerance"): {"low", "medium", "high"},
    ("user", "trading_experience"): {"beginner", "intermediate", "advanced"},
    ("news_sentiment", "sentiment"): {"positive", "negative", "neutral"},
    ("algorithms", "algorithm_type"): {"ml_model", "rule_based", "reinforcement_learning"},
    ("algorithms", "status"): {"draft", "active", "paused", "archived"},
    ("orders", "side"): {"buy", "sell"},
    ("orders", "order_type"): {"market", "limit"},
    ("orders", "status"): {"pending", "submitted", "filled", "partial", "cancelled", "failed"},
    ("agent_sessions", "status"): {
        "pending",
        "running",
        "completed",
        "failed",
        "cancelled",
        "awaiting_approval",
    },
    ("agent_sessions", "llm_provider"): {"openai", "google", "anthropic", "system_default"},
    ("agent_session_messages", "role"): {"user", "assistant", "system", "function"},
    ("agent_artifacts", "artifact_type"): {"model", "plot", "report", "code", "data"},
}
PRIMARY_KEYS = {t.name: t.primary_key[0] for t in catalog.TABLES}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generators")
    omc_data.build_snapshot("default", store=root, **DEFAULT)
    omc_data.build_snapshot("small", store=root, **SMALL)
    return root


Rows = dict[str, list[dict[str, Any]]]
Built = tuple[str, Rows, dict[str, pa.Schema]]  # tag, rows by table, Arrow schema by table


def read_all(store: Path, tag: str) -> tuple[Rows, dict[str, pa.Schema]]:
    snap = omc_data.open_snapshot(tag, store=store)
    rows, schemas = {}, {}
    for name in snap.manifest.tables:
        tables = [pq.read_table(p) for p in snap.part_paths(name)]
        schemas[name] = tables[0].schema
        rows[name] = [r for t in tables for r in t.to_pylist()]
    return rows, schemas


@pytest.fixture(scope="module")
def default(store: Path) -> Rows:
    return read_all(store, "default")[0]


@pytest.fixture(scope="module", params=sorted(TAGS))
def built(request: pytest.FixtureRequest, store: Path) -> Built:
    rows, schemas = read_all(store, request.param)
    return request.param, rows, schemas


def by_id(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["id"]: r for r in rows}


# --- keys and references -------------------------------------------------------------------------------


def test_the_catalog_declares_the_schemas_foreign_keys() -> None:
    declared = {
        (t.name, fk.columns[0]): (fk.ref_table, fk.ref_columns[0])
        for t in catalog.TABLES
        for fk in t.foreign_keys
    }
    assert declared == FOREIGN_KEYS


def test_every_reference_resolves(built: Built) -> None:
    _, rows, _ = built
    for (table, column), (parent, parent_column) in FOREIGN_KEYS.items():
        targets = {r[parent_column] for r in rows[parent]}
        values = [r[column] for r in rows[table] if r[column] is not None]
        missing = [v for v in values if v not in targets]
        assert missing == [], (table, column)
    # orders.algorithm_id has no foreign key in the app, but still names an algorithm of the dataset
    algorithms = {a["id"] for a in rows["algorithms"]}
    assert {o["algorithm_id"] for o in rows["orders"]} - {None} <= algorithms


def test_references_are_exercised(default: Rows) -> None:
    for (table, column), _ in FOREIGN_KEYS.items():
        assert any(r[column] is not None for r in default[table]), (table, column)


def test_keys_are_unique(built: Built) -> None:
    _, rows, _ = built

    def dupes(values: list[Any]) -> list[Any]:
        return [v for v, n in Counter(values).items() if n > 1]

    for table, pk in PRIMARY_KEYS.items():
        assert dupes([r[pk] for r in rows[table]]) == [], table
    emails = [u["email"] for u in rows["user"]]
    assert dupes(emails) == [] and dupes([e.lower() for e in emails]) == []
    assert dupes([(p["user_id"], p["coin_type"]) for p in rows["positions"]]) == []
    assert dupes([(p["coin_type"], p["timestamp"]) for p in rows["price_data_5min"]]) == []
    assert dupes([n["url"] for n in rows["news_sentiment"] if n["url"] is not None]) == []
    days = [
        (p["protocol"], p["collected_at"].astimezone(dt.timezone.utc).date())
        for p in rows["protocol_fundamentals"]
    ]
    assert dupes(days) == []


def test_serial_ids_count_from_one(built: Built) -> None:
    _, rows, _ = built
    for table in ("price_data_5min", "news_sentiment", "protocol_fundamentals"):
        ids = sorted(r["id"] for r in rows[table])
        assert ids == list(range(1, len(ids) + 1)), table


# --- time ---------------------------------------------------------------------------------------------


def test_nothing_lies_after_as_of(built: Built) -> None:
    tag, rows, schemas = built
    as_of = TAGS[tag]
    stamped = 0
    for table, schema in schemas.items():
        columns = [f.name for f in schema if pa.types.is_timestamp(f.type)]
        assert columns, table
        for r in rows[table]:
            for c in columns:
                assert r[c] is None or r[c] <= as_of, (table, c, r)
                stamped += 1
    assert stamped


def test_created_before_updated(built: Built) -> None:
    _, rows, _ = built
    for table, table_rows in rows.items():
        for r in table_rows:
            if "updated_at" in r and "created_at" in r:
                assert r["created_at"] <= r["updated_at"], (table, r)


def test_children_are_not_created_before_their_parents(built: Built) -> None:
    _, rows, _ = built
    for (table, column), (parent, parent_column) in FOREIGN_KEYS.items():
        born = {r[parent_column]: r["created_at"] for r in rows[parent]}
        for r in rows[table]:
            if r[column] is not None:
                assert r[BORN.get(table, "created_at")] >= born[r[column]], (table, column, r)
    sessions = by_id(rows["agent_sessions"])
    for a in rows["agent_artifacts"]:
        s = sessions[a["session_id"]]
        assert s["created_at"] <= a["created_at"] <= s["completed_at"], a
    for m in rows["agent_session_messages"]:
        s = sessions[m["session_id"]]
        assert s["created_at"] <= m["created_at"] <= (s["completed_at"] or s["updated_at"]), m
    for s in rows["agent_sessions"]:
        assert s["completed_at"] is None or s["created_at"] <= s["completed_at"], s
    for d in rows["deployed_algorithms"]:
        assert d["created_at"] <= d["activated_at"], d
        assert d["deactivated_at"] is None or d["activated_at"] <= d["deactivated_at"], d


def test_orders_are_not_placed_by_algorithms_that_did_not_exist_yet(default: Rows) -> None:
    algorithms = by_id(default["algorithms"])
    placed = [o for o in default["orders"] if o["algorithm_id"] is not None]
    assert placed
    early = [o for o in placed if o["created_at"] < algorithms[o["algorithm_id"]]["created_at"]]
    assert early == []


# --- text columns --------------------------------------------------------------------------------------


def test_json_text_columns_parse(built: Built) -> None:
    tag, rows, schemas = built
    found = set()
    for table, schema in schemas.items():
        for column in (f.name for f in schema if f.name.endswith("_json")):
            found.add((table, column))
            values = [r[column] for r in rows[table] if r[column] is not None]
            if tag == "default":
                assert values, (table, column)  # every JSON column is exercised
            for v in values:
                assert isinstance(v, str)
                json.loads(v)
    assert found == {
        ("algorithms", "configuration_json"),
        ("algorithms", "performance_metrics_json"),
        ("deployed_algorithms", "parameters_json"),
        ("agent_session_messages", "metadata_json"),
        ("agent_artifacts", "metadata_json"),
        ("backtest_runs", "results_json"),
        ("backtest_runs", "equity_curve_json"),
        ("backtest_runs", "trade_log_json"),
        ("strategy_promotions", "performance_snapshot_json"),
    }


def test_status_like_columns_use_the_apps_values(built: Built) -> None:
    tag, rows, _ = built
    for (table, column), allowed in VALUES.items():
        used = {r[column] for r in rows[table]} - {None}
        assert used <= allowed, (table, column, used - allowed)
        if tag == "default" and (table, column) != ("news_sentiment", "sentiment"):
            assert used, (table, column)


def test_emails_use_reserved_domains(built: Built) -> None:
    _, rows, _ = built
    for u in rows["user"]:
        assert u["email"].rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}, u


# --- the Lab ------------------------------------------------------------------------------------------


def test_sessions_have_3_to_12_messages_in_sequence(built: Built) -> None:
    _, rows, _ = built
    messages: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for m in rows["agent_session_messages"]:
        messages[m["session_id"]].append(m)
    assert set(messages) == {s["id"] for s in rows["agent_sessions"]}
    for session_id, group in messages.items():
        group.sort(key=lambda m: m["sequence_id"])
        assert 3 <= len(group) <= 12, session_id
        assert [m["sequence_id"] for m in group] == list(range(1, len(group) + 1)), session_id
        stamps = [m["created_at"] for m in group]
        assert stamps == sorted(stamps), session_id
        assert {m["role"] for m in group} <= {"user", "assistant", "system", "function"}


def test_completed_sessions_and_only_they_have_artifacts(built: Built) -> None:
    _, rows, _ = built
    with_artifacts = {a["session_id"] for a in rows["agent_artifacts"]}
    completed = {s["id"] for s in rows["agent_sessions"] if s["status"] == "completed"}
    assert with_artifacts == completed
    assert completed
    for s in rows["agent_sessions"]:
        finished = s["status"] in ("completed", "failed", "cancelled")
        assert (s["completed_at"] is not None) == finished, s


def test_some_algorithms_point_at_a_model_artifact(default: Rows) -> None:
    artifacts = by_id(default["agent_artifacts"])
    pointing = [a for a in default["algorithms"] if a["artifact_id"] is not None]
    assert pointing
    assert all(artifacts[a["artifact_id"]]["artifact_type"] == "model" for a in pointing)
    assert len(pointing) < len(default["algorithms"])  # some, not all


def test_deployments_use_only_active_algorithms(built: Built) -> None:
    _, rows, _ = built
    algorithms = by_id(rows["algorithms"])
    assert rows["deployed_algorithms"]
    for d in rows["deployed_algorithms"]:
        assert algorithms[d["algorithm_id"]]["status"] == "active", d
    assert {a["status"] for a in rows["algorithms"]} != {"active"}  # the rule had something to exclude


# --- the default counts -------------------------------------------------------------------------------


def test_default_counts_are_honoured(default: Rows) -> None:
    users = default["user"]
    assert len(users) == 10 + 1
    assert sum(u["is_superuser"] for u in users) == 1
    assert len(default["algorithms"]) == 15
    assert len(default["deployed_algorithms"]) == 8
    assert len(default["agent_sessions"]) == 20
    assert len(default["news_sentiment"]) == 100
    per_day = Counter(
        p["collected_at"].astimezone(dt.timezone.utc).date() for p in default["protocol_fundamentals"]
    )
    assert len(per_day) == 7
    assert set(per_day.values()) == {20}
    prices = Counter(p["coin_type"] for p in default["price_data_5min"])
    assert len(prices) == 10
    assert set(prices.values()) == {7 * 288}
    traders = {o["user_id"] for o in default["orders"]}
    assert 0 < len(traders) <= 10
    assert 5 <= len(default["orders"]) / len(traders) <= 40  # 20 per trading user, on average
