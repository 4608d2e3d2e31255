"""Domain checks of the app's tables at its current head beyond the seed script's eleven.

One function per table yields its ``_Check``s; ``CHECKS`` maps table names to them and
:mod:`.validate` adds them to its ``DOMAIN_CHECKS``. JSON columns are read with DuckDB's JSON functions
and compared by value through ``omc_json`` (see :mod:`.jsonvalue`). A check reading another table names
it in ``needs`` and is skipped when the snapshot lacks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from omc_data.snapshots.checkspec import _Check

NEAR_MARKET = 0.02  # a decision's price within 2% of the coin's last at the latest tick before it


def _value_is_object(table: str) -> _Check:
    """``value`` (a json column the app reads keys of) holds an object wherever it holds valid JSON."""
    return _Check(
        f"{table}.value_object",
        table,
        "every value is a JSON object",
        where="value IS NOT NULL AND json_valid(value) AND json_type(value) <> 'OBJECT'",
    )


def _system_setting_checks() -> Iterable[_Check]:
    t = "system_setting"
    yield _Check(
        "system_setting.kill_switch",
        t,
        "exactly one kill_switch row, its value an object with a boolean 'active'",
        "SELECT CASE WHEN count(*) FILTER (WHERE key = 'kill_switch' AND json_valid(value) "
        "AND json_type(value, '$.active') = 'BOOLEAN') = 1 THEN 0 ELSE 1 END FROM system_setting",
    )
    yield _value_is_object(t)


_POSITIVE = "coalesce(TRY_CAST(json_extract_string(value, '$.{}') AS DOUBLE), 0) > 0"


def _risk_rule_checks() -> Iterable[_Check]:
    t = "risk_rule"
    yield _value_is_object(t)
    pct = "TRY_CAST(json_extract_string(value, '$.max_percentage') AS DOUBLE)"
    yield _Check(
        "risk_rule.limits",
        t,
        "max_position_size has a positive max_value or a max_percentage in (0, 100]; "
        "max_daily_loss and max_order_value a positive max_value",
        where="json_valid(value) AND ("
        f"(rule_type = 'max_position_size' AND NOT ({_POSITIVE.format('max_value')} "
        f"OR coalesce({pct} > 0 AND {pct} <= 100, false))) "
        f"OR (rule_type IN ('max_daily_loss', 'max_order_value') AND NOT {_POSITIVE.format('max_value')}))",
    )


def _audit_log_checks() -> Iterable[_Check]:
    t = "audit_log"
    yield _Check(
        "audit_log.after_user",
        t,
        "an event of a user is not before the user's created_at",
        'SELECT count(*) FROM audit_log a JOIN "user" u ON u.id = a.user_id '
        'WHERE a."timestamp" < u.created_at',
        needs=("user",),
    )
    yield _Check(
        "audit_log.kill_switch_by_superuser",
        t,
        "kill_switch_toggle events are critical, by a superuser, with a boolean 'active'",
        'SELECT count(*) FROM audit_log a LEFT JOIN "user" u ON u.id = a.user_id '
        "WHERE a.event_type = 'kill_switch_toggle' AND (a.severity <> 'critical' "
        "OR u.is_superuser IS DISTINCT FROM true OR NOT json_valid(a.details) "
        "OR json_type(a.details, '$.active') IS DISTINCT FROM 'BOOLEAN')",
        needs=("user",),
    )
    yield _Check(
        "audit_log.kill_switch_agrees",
        t,
        "the last kill_switch_toggle left the switch as system_setting says (compared as JSON values)",
        "SELECT count(*) FROM (SELECT details FROM audit_log WHERE event_type = 'kill_switch_toggle' "
        'ORDER BY "timestamp" DESC, id DESC LIMIT 1) a, system_setting s '
        "WHERE s.key = 'kill_switch' AND omc_json(a.details) IS DISTINCT FROM omc_json(s.value)",
        needs=("system_setting",),
    )
    yield _Check(
        "audit_log.trade_events_name_orders",
        t,
        "a TRADE_APPROVED / TRADE_REJECTED event naming an order names an order of the same user",
        "SELECT count(*) FROM audit_log a LEFT JOIN orders o "
        "ON CAST(o.id AS VARCHAR) = json_extract_string(a.details, '$.order_id') "
        "WHERE a.event_type IN ('TRADE_APPROVED', 'TRADE_REJECTED') AND json_valid(a.details) "
        "AND json_extract_string(a.details, '$.order_id') IS NOT NULL "
        "AND (o.id IS NULL OR o.user_id IS DISTINCT FROM a.user_id)",
        needs=("orders",),
    )


_EQUITY_LAST = "TRY_CAST(json_extract(equity_curve_json, '$[#-1].equity') AS DOUBLE)"
_EQUITY_FIRST = "TRY_CAST(json_extract(equity_curve_json, '$[0].equity') AS DOUBLE)"


def _backtest_checks() -> Iterable[_Check]:
    t = "backtest_runs"
    yield _Check(
        "backtest_runs.time_order",
        t,
        "start_date < end_date <= created_at <= completed_at",
        where="end_date <= start_date OR created_at < end_date OR completed_at < created_at",
    )
    yield _Check(
        "backtest_runs.status_shape",
        t,
        "completed: results, curve, trade log and completed_at, no error; failed: error and completed_at, "
        "no results; pending and running: neither",
        where="NOT ("
        "(status = 'completed' AND results_json IS NOT NULL AND equity_curve_json IS NOT NULL "
        "AND trade_log_json IS NOT NULL AND completed_at IS NOT NULL AND error_message IS NULL) "
        "OR (status = 'failed' AND error_message IS NOT NULL AND completed_at IS NOT NULL "
        "AND results_json IS NULL) "
        "OR (status IN ('pending', 'running') AND completed_at IS NULL AND results_json IS NULL))",
    )
    yield _Check(
        "backtest_runs.capital",
        t,
        "initial_capital > 0",
        where="initial_capital <= 0",
    )
    yield _Check(
        "backtest_runs.return_matches_curve",
        t,
        "results total_return = last / first equity - 1 (to its 6 places); the curve starts at the capital",
        where="status = 'completed' AND json_valid(results_json) AND json_valid(equity_curve_json) "
        "AND json_array_length(equity_curve_json) >= 2 AND ("
        f"abs(TRY_CAST(json_extract(results_json, '$.total_return') AS DOUBLE) "
        f"- ({_EQUITY_LAST} / {_EQUITY_FIRST} - 1)) > 0.000001 "
        f"OR abs({_EQUITY_FIRST} - CAST(initial_capital AS DOUBLE)) "
        "> 0.000001 * CAST(initial_capital AS DOUBLE))",
    )
    yield _Check(
        "backtest_runs.curve_covers_the_window",
        t,
        "a completed run has one equity point per tick of its coin in [start_date, end_date] after the "
        "first 50 (the long average's window)",
        "SELECT count(*) FROM backtest_runs b WHERE status = 'completed' "
        "AND json_valid(equity_curve_json) AND json_array_length(equity_curve_json) <> greatest(("
        "SELECT count(*) FROM price_data_5min p WHERE p.coin_type = b.coin_type AND p.last IS NOT NULL "
        'AND p."timestamp" BETWEEN b.start_date AND b.end_date) - 50, 0)',
        needs=("price_data_5min",),
    )
    yield _Check(
        "backtest_runs.trades_at_market",
        t,
        "every trade of a completed run is at its coin's last price at that tick, inside the window",
        "SELECT count(*) FROM (SELECT b.coin_type, b.start_date, b.end_date, "
        "unnest(from_json(b.trade_log_json, "
        """'[{"timestamp": "VARCHAR", "price": "DOUBLE"}]')) AS tr FROM backtest_runs b """
        "WHERE b.status = 'completed' AND json_valid(b.trade_log_json)) t "
        "LEFT JOIN price_data_5min p ON p.coin_type = t.coin_type "
        'AND p."timestamp" = TRY_CAST(t.tr.timestamp AS TIMESTAMPTZ) '
        "WHERE p.last IS NULL OR abs(CAST(p.last AS DOUBLE) - t.tr.price) > 1e-9 * t.tr.price "
        'OR p."timestamp" < t.start_date OR p."timestamp" > t.end_date',
        needs=("price_data_5min",),
    )


def _promotion_checks() -> Iterable[_Check]:
    t = "strategy_promotions"
    yield _Check(
        "strategy_promotions.review_shape",
        t,
        "pending: not reviewed; approved and rejected: reviewed_at and reviewed_by; a rejection reason "
        "only when rejected",
        where="(status = 'pending' AND (reviewed_at IS NOT NULL OR reviewed_by IS NOT NULL)) "
        "OR (status IN ('approved', 'rejected') AND (reviewed_at IS NULL OR reviewed_by IS NULL)) "
        "OR (rejection_reason IS NOT NULL AND status <> 'rejected')",
    )
    yield _Check(
        "strategy_promotions.time_order",
        t,
        "created_at <= reviewed_at <= updated_at",
        where="reviewed_at < created_at OR reviewed_at > updated_at",
    )
    yield _Check(
        "strategy_promotions.reviewer_is_superuser",
        t,
        "reviewed_by is a superuser",
        'SELECT count(*) FROM strategy_promotions s JOIN "user" u ON u.id = s.reviewed_by '
        "WHERE NOT u.is_superuser",
        needs=("user",),
    )


def _trade_audit_checks() -> Iterable[_Check]:
    t = "trade_audit"
    yield _Check(
        "trade_audit.confidence",
        t,
        "confidence_score in [0, 1]",
        where="confidence_score < 0 OR confidence_score > 1 OR isnan(confidence_score)",
    )
    yield _Check(
        "trade_audit.execution_shape",
        t,
        "executed exactly when it names an order; HOLD never executed; a block reason only when not executed",
        where="is_executed <> (execution_order_id IS NOT NULL) "
        "OR (decision = 'HOLD' AND is_executed) OR (block_reason IS NOT NULL AND is_executed)",
    )
    yield _Check(
        "trade_audit.executed_orders",
        t,
        "an executed decision names an order of its asset and side, placed at or after the decision",
        "SELECT count(*) FROM trade_audit a LEFT JOIN orders o ON o.id = a.execution_order_id "
        "WHERE a.execution_order_id IS NOT NULL AND (o.id IS NULL OR o.coin_type <> lower(a.asset) "
        'OR upper(o.side) <> a.decision OR o.created_at < a."timestamp")',
        needs=("orders",),
    )
    yield _Check(
        "trade_audit.price_near_market",
        t,
        "price_at_decision within 2% of the asset's last at the latest tick at or before the decision",
        'SELECT count(*) FROM (SELECT lower(asset) AS coin_type, "timestamp", price_at_decision '
        "FROM trade_audit WHERE price_at_decision IS NOT NULL) a ASOF LEFT JOIN "
        '(SELECT coin_type, "timestamp", last FROM price_data_5min WHERE last IS NOT NULL) p '
        'ON a.coin_type = p.coin_type AND a."timestamp" >= p."timestamp" '
        f"WHERE p.last IS NULL OR abs(a.price_at_decision - p.last) > {NEAR_MARKET} * p.last",
        needs=("price_data_5min",),
    )


CHECKS: dict[str, Callable[[], Iterable[_Check]]] = {
    "system_setting": _system_setting_checks,
    "risk_rule": _risk_rule_checks,
    "audit_log": _audit_log_checks,
    "backtest_runs": _backtest_checks,
    "strategy_promotions": _promotion_checks,
    "trade_audit": _trade_audit_checks,
}
