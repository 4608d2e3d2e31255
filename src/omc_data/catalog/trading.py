"""Catalog entries of trading: algorithms, their deployments, positions and orders, and the Lab-to-Floor
workflow around them: backtest runs, strategy promotions and the trading agents' decision audit."""

from __future__ import annotations

from omc_data.catalog.model import (
    BOOLEAN,
    CURRENT_HEAD,
    FLOAT8,
    INTEGER,
    TIMESTAMPTZ,
    UUID,
    Index,
    Table,
    UniqueKey,
    _c,
    _fk,
    _keys,
    numeric,
    varchar,
)

ALGORITHMS = Table(
    name="algorithms",
    doc="Trading algorithms; some point at the model artifact they came from.",
    columns=(
        _c("id", UUID, False),
        _c("name", varchar(255), False),
        _c("description", varchar(1000)),
        _c(
            "algorithm_type",
            varchar(50),
            False,
            doc="ml_model / rule_based / reinforcement_learning",
            values=("ml_model", "rule_based", "reinforcement_learning"),
        ),
        _c("version", varchar(50), False),
        _c("artifact_id", UUID),
        _c(
            "status",
            varchar(20),
            False,
            doc="draft / active / paused / archived",
            values=("draft", "active", "paused", "archived"),
        ),
        _c("configuration_json", varchar()),
        _c("default_execution_frequency", INTEGER, False, doc="seconds"),
        _c("default_position_limit", numeric(20, 2)),
        _c("performance_metrics_json", varchar()),
        _c("created_by", UUID, False),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("last_executed_at", TIMESTAMPTZ),
    ),
    primary_key=("id",),
    primary_key_name="algorithms_pkey",
    diff_key=_keys("id"),
    foreign_keys=(
        _fk("algorithms", "artifact_id", "agent_artifacts"),
        _fk("algorithms", "created_by", "user"),
    ),
)

DEPLOYED_ALGORITHMS = Table(
    name="deployed_algorithms",
    doc="Algorithms a user has deployed.",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("algorithm_id", UUID, False),
        _c("deployment_name", varchar(255)),
        _c("is_active", BOOLEAN, False),
        _c("execution_frequency", INTEGER, False),
        _c("position_limit", numeric(20, 2)),
        _c("daily_loss_limit", numeric(20, 2)),
        _c("parameters_json", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("activated_at", TIMESTAMPTZ),
        _c("deactivated_at", TIMESTAMPTZ),
        _c("last_executed_at", TIMESTAMPTZ),
        _c("total_profit_loss", numeric(20, 2), False),
        _c("total_trades", INTEGER, False),
    ),
    primary_key=("id",),
    primary_key_name="deployed_algorithms_pkey",
    diff_key=_keys("id"),
    foreign_keys=(
        _fk("deployed_algorithms", "user_id", "user"),
        _fk("deployed_algorithms", "algorithm_id", "algorithms"),
    ),
)

POSITIONS = Table(
    name="positions",
    doc="What each user holds: one row per user and coin with a positive net quantity.",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("coin_type", varchar(20), False),
        _c("quantity", numeric(20, 10), False),
        _c("average_price", numeric(20, 8), False),
        _c("total_cost", numeric(20, 2), False),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="positions_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("positions", "user_id", "user"),),
    unique_keys=(UniqueKey("ix_positions_user_coin", _keys("user_id", "coin_type")),),
)

ORDERS = Table(
    name="orders",
    doc="Buy and sell orders; algorithm_id has an index but no foreign key.",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("algorithm_id", UUID),
        _c("coin_type", varchar(20), False),
        _c("side", varchar(10), False, doc="buy / sell", values=("buy", "sell")),
        _c("order_type", varchar(20), False, doc="market / limit", values=("market", "limit")),
        _c("quantity", numeric(20, 10), False),
        _c("price", numeric(20, 8)),
        _c("filled_quantity", numeric(20, 10), False),
        _c(
            "status",
            varchar(20),
            False,
            values=("pending", "submitted", "filled", "partial", "cancelled", "failed"),
        ),
        _c("error_message", varchar(500)),
        _c("coinspot_order_id", varchar(100)),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("submitted_at", TIMESTAMPTZ),
        _c("filled_at", TIMESTAMPTZ),
    ),
    primary_key=("id",),
    primary_key_name="orders_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("orders", "user_id", "user"),),
    indexes=(Index("ix_orders_algorithm_id", ("algorithm_id",)),),
)

