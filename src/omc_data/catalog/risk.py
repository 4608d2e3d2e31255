"""Catalog entries of risk management: risk rules, system settings (the kill switch) and the audit log.

The app's migration ``7fd841d4fbd0`` made all three; ``json`` columns are real JSON (unlike the core
tables' ``*_json`` text). ``system_setting`` is keyed by its ``key`` text; ``kill_switch`` must exist,
or the app's kill-switch endpoint fails.
"""

from __future__ import annotations

from omc_data.catalog.model import (
    BOOLEAN,
    CURRENT_HEAD,
    JSON,
    TIMESTAMPTZ,
    UUID,
    Index,
    Table,
    _c,
    _fk,
    _keys,
    varchar,
)

KILL_SWITCH = "kill_switch"
SEVERITIES = ("info", "warning", "error", "critical")  # the app lower-cases them (safety.py)
RULE_TYPES = (
    "max_position_size",
    "max_daily_loss",
    "max_order_value",
    "max_open_positions",
    "max_drawdown",
    "trading_hours",
)

RISK_RULE = Table(
    name="risk_rule",
    since=CURRENT_HEAD,
    doc="Limits the app's safety manager applies to every trade.",
    columns=(
        _c("name", varchar(100), False),
        _c("description", varchar(500)),
        _c("rule_type", varchar(), False, doc="max_position_size, max_daily_loss, ...", values=RULE_TYPES),
        _c("value", JSON, doc="the rule's limits, e.g. {'max_value': 5000} or {'max_percentage': 20}"),
        _c("is_active", BOOLEAN, False),
        _c("id", UUID, False),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="risk_rule_pkey",
    diff_key=_keys("id"),
    indexes=(
        Index("ix_risk_rule_name", ("name",)),
        Index("ix_risk_rule_rule_type", ("rule_type",)),
    ),
)

SYSTEM_SETTING = Table(
    name="system_setting",
    since=CURRENT_HEAD,
    doc="Global settings by key; the kill switch is key kill_switch with value {'active': bool}.",
    columns=(
        _c("key", varchar(100), False),
        _c("value", JSON),
        _c("description", varchar()),
        _c("updated_at", TIMESTAMPTZ, False),
    ),
    primary_key=("key",),
    primary_key_name="system_setting_pkey",
    diff_key=_keys("key"),
)

AUDIT_LOG = Table(
    name="audit_log",
    since=CURRENT_HEAD,
    doc="Security and trading events, most of them a user's (kill switch toggles, approved trades...).",
    columns=(
        _c("event_type", varchar(100), False),
        _c("severity", varchar(20), False, doc="info / warning / error / critical", values=SEVERITIES),
        _c("details", JSON),
        _c("user_id", UUID),
        _c("id", UUID, False),
        _c("timestamp", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="audit_log_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("audit_log", "user_id", "user"),),
    indexes=(
        Index("ix_audit_log_event_type", ("event_type",)),
        Index("ix_audit_log_timestamp", ("timestamp",)),
    ),
)
