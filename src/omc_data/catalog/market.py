"""Catalog entries of the collected market data: Coinspot prices, DeFiLlama TVL, CryptoPanic news."""

from __future__ import annotations

from omc_data.catalog.model import (
    _NOW,
    CURRENT_HEAD,
    INTEGER,
    TEXT,
    TIMESTAMPTZ,
    VARCHAR_ARRAY,
    Index,
    KeyPart,
    Serial,
    Table,
    UniqueKey,
    _c,
    _keys,
    numeric,
    varchar,
)

PRICE_DATA_5MIN = Table(
    name="price_data_5min",
    doc="Coinspot prices, one row per coin per 5-minute tick.",
    columns=(
        _c("id", INTEGER, False, serial=Serial("price_data_5min_new_id_seq", bigint_sequence=True)),
        _c("coin_type", varchar(20), False, doc="Coinspot key, lower case"),
        _c("bid", numeric(20, 8)),
        _c("ask", numeric(20, 8)),
        _c("last", numeric(20, 8)),
        _c("timestamp", TIMESTAMPTZ, False),
        _c("created_at", TIMESTAMPTZ, False, default=_NOW),
    ),
    primary_key=("id",),
    primary_key_name="price_data_5min_new_pkey",
    diff_key=_keys("coin_type", "timestamp"),
    unique_keys=(UniqueKey("uq_price_data_5min_coin_timestamp", _keys("coin_type", "timestamp")),),
    indexes=(
        Index("ix_price_data_5min_coin_type", ("coin_type",)),
        Index("ix_price_data_5min_timestamp", ("timestamp",)),
        Index("ix_price_data_5min_coin_timestamp", ("coin_type", "timestamp")),
    ),
)

PROTOCOL_FUNDAMENTALS = Table(
    name="protocol_fundamentals",
    doc="DeFiLlama protocol TVL; one row per protocol per UTC day.",
    columns=(
        _c("id", INTEGER, False, serial=Serial("protocol_fundamentals_id_seq")),
        _c("protocol", varchar(50), False),
        _c("tvl_usd", numeric(20, 2)),
        _c("fees_24h", numeric(20, 2)),
        _c("revenue_24h", numeric(20, 2)),
        _c("collected_at", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="protocol_fundamentals_pkey",
    diff_key=(KeyPart("protocol"), KeyPart("collected_at", utc_date=True)),
    unique_keys=(
        UniqueKey(
            "uq_protocol_fundamentals_protocol_day",
            (KeyPart("protocol"), KeyPart("collected_at", utc_date=True)),
        ),
    ),
)

NEWS_SENTIMENT = Table(
    name="news_sentiment",
    doc="CryptoPanic news with sentiment derived from community votes.",
    columns=(
        _c("id", INTEGER, False, serial=Serial("news_sentiment_id_seq")),
        _c("title", TEXT, False),
        _c("source", varchar(100)),
        _c("url", TEXT),
        _c("published_at", TIMESTAMPTZ),
        _c(
            "sentiment",
            varchar(20),
            doc="positive / negative / neutral",
            values=("positive", "negative", "neutral"),
        ),
        _c("sentiment_score", numeric(5, 4), doc="-1..1"),
        _c("currencies", VARCHAR_ARRAY, doc="CryptoPanic coin codes, upper case"),
        _c("collected_at", TIMESTAMPTZ, False),
        _c("total_votes", INTEGER, since=CURRENT_HEAD),
    ),
    primary_key=("id",),
    primary_key_name="news_sentiment_pkey",
    diff_key=_keys("url"),
    unique_keys=(UniqueKey("news_sentiment_url_key", _keys("url")),),
)
