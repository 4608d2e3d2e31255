"""Catalog entries of the app's accounts: ``user``."""

from __future__ import annotations

from omc_data.catalog.model import (
    _NOW,
    BOOLEAN,
    TIMESTAMPTZ,
    UUID,
    Table,
    UniqueKey,
    _c,
    _keys,
    varchar,
)

CURRENCIES = (
    "AUD",
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "CNY",
    "CAD",
    "NZD",
    "SGD",
    "BTC",
    "ETH",
    "USDT",
    "USDC",
    "BNB",
)


USER = Table(
    name="user",
    doc="App accounts: a superuser and synthetic users, all with documented dev passwords.",
    columns=(
        _c("email", varchar(255), False),
        _c("is_active", BOOLEAN, False),
        _c("is_superuser", BOOLEAN, False),
        _c("full_name", varchar(255)),
        _c("id", UUID, False),
        _c("hashed_password", varchar(), False, doc="bcrypt hash"),
        _c("created_at", TIMESTAMPTZ, False, default=_NOW),
        _c("updated_at", TIMESTAMPTZ, False, default=_NOW),
        _c("timezone", varchar(50), doc="IANA name"),
        _c("preferred_currency", varchar(10), values=CURRENCIES),
        _c("risk_tolerance", varchar(20), doc="low / medium / high", values=("low", "medium", "high")),
        _c(
            "trading_experience",
            varchar(20),
            doc="beginner / intermediate / advanced",
            values=("beginner", "intermediate", "advanced"),
        ),
    ),
    primary_key=("id",),
    primary_key_name="user_pkey",
    diff_key=_keys("id"),
    unique_keys=(UniqueKey("ix_user_email", _keys("email")),),
)
