-- The OMC app database at alembic head s2v6w3x9y4z8 with every table: the 35 tables and 7 materialized
-- views of the app's current head (omc-schema.md, "The rest of the app at its current head"), as a
-- fixture for omc-data's loader. The eleven tables of the seed script come first (as in omc_current.sql),
-- then the other 24 with their keys, CHECK constraint, partial expression unique index, varchar primary
-- key and the foreign key onto news_item's unique link. The app's configuration rows (collector,
-- alert_rule), which its initial_data.py makes at start-up, are inserted at the end: a load must never
-- destroy them. The views' SQL is written for this fixture from what the app's views read and keep
-- (not the app's own text); mv_coin_sentiment_24h and mv_signal_summary keep the last 24 hours and
-- 7 days. Applies on PostgreSQL 15-17 in an empty database (one psycopg execute).

CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('s2v6w3x9y4z8');

-- the seed script's eleven tables --------------------------------------------------------------------

CREATE TABLE "user" (
    email varchar(255) NOT NULL,
    is_active boolean NOT NULL,
    is_superuser boolean NOT NULL,
    full_name varchar(255),
    id uuid NOT NULL,
    hashed_password varchar NOT NULL,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    timezone varchar(50),
    preferred_currency varchar(10),
    risk_tolerance varchar(20),
    trading_experience varchar(20),
    CONSTRAINT user_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_user_email ON "user" (email);

-- LLM credentials (agent_sessions.llm_credential_id points here); cascade on user delete
CREATE TABLE user_llm_credentials (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    provider varchar(20) NOT NULL,
    model_name varchar(100),
    encrypted_api_key bytea NOT NULL,
    encryption_key_id varchar(50) DEFAULT 'default',
    is_default boolean DEFAULT false NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    last_validated_at timestamptz,
    created_at timestamptz DEFAULT now() NOT NULL,
    updated_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT user_llm_credentials_pkey PRIMARY KEY (id),
    CONSTRAINT user_llm_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_user_llm_credentials_user_id ON user_llm_credentials (user_id);
CREATE UNIQUE INDEX ix_uq_active_credential_per_model
    ON user_llm_credentials (user_id, provider, COALESCE(model_name, '')) WHERE is_active = true;


-- price_data_5min was built as price_data_5min_new and renamed: its sequence (bigint) and primary key
-- kept the old names.
CREATE SEQUENCE price_data_5min_new_id_seq AS bigint START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE price_data_5min (
    id integer DEFAULT nextval('price_data_5min_new_id_seq'::regclass) NOT NULL,
    coin_type varchar(20) NOT NULL,
    bid numeric(20,8),
    ask numeric(20,8),
    "last" numeric(20,8),
    "timestamp" timestamptz NOT NULL,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT price_data_5min_new_pkey PRIMARY KEY (id)
);
ALTER SEQUENCE price_data_5min_new_id_seq OWNED BY price_data_5min.id;
CREATE UNIQUE INDEX uq_price_data_5min_coin_timestamp ON price_data_5min (coin_type, "timestamp");
CREATE INDEX ix_price_data_5min_coin_type ON price_data_5min (coin_type);
CREATE INDEX ix_price_data_5min_timestamp ON price_data_5min ("timestamp");
CREATE INDEX ix_price_data_5min_coin_timestamp ON price_data_5min (coin_type, "timestamp");
ALTER TABLE price_data_5min CLUSTER ON price_data_5min_new_pkey;
COMMENT ON TABLE price_data_5min IS 'Coinspot prices, one row per coin per 5-minute tick';
COMMENT ON INDEX uq_price_data_5min_coin_timestamp IS 'one tick per coin per timestamp';
COMMENT ON COLUMN price_data_5min.coin_type IS 'Coinspot key, lower case';

CREATE TABLE protocol_fundamentals (
    id serial NOT NULL,
    protocol varchar(50) NOT NULL,
    tvl_usd numeric(20,2),
    fees_24h numeric(20,2),
    revenue_24h numeric(20,2),
    collected_at timestamptz NOT NULL,
    CONSTRAINT protocol_fundamentals_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX uq_protocol_fundamentals_protocol_day
    ON protocol_fundamentals (protocol, ((collected_at AT TIME ZONE 'UTC')::date));

CREATE TABLE news_sentiment (
    id serial NOT NULL,
    title text NOT NULL,
    source varchar(100),
    url text,
    published_at timestamptz,
    sentiment varchar(20),
    sentiment_score numeric(5,4),
    currencies varchar[],
    collected_at timestamptz NOT NULL,
    total_votes integer,
    CONSTRAINT news_sentiment_pkey PRIMARY KEY (id),
    CONSTRAINT news_sentiment_url_key UNIQUE (url)
);

CREATE TABLE agent_sessions (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    user_goal varchar NOT NULL,
    status varchar(20) NOT NULL,
    error_message varchar,
    result_summary varchar,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    completed_at timestamptz,
    llm_provider varchar(20),
    llm_model varchar(100),
    llm_credential_id uuid,
    CONSTRAINT agent_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT agent_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id),
    CONSTRAINT agent_sessions_llm_credential_id_fkey FOREIGN KEY (llm_credential_id)
        REFERENCES user_llm_credentials (id)
);

CREATE TABLE agent_session_messages (
    id uuid NOT NULL,
    session_id uuid NOT NULL,
    role varchar(20) NOT NULL,
    content varchar NOT NULL,
    agent_name varchar(100),
    metadata_json varchar,
    created_at timestamptz NOT NULL,
    sequence_id integer,
    event_type varchar(50),
    stage varchar(50),
    CONSTRAINT agent_session_messages_pkey PRIMARY KEY (id),
    CONSTRAINT agent_session_messages_session_id_fkey FOREIGN KEY (session_id) REFERENCES agent_sessions (id)
);

CREATE TABLE agent_artifacts (
    id uuid NOT NULL,
    session_id uuid NOT NULL,
    artifact_type varchar(50) NOT NULL,
    name varchar(255) NOT NULL,
    description varchar,
    file_path varchar(500),
    mime_type varchar(100),
    size_bytes integer,
    metadata_json varchar,
    created_at timestamptz NOT NULL,
    CONSTRAINT agent_artifacts_pkey PRIMARY KEY (id),
    CONSTRAINT agent_artifacts_session_id_fkey FOREIGN KEY (session_id) REFERENCES agent_sessions (id)
);

CREATE TABLE algorithms (
    id uuid NOT NULL,
    name varchar(255) NOT NULL,
    description varchar(1000),
    algorithm_type varchar(50) NOT NULL,
    version varchar(50) NOT NULL,
    artifact_id uuid,
    status varchar(20) NOT NULL,
    configuration_json varchar,
    default_execution_frequency integer NOT NULL,
    default_position_limit numeric(20,2),
    performance_metrics_json varchar,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_executed_at timestamptz,
    CONSTRAINT algorithms_pkey PRIMARY KEY (id),
    CONSTRAINT algorithms_artifact_id_fkey FOREIGN KEY (artifact_id) REFERENCES agent_artifacts (id),
    CONSTRAINT algorithms_created_by_fkey FOREIGN KEY (created_by) REFERENCES "user" (id)
);

CREATE TABLE deployed_algorithms (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    algorithm_id uuid NOT NULL,
    deployment_name varchar(255),
    is_active boolean NOT NULL,
    execution_frequency integer NOT NULL,
    position_limit numeric(20,2),
    daily_loss_limit numeric(20,2),
    parameters_json varchar,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    activated_at timestamptz,
    deactivated_at timestamptz,
    last_executed_at timestamptz,
    total_profit_loss numeric(20,2) NOT NULL,
    total_trades integer NOT NULL,
    CONSTRAINT deployed_algorithms_pkey PRIMARY KEY (id),
    CONSTRAINT deployed_algorithms_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id),
    CONSTRAINT deployed_algorithms_algorithm_id_fkey FOREIGN KEY (algorithm_id) REFERENCES algorithms (id)
);

CREATE TABLE positions (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    coin_type varchar(20) NOT NULL,
    quantity numeric(20,10) NOT NULL,
    average_price numeric(20,8) NOT NULL,
    total_cost numeric(20,2) NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT positions_pkey PRIMARY KEY (id),
    CONSTRAINT positions_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE UNIQUE INDEX ix_positions_user_coin ON positions (user_id, coin_type);

CREATE TABLE orders (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    algorithm_id uuid,
    coin_type varchar(20) NOT NULL,
    side varchar(10) NOT NULL,
    order_type varchar(20) NOT NULL,
    quantity numeric(20,10) NOT NULL,
    price numeric(20,8),
    filled_quantity numeric(20,10) NOT NULL,
    status varchar(20) NOT NULL,
    error_message varchar(500),
    coinspot_order_id varchar(100),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    submitted_at timestamptz,
    filled_at timestamptz,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_orders_algorithm_id ON orders (algorithm_id);  -- index only: no foreign key
COMMENT ON CONSTRAINT orders_user_id_fkey ON orders IS 'no cascade: deleting a user with orders fails';

-- risk management, audit and the Lab-to-Floor workflow ----------------------------------------------

CREATE TABLE risk_rule (
    name varchar(100) NOT NULL,
    description varchar(500),
    rule_type varchar NOT NULL,
    value json,
    is_active boolean NOT NULL,
    id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT risk_rule_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_risk_rule_name ON risk_rule (name);
CREATE INDEX ix_risk_rule_rule_type ON risk_rule (rule_type);

CREATE TABLE system_setting (
    key varchar(100) NOT NULL,
    value json,
    description varchar,
    updated_at timestamptz NOT NULL,
    CONSTRAINT system_setting_pkey PRIMARY KEY (key)
);

CREATE TABLE audit_log (
    event_type varchar(100) NOT NULL,
    severity varchar(20) NOT NULL,
    details json,
    user_id uuid,
    id uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_audit_log_event_type ON audit_log (event_type);
CREATE INDEX ix_audit_log_timestamp ON audit_log ("timestamp");

CREATE TABLE backtest_runs (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    algorithm_id uuid NOT NULL,
    coin_type varchar(20) NOT NULL,
    start_date timestamptz NOT NULL,
    end_date timestamptz NOT NULL,
    initial_capital numeric(20,2) NOT NULL,
    status varchar(20) NOT NULL,
    results_json varchar,
    equity_curve_json varchar,
    trade_log_json varchar,
    error_message varchar(2000),
    created_at timestamptz NOT NULL,
    completed_at timestamptz,
    CONSTRAINT backtest_runs_pkey PRIMARY KEY (id),
    CONSTRAINT backtest_runs_algorithm_id_fkey FOREIGN KEY (algorithm_id) REFERENCES algorithms (id),
    CONSTRAINT backtest_runs_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_backtest_runs_algorithm_id ON backtest_runs (algorithm_id);
CREATE INDEX ix_backtest_runs_user_id ON backtest_runs (user_id);
CREATE INDEX ix_backtest_runs_status ON backtest_runs (status);

CREATE TABLE strategy_promotions (
    algorithm_id uuid NOT NULL,
    from_environment varchar(50) NOT NULL,
    to_environment varchar(50) NOT NULL,
    status varchar(20) NOT NULL,
    promotion_notes varchar(1000),
    performance_snapshot_json varchar,
    id uuid NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    reviewed_at timestamptz,
    reviewed_by uuid,
    rejection_reason varchar(1000),
    CONSTRAINT strategy_promotions_pkey PRIMARY KEY (id),
    CONSTRAINT strategy_promotions_algorithm_id_fkey FOREIGN KEY (algorithm_id) REFERENCES algorithms (id),
    CONSTRAINT strategy_promotions_created_by_fkey FOREIGN KEY (created_by) REFERENCES "user" (id),
    CONSTRAINT strategy_promotions_reviewed_by_fkey FOREIGN KEY (reviewed_by) REFERENCES "user" (id)
);
CREATE INDEX ix_strategy_promotions_algorithm_id ON strategy_promotions (algorithm_id);
CREATE INDEX ix_strategy_promotions_created_by ON strategy_promotions (created_by);
CREATE INDEX ix_strategy_promotions_status ON strategy_promotions (status);

CREATE TABLE trade_audit (
    agent_id varchar(100) NOT NULL,
    decision varchar(20) NOT NULL,
    reason varchar(1000) NOT NULL,
    confidence_score double precision NOT NULL,
    asset varchar(20) NOT NULL,
    price_at_decision numeric(20,8),
    is_executed boolean NOT NULL,
    execution_order_id uuid,
    block_reason varchar,
    id uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    CONSTRAINT trade_audit_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_trade_audit_agent_id ON trade_audit (agent_id);
CREATE INDEX ix_trade_audit_asset ON trade_audit (asset);
CREATE INDEX ix_trade_audit_timestamp ON trade_audit ("timestamp");

CREATE TABLE coinspot_credentials (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    api_key_encrypted bytea NOT NULL,
    api_secret_encrypted bytea NOT NULL,
    is_validated boolean DEFAULT false NOT NULL,
    last_validated_at timestamptz,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT coinspot_credentials_pkey PRIMARY KEY (id),
    CONSTRAINT coinspot_credentials_user_id_key UNIQUE (user_id),
    CONSTRAINT coinspot_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX idx_coinspot_credentials_user_id ON coinspot_credentials (user_id);

-- the app's configuration (initial_data.py fills it) and what refers to it by name or id ------------

CREATE TABLE collector (
    id serial NOT NULL,
    name varchar(100) NOT NULL,
    description varchar(500),
    plugin_name varchar(100) NOT NULL,
    is_enabled boolean NOT NULL,
    schedule_cron varchar(50),
    config json,
    last_run_at timestamptz,
    status varchar(20) NOT NULL,
    CONSTRAINT collector_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_collector_name ON collector (name);

CREATE TABLE collector_runs (
    id serial NOT NULL,
    collector_name varchar(100) NOT NULL,
    status varchar(20) NOT NULL,
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    records_collected integer,
    error_message text,
    CONSTRAINT collector_runs_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_collector_runs_collector_name ON collector_runs (collector_name);
CREATE INDEX ix_collector_runs_status ON collector_runs (status);

CREATE TABLE alert_rule (
    id uuid NOT NULL,
    name varchar(100) NOT NULL,
    alert_type varchar(50) NOT NULL,
    min_severity varchar(20) NOT NULL,
    channels json,
    recipients json,
    cooldown_minutes integer NOT NULL,
    enabled boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT alert_rule_pkey PRIMARY KEY (id)
);

CREATE TABLE alert_log (
    id uuid NOT NULL,
    alert_type varchar(50) NOT NULL,
    severity varchar(20) NOT NULL,
    payload json,
    channels_dispatched json,
    success boolean NOT NULL,
    error_message varchar,
    rule_id uuid,
    created_at timestamptz NOT NULL,
    CONSTRAINT alert_log_pkey PRIMARY KEY (id),
    CONSTRAINT alert_log_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES alert_rule (id)
);

-- market data the app's collectors write ------------------------------------------------------------

CREATE TABLE social_sentiment (
    id serial NOT NULL,
    platform varchar(50) NOT NULL,
    content text,
    author varchar(100),
    score integer,
    sentiment varchar(20),
    currencies varchar[],
    posted_at timestamptz,
    collected_at timestamptz NOT NULL,
    body text,
    comment_count integer,
    top_comments jsonb,
    CONSTRAINT social_sentiment_pkey PRIMARY KEY (id),
    CONSTRAINT uq_social_sentiment_platform_content_posted UNIQUE (platform, content, posted_at)
);
CREATE INDEX ix_social_sentiment_platform ON social_sentiment (platform);
CREATE INDEX ix_social_sentiment_collected_at ON social_sentiment (collected_at);

CREATE TABLE catalyst_events (
    id serial NOT NULL,
    event_type varchar(50) NOT NULL,
    title text NOT NULL,
    description text,
    source varchar(100),
    currencies varchar[],
    impact_score integer,
    detected_at timestamptz NOT NULL,
    url varchar(500),
    collected_at timestamptz NOT NULL,
    CONSTRAINT catalyst_events_pkey PRIMARY KEY (id),
    CONSTRAINT catalyst_events_impact_score_check CHECK (impact_score >= 1 AND impact_score <= 10)
);
CREATE INDEX ix_catalyst_events_event_type ON catalyst_events (event_type);
CREATE INDEX ix_catalyst_events_detected_at ON catalyst_events (detected_at);

CREATE TABLE on_chain_metrics (
    id serial NOT NULL,
    asset varchar(10) NOT NULL,
    metric_name varchar(50) NOT NULL,
    metric_value numeric(30,8),
    source varchar(50) NOT NULL,
    collected_at timestamptz NOT NULL,
    CONSTRAINT on_chain_metrics_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_on_chain_metrics_asset ON on_chain_metrics (asset);
CREATE INDEX ix_on_chain_metrics_metric_name ON on_chain_metrics (metric_name);
CREATE INDEX ix_on_chain_metrics_collected_at ON on_chain_metrics (collected_at);

CREATE TABLE exchange_ohlcv (
    id serial NOT NULL,
    exchange varchar(50) NOT NULL,
    symbol varchar(20) NOT NULL,
    "timestamp" timestamptz NOT NULL,
    open numeric(20,10) NOT NULL,
    high numeric(20,10) NOT NULL,
    low numeric(20,10) NOT NULL,
    close numeric(20,10) NOT NULL,
    volume numeric(20,10) NOT NULL,
    collected_at timestamptz NOT NULL,
    CONSTRAINT exchange_ohlcv_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_exchange_ohlcv_exchange ON exchange_ohlcv (exchange);
CREATE INDEX ix_exchange_ohlcv_exchange_symbol ON exchange_ohlcv (exchange, symbol);
CREATE INDEX ix_exchange_ohlcv_symbol ON exchange_ohlcv (symbol);
CREATE INDEX ix_exchange_ohlcv_symbol_timestamp ON exchange_ohlcv (symbol, "timestamp");
CREATE INDEX ix_exchange_ohlcv_timestamp ON exchange_ohlcv ("timestamp");

CREATE TABLE smart_money_flow (
    id serial NOT NULL,
    token varchar(20) NOT NULL,
    net_flow_usd numeric(20,2) NOT NULL,
    buying_wallet_count integer NOT NULL,
    selling_wallet_count integer NOT NULL,
    buying_wallets varchar[],
    selling_wallets varchar[],
    collected_at timestamptz NOT NULL,
    CONSTRAINT smart_money_flow_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_smart_money_flow_token ON smart_money_flow (token);
CREATE INDEX ix_smart_money_flow_collected_at ON smart_money_flow (collected_at);

-- news, enrichment and signals -----------------------------------------------------------------------

CREATE TABLE news_item (
    id serial NOT NULL,
    title varchar(500) NOT NULL,
    link varchar(1000) NOT NULL,
    published_at timestamptz,
    summary text,
    source varchar(100) NOT NULL,
    sentiment_score double precision,
    sentiment_label varchar(20),
    collected_at timestamptz NOT NULL,
    CONSTRAINT news_item_pkey PRIMARY KEY (id)
);
-- unique as an index, not a constraint: the keyword matches and enrichments point at it anyway
CREATE UNIQUE INDEX ix_news_item_link ON news_item (link);
CREATE INDEX ix_news_item_source ON news_item (source);

CREATE TABLE news_keyword_match (
    id serial NOT NULL,
    news_item_link varchar(1000) NOT NULL,
    keyword varchar(100) NOT NULL,
    category varchar(50) NOT NULL,
    direction varchar(10) NOT NULL,
    impact varchar(10) NOT NULL,
    currencies varchar[] DEFAULT '{}' NOT NULL,
    match_context varchar(500),
    temporal_signal varchar(50),
    source_collector varchar(100) NOT NULL,
    matched_at timestamptz NOT NULL,
    CONSTRAINT news_keyword_match_pkey PRIMARY KEY (id),
    CONSTRAINT uq_keyword_match_link_kw_src UNIQUE (news_item_link, keyword, source_collector),
    CONSTRAINT news_keyword_match_news_item_link_fkey FOREIGN KEY (news_item_link) REFERENCES news_item (link)
);
CREATE INDEX ix_news_keyword_match_keyword ON news_keyword_match (keyword);
CREATE INDEX ix_news_keyword_match_news_item_link ON news_keyword_match (news_item_link);
CREATE INDEX ix_news_keyword_match_source_collector ON news_keyword_match (source_collector);

CREATE TABLE news_enrichment (
    id serial NOT NULL,
    news_item_link varchar(1000) NOT NULL,
    enricher_name varchar(100) NOT NULL,
    enrichment_type varchar(50) NOT NULL,
    data jsonb DEFAULT '{}' NOT NULL,
    currencies varchar[] DEFAULT '{}' NOT NULL,
    confidence double precision NOT NULL,
    enriched_at timestamptz NOT NULL,
    CONSTRAINT news_enrichment_pkey PRIMARY KEY (id),
    CONSTRAINT uq_enrichment UNIQUE (news_item_link, enricher_name, enrichment_type),
    CONSTRAINT news_enrichment_news_item_link_fkey FOREIGN KEY (news_item_link) REFERENCES news_item (link)
);
CREATE INDEX ix_news_enrichment_enricher_name ON news_enrichment (enricher_name);
CREATE INDEX ix_news_enrichment_news_item_link ON news_enrichment (news_item_link);
CREATE INDEX ix_enrichment_enricher_time ON news_enrichment (enricher_name, enriched_at DESC);
CREATE INDEX ix_enrichment_data ON news_enrichment USING gin (data);
CREATE INDEX ix_enrichment_currencies ON news_enrichment USING gin (currencies);

CREATE TABLE enrichment_record (
    id serial NOT NULL,
    source_table varchar(50) NOT NULL,
    source_id integer NOT NULL,
    enricher_name varchar(50) NOT NULL,
    enrichment_type varchar(50) NOT NULL,
    data jsonb,
    currencies varchar[],
    confidence double precision,
    enriched_at timestamptz NOT NULL,
    CONSTRAINT enrichment_record_pkey PRIMARY KEY (id),
    CONSTRAINT uq_enrichment_record UNIQUE (source_table, source_id, enricher_name, enrichment_type)
);

CREATE TABLE enrichment_run (
    id serial NOT NULL,
    enricher_name varchar(100) NOT NULL,
    items_processed integer NOT NULL,
    items_enriched integer NOT NULL,
    items_skipped integer NOT NULL,
    items_failed integer NOT NULL,
    started_at timestamptz NOT NULL,
    completed_at timestamptz,
    status varchar(20) NOT NULL,
    error_message text,
    "trigger" varchar(20) NOT NULL,
    CONSTRAINT enrichment_run_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_enrichment_run_enricher_name ON enrichment_run (enricher_name);

CREATE TABLE sentiment_score (
    id serial NOT NULL,
    asset varchar(20) NOT NULL,
    source varchar(100) NOT NULL,
    score double precision NOT NULL,
    magnitude double precision,
    raw_data json,
    "timestamp" timestamptz NOT NULL,
    CONSTRAINT sentiment_score_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_sentiment_score_asset ON sentiment_score (asset);
CREATE INDEX ix_sentiment_score_source ON sentiment_score (source);
CREATE INDEX ix_sentiment_score_timestamp ON sentiment_score ("timestamp");

CREATE TABLE signal (
    id serial NOT NULL,
    type varchar(20) NOT NULL,
    asset varchar(20) NOT NULL,
    strength double precision NOT NULL,
    generated_at timestamptz NOT NULL,
    source varchar(100) NOT NULL,
    context json,
    CONSTRAINT signal_pkey PRIMARY KEY (id)
);
CREATE INDEX ix_signal_asset ON signal (asset);
CREATE INDEX ix_signal_generated_at ON signal (generated_at);

-- materialized views (written for this fixture from what the app's views read) ----------------------

-- forward return of each coin one hour (12 ticks) after each tick
CREATE MATERIALIZED VIEW mv_coin_targets_5min AS
    SELECT coin_type,
           "timestamp",
           "last" AS price,
           lead("last", 12) OVER w / nullif("last", 0) - 1 AS return_1h,
           CASE WHEN lead("last", 12) OVER w > "last" THEN 1 ELSE 0 END AS target_up_1h
      FROM price_data_5min
    WINDOW w AS (PARTITION BY coin_type ORDER BY "timestamp")
  WITH DATA;
CREATE UNIQUE INDEX idx_mv_targets_coin_time ON mv_coin_targets_5min (coin_type, "timestamp");

-- one-minute candles of the ticks (a 5-minute tick makes a one-tick candle)
CREATE MATERIALIZED VIEW mv_ohlcv_1m AS
    SELECT coin_type,
           date_trunc('minute', "timestamp") AS "timestamp",
           (array_agg("last" ORDER BY "timestamp"))[1] AS open,
           max("last") AS high,
           min("last") AS low,
           (array_agg("last" ORDER BY "timestamp" DESC))[1] AS close,
           count(*) AS ticks
      FROM price_data_5min
     GROUP BY coin_type, date_trunc('minute', "timestamp")
  WITH DATA;
CREATE UNIQUE INDEX idx_mv_ohlcv_1m_coin_time ON mv_ohlcv_1m (coin_type, "timestamp");

-- hourly news sentiment per coin named in currencies (compared with prices' lower-case keys)
CREATE MATERIALIZED VIEW mv_sentiment_signals_1h AS
    SELECT lower(c.coin) AS coin_type,
           date_trunc('hour', n.collected_at) AS hour_bucket,
           avg(n.sentiment_score) AS avg_sentiment,
           count(*) AS articles
      FROM news_sentiment n, unnest(n.currencies) AS c(coin)
     GROUP BY lower(c.coin), date_trunc('hour', n.collected_at)
  WITH DATA;
CREATE UNIQUE INDEX idx_mv_sentiment_coin_hour ON mv_sentiment_signals_1h (coin_type, hour_bucket);

-- a catalyst's impact on its coins' ticks, halving every 6 hours over a day (case matters in ANY)
CREATE MATERIALIZED VIEW mv_catalyst_impact_decay AS
    SELECT p.coin_type,
           p."timestamp",
           sum(c.impact_score * power(0.5, extract(epoch FROM p."timestamp" - c.detected_at) / 21600.0))
               AS decayed_impact,
           count(*) AS catalysts
      FROM price_data_5min p
      JOIN catalyst_events c
        ON p.coin_type = ANY (c.currencies)
       AND p."timestamp" >= c.detected_at
       AND p."timestamp" < c.detected_at + interval '24 hours'
     GROUP BY p.coin_type, p."timestamp"
  WITH DATA;
CREATE UNIQUE INDEX idx_mv_catalyst_decay_coin_time ON mv_catalyst_impact_decay (coin_type, "timestamp");

-- bullish and bearish calls per coin over the last 24 hours: enrichments and LLM sentiment scores
CREATE MATERIALIZED VIEW mv_coin_sentiment_24h AS
    SELECT coin, enrichment_type,
           count(*) FILTER (WHERE direction = 'bullish') AS bullish,
           count(*) FILTER (WHERE direction = 'bearish') AS bearish,
           count(*) AS total,
           avg(confidence) AS avg_confidence
      FROM (SELECT lower(c.coin) AS coin, e.enrichment_type,
                   coalesce(e.data ->> 'direction', d.value ->> 'direction') AS direction,
                   e.confidence
              FROM news_enrichment e
              CROSS JOIN LATERAL unnest(e.currencies) AS c(coin)
              LEFT JOIN LATERAL jsonb_array_elements(
                  CASE WHEN jsonb_typeof(e.data -> 'coins') = 'array' THEN e.data -> 'coins' ELSE '[]' END
              ) AS d(value) ON lower(d.value ->> 'coin') = lower(c.coin)
             WHERE e.enriched_at >= now() - interval '24 hours'
            UNION ALL
            SELECT lower(s.asset), 'sentiment_score',
                   CASE WHEN s.score > 0.1 THEN 'bullish' WHEN s.score < -0.1 THEN 'bearish' ELSE 'neutral' END,
                   s.magnitude
              FROM sentiment_score s
             WHERE s.source IN ('reddit_llm', 'news_llm') AND s."timestamp" >= now() - interval '24 hours'
           ) calls
     GROUP BY coin, enrichment_type
  WITH DATA;
CREATE UNIQUE INDEX mv_coin_sentiment_24h_coin_enrichment_type_idx ON mv_coin_sentiment_24h (coin, enrichment_type);

-- the same calls by source and hour over the last 7 days
CREATE MATERIALIZED VIEW mv_signal_summary AS
    SELECT coin, enricher_name, enrichment_type, hour_bucket,
           count(*) FILTER (WHERE direction = 'bullish') AS bullish,
           count(*) FILTER (WHERE direction = 'bearish') AS bearish,
           avg(confidence) AS avg_confidence
      FROM (SELECT lower(c.coin) AS coin, e.enricher_name, e.enrichment_type,
                   date_trunc('hour', e.enriched_at) AS hour_bucket,
                   e.data ->> 'direction' AS direction, e.confidence
              FROM news_enrichment e
              CROSS JOIN LATERAL unnest(e.currencies) AS c(coin)
             WHERE e.enriched_at >= now() - interval '7 days'
            UNION ALL
            SELECT lower(s.asset), s.source, 'sentiment_score', date_trunc('hour', s."timestamp"),
                   CASE WHEN s.score > 0.1 THEN 'bullish' WHEN s.score < -0.1 THEN 'bearish' ELSE 'neutral' END,
                   s.magnitude
              FROM sentiment_score s
             WHERE s.source IN ('reddit_llm', 'news_llm') AND s."timestamp" >= now() - interval '7 days'
           ) calls
     GROUP BY coin, enricher_name, enrichment_type, hour_bucket
  WITH DATA;
CREATE UNIQUE INDEX mv_signal_summary_coin_enricher_name_enrichment_type_hour_bu_idx
    ON mv_signal_summary (coin, enricher_name, enrichment_type, hour_bucket);

-- one row per coin and tick: the target with the hour's sentiment and the catalysts' decayed impact
CREATE MATERIALIZED VIEW mv_training_set_v1 AS
    SELECT t.coin_type,
           t."timestamp",
           t.price,
           t.return_1h,
           t.target_up_1h,
           coalesce(s.avg_sentiment, 0) AS sentiment_1h,
           coalesce(s.articles, 0) AS articles_1h,
           coalesce(c.decayed_impact, 0) AS catalyst_impact
      FROM mv_coin_targets_5min t
      LEFT JOIN mv_sentiment_signals_1h s
        ON s.coin_type = t.coin_type AND s.hour_bucket = date_trunc('hour', t."timestamp")
      LEFT JOIN mv_catalyst_impact_decay c
        ON c.coin_type = t.coin_type AND c."timestamp" = t."timestamp"
  WITH DATA;
CREATE UNIQUE INDEX idx_mv_training_set_coin_time ON mv_training_set_v1 (coin_type, "timestamp");

-- the app's configuration rows (initial_data.py), which a load never touches -------------------------

INSERT INTO collector (name, description, plugin_name, is_enabled, schedule_cron, config, status) VALUES
    ('CoinspotExchange', 'Coinspot spot prices every 5 minutes', 'coinspot_exchange', true, '*/5 * * * *',
     '{"coins": "all"}', 'idle'),
    ('CryptoPanic', 'CryptoPanic news posts', 'cryptopanic', true, '*/15 * * * *', '{}', 'idle'),
    ('DeFiLlama', 'DeFiLlama protocol TVL', 'defillama', true, '0 * * * *', '{}', 'idle'),
    ('RedditHuman', 'Reddit posts (disabled at s2v6w3x9y4z8)', 'human_reddit', false, '*/30 * * * *', '{}', 'idle');
INSERT INTO alert_rule (id, name, alert_type, min_severity, channels, recipients, cooldown_minutes, enabled,
                        created_at, updated_at) VALUES
    ('6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b', 'Default alerts', 'all', 'warning', '["log"]', '[]', 15, true,
     '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