BACKTEST_STATUSES = ("pending", "running", "completed", "failed")
ENVIRONMENTS_FROM = ("lab", "paper")
ENVIRONMENTS_TO = ("floor", "production")
DECISIONS = ("BUY", "SELL", "HOLD")

BACKTEST_RUNS = Table(
    name="backtest_runs",
    since=CURRENT_HEAD,
    doc="Backtests of an algorithm over the price history of one coin; the *_json texts are what the "
    "app's backtester writes (metrics, [{timestamp, equity}], [{timestamp, action, price, quantity, pnl}]).",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("algorithm_id", UUID, False),
        _c("coin_type", varchar(20), False, doc="Coinspot key, lower case (as price_data_5min)"),
        _c("start_date", TIMESTAMPTZ, False),
        _c("end_date", TIMESTAMPTZ, False),
        _c("initial_capital", numeric(20, 2), False),
        _c(
            "status",
            varchar(20),
            False,
            doc="pending / running / completed / failed",
            values=BACKTEST_STATUSES,
        ),
        _c("results_json", varchar()),
        _c("equity_curve_json", varchar()),
        _c("trade_log_json", varchar()),
        _c("error_message", varchar(2000)),
        _c("created_at", TIMESTAMPTZ, False),
        _c("completed_at", TIMESTAMPTZ),
    ),
    primary_key=("id",),
    primary_key_name="backtest_runs_pkey",
    diff_key=_keys("id"),
    foreign_keys=(
        _fk("backtest_runs", "algorithm_id", "algorithms"),
        _fk("backtest_runs", "user_id", "user"),
    ),
    indexes=(
        Index("ix_backtest_runs_algorithm_id", ("algorithm_id",)),
        Index("ix_backtest_runs_user_id", ("user_id",)),
        Index("ix_backtest_runs_status", ("status",)),
    ),
)

STRATEGY_PROMOTIONS = Table(
    name="strategy_promotions",
    since=CURRENT_HEAD,
    doc="Requests to move an algorithm from the Lab (or paper trading) to the Floor (or production).",
    columns=(
        _c("algorithm_id", UUID, False),
        _c("from_environment", varchar(50), False, doc="lab / paper", values=ENVIRONMENTS_FROM),
        _c("to_environment", varchar(50), False, doc="floor / production", values=ENVIRONMENTS_TO),
        _c(
            "status",
            varchar(20),
            False,
            doc="pending / approved / rejected",
            values=("pending", "approved", "rejected"),
        ),
        _c("promotion_notes", varchar(1000)),
        _c("performance_snapshot_json", varchar()),
        _c("id", UUID, False),
        _c("created_by", UUID, False),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("reviewed_at", TIMESTAMPTZ),
        _c("reviewed_by", UUID),
        _c("rejection_reason", varchar(1000)),
    ),
    primary_key=("id",),
    primary_key_name="strategy_promotions_pkey",
    diff_key=_keys("id"),
    foreign_keys=(
        _fk("strategy_promotions", "algorithm_id", "algorithms"),
        _fk("strategy_promotions", "created_by", "user"),
        _fk("strategy_promotions", "reviewed_by", "user"),
    ),
    indexes=(
        Index("ix_strategy_promotions_algorithm_id", ("algorithm_id",)),
        Index("ix_strategy_promotions_created_by", ("created_by",)),
        Index("ix_strategy_promotions_status", ("status",)),
    ),
)

TRADE_AUDIT = Table(
    name="trade_audit",
    since=CURRENT_HEAD,
    doc="Trading agents' decisions with their reasons; an executed one names its order (no foreign key).",
    columns=(
        _c("agent_id", varchar(100), False),
        _c("decision", varchar(20), False, doc="BUY / SELL / HOLD", values=DECISIONS),
        _c("reason", varchar(1000), False),
        _c("confidence_score", FLOAT8, False, doc="0..1"),
        _c("asset", varchar(20), False, doc="coin code, upper case (e.g. BTC)"),
        _c("price_at_decision", numeric(20, 8)),
        _c("is_executed", BOOLEAN, False),
        _c("execution_order_id", UUID, doc="orders.id when executed; no foreign key"),
        _c("block_reason", varchar()),
        _c("id", UUID, False),
        _c("timestamp", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="trade_audit_pkey",
    diff_key=_keys("id"),
    indexes=(
        Index("ix_trade_audit_agent_id", ("agent_id",)),
        Index("ix_trade_audit_asset", ("asset",)),
        Index("ix_trade_audit_timestamp", ("timestamp",)),
    ),
)
