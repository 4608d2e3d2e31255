"""The one definition of the OMC dataset tables.

Plain Python, no third-party imports: the Arrow schemas of snapshots, the DDL and schema checks of the
loaders, the diff keys and the foreign-key load order are all derived from the entries. The facts
come from the OMC backend's current alembic head (``s2v6w3x9y4z8``); columns that the older "seed era"
schema (``28ac3452fc30``) lacks carry ``since=CURRENT_HEAD``.

The package, by what a reader looks for:

- :mod:`.model`: the types (``PgType``, ``Column``, ``KeyPart``, ``ForeignKey``, ``UniqueKey``,
  ``Index``, ``Table``) and the schema revisions;
- the entries, one module per area of the app: :mod:`.accounts` (``user``), :mod:`.agents` (the AI Lab),
  :mod:`.trading` (algorithms, deployments, positions, orders, backtests, promotions, trade audit),
  :mod:`.market` (prices, protocol TVL, news), :mod:`.risk` (risk rules, system settings, audit log);
- :mod:`.registry`: ``TABLES``, lookup by name, load order, ``children_of`` and the fingerprint.

Everything is importable from here: ``from omc_data.catalog import Table, load_order``. Adding a table
(say backtest results) is one ``Table`` entry in its area module, one line in ``registry.TABLES`` and
one generator in the builder.
"""

from __future__ import annotations

from omc_data.catalog.accounts import CURRENCIES, USER
from omc_data.catalog.agents import AGENT_ARTIFACTS, AGENT_SESSION_MESSAGES, AGENT_SESSIONS
from omc_data.catalog.market import NEWS_SENTIMENT, PRICE_DATA_5MIN, PROTOCOL_FUNDAMENTALS
from omc_data.catalog.model import (
    BIGINT,
    BOOLEAN,
    BYTEA,
    CURRENT_HEAD,
    FLOAT8,
    INTEGER,
    JSON,
    JSON_TYPES,
    JSONB,
    SEED_ERA_HEAD,
    TEXT,
    TIMESTAMPTZ,
    UUID,
    V1_TYPES,
    VARCHAR_ARRAY,
    Check,
    Column,
    ForeignKey,
    Index,
    KeyPart,
    PgType,
    Serial,
    Table,
    UniqueKey,
    numeric,
    parse_type,
    varchar,
)
from omc_data.catalog.registry import (
    TABLES,
    canonical_json,
    children_of,
    current,
    fingerprint,
    load_order,
    reference_problems,
    some_tables,
    table,
    table_names,
)
from omc_data.catalog.risk import AUDIT_LOG, KILL_SWITCH, RISK_RULE, SYSTEM_SETTING
from omc_data.catalog.trading import (
    ALGORITHMS,
    BACKTEST_RUNS,
    DEPLOYED_ALGORITHMS,
    ORDERS,
    POSITIONS,
    STRATEGY_PROMOTIONS,
    TRADE_AUDIT,
)

__all__ = [
    "AGENT_ARTIFACTS",
    "AGENT_SESSIONS",
    "AGENT_SESSION_MESSAGES",
    "ALGORITHMS",
    "AUDIT_LOG",
    "BACKTEST_RUNS",
    "BIGINT",
    "BOOLEAN",
    "BYTEA",
    "CURRENCIES",
    "CURRENT_HEAD",
    "DEPLOYED_ALGORITHMS",
    "FLOAT8",
    "INTEGER",
    "JSON",
    "JSONB",
    "JSON_TYPES",
    "KILL_SWITCH",
    "NEWS_SENTIMENT",
    "ORDERS",
    "POSITIONS",
    "PRICE_DATA_5MIN",
    "PROTOCOL_FUNDAMENTALS",
    "RISK_RULE",
    "SEED_ERA_HEAD",
    "STRATEGY_PROMOTIONS",
    "SYSTEM_SETTING",
    "TABLES",
    "TEXT",
    "TIMESTAMPTZ",
    "TRADE_AUDIT",
    "USER",
    "UUID",
    "V1_TYPES",
    "VARCHAR_ARRAY",
    "Check",
    "Column",
    "ForeignKey",
    "Index",
    "KeyPart",
    "PgType",
    "Serial",
    "Table",
    "UniqueKey",
    "canonical_json",
    "children_of",
    "current",
    "fingerprint",
    "load_order",
    "numeric",
    "parse_type",
    "reference_problems",
    "some_tables",
    "table",
    "table_names",
    "varchar",
]
