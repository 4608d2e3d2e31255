-- The OMC app database at alembic head s2v6w3x9y4z8 (the "current" schema), as alembic made it.
--
-- A test fixture for omc-data's loader: the eleven dataset tables with their documented columns
-- (column order included; the columns added after the seed era come last), the app's quirks
-- (a renamed price table whose bigint sequence and PK kept the "_new" names, unique indexes that are
-- not constraints, an expression unique index), some app tables with foreign keys into the dataset
-- tables (one cascading, one chain two levels deep), materialized views (one built on another), and
-- a comment, a constraint comment and a CLUSTER ON mark that a loader which drops and recreates
-- indexes must not lose. Applies on PostgreSQL 15-17 in an empty database (plain SQL: psql -f, or
-- one psycopg execute).

CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('s2v6w3x9y4z8');

-- dataset tables ------------------------------------------------------------------------------------

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

-- the app table that agent_sessions.llm_credential_id points at (credentials cascade on user delete)
CREATE TABLE user_llm_credentials (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    provider varchar(20) NOT NULL,
    model_name varchar(100),
    encrypted_api_key bytea NOT NULL,
    is_default boolean NOT NULL,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT user_llm_credentials_pkey PRIMARY KEY (id),
    CONSTRAINT user_llm_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_user_llm_credentials_user_id ON user_llm_credentials (user_id);

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

-- app tables that reference dataset rows ------------------------------------------------------------
-- Stand-ins, named ext_* apart from the app's own audit_log, backtest_runs and strategy_promotions,
-- which are dataset tables now (omc_head.sql has them as the app makes them).

CREATE TABLE ext_audit_log (
    id serial NOT NULL,
    user_id uuid,
    action varchar(100) NOT NULL,
    details jsonb,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id)
);
CREATE INDEX ix_audit_log_user_id ON ext_audit_log (user_id);

CREATE TABLE ext_backtest_runs (
    id uuid NOT NULL,
    algorithm_id uuid NOT NULL,
    status varchar(20) NOT NULL,
    parameters jsonb NOT NULL,
    metrics jsonb,
    started_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    finished_at timestamptz,
    CONSTRAINT backtest_runs_pkey PRIMARY KEY (id),
    CONSTRAINT backtest_runs_algorithm_id_fkey FOREIGN KEY (algorithm_id) REFERENCES algorithms (id)
);
CREATE INDEX ix_backtest_runs_algorithm_id ON ext_backtest_runs (algorithm_id);

CREATE TABLE ext_strategy_promotions (
    id serial NOT NULL,
    backtest_run_id uuid NOT NULL,
    stage varchar(20) NOT NULL,
    note varchar,
    promoted_at timestamptz DEFAULT CURRENT_TIMESTAMP NOT NULL,
    CONSTRAINT strategy_promotions_pkey PRIMARY KEY (id),
    CONSTRAINT strategy_promotions_backtest_run_id_fkey FOREIGN KEY (backtest_run_id)
        REFERENCES ext_backtest_runs (id) ON DELETE CASCADE
);

-- materialized views --------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW mv_price_hourly AS
    SELECT coin_type,
           date_trunc('hour', "timestamp" AT TIME ZONE 'UTC') AS hour_utc,
           min("last") AS low,
           max("last") AS high,
           avg("last")::numeric(20,8) AS avg_last,
           count(*) AS ticks
      FROM price_data_5min
     GROUP BY coin_type, date_trunc('hour', "timestamp" AT TIME ZONE 'UTC')
  WITH DATA;
CREATE UNIQUE INDEX ux_mv_price_hourly_coin_hour ON mv_price_hourly (coin_type, hour_utc);

-- built on mv_price_hourly: refreshing it before the hourly view would keep stale rows
CREATE MATERIALIZED VIEW mv_price_daily AS
    SELECT coin_type,
           hour_utc::date AS day_utc,
           min(low) AS low,
           max(high) AS high,
           sum(ticks) AS ticks
      FROM mv_price_hourly
     GROUP BY coin_type, hour_utc::date
  WITH DATA;
CREATE UNIQUE INDEX ux_mv_price_daily_coin_day ON mv_price_daily (coin_type, day_utc);

CREATE MATERIALIZED VIEW mv_news_daily AS
    SELECT (collected_at AT TIME ZONE 'UTC')::date AS day_utc,
           sentiment,
           count(*) AS articles,
           avg(sentiment_score)::numeric(5,4) AS avg_score
      FROM news_sentiment
     GROUP BY 1, 2
  WITH DATA;

CREATE MATERIALIZED VIEW mv_order_volume AS
    SELECT coin_type,
           side,
           status,
           count(*) AS orders,
           sum(quantity) AS quantity,
           sum(quantity * price) AS notional
      FROM orders
     GROUP BY coin_type, side, status
  WITH DATA;
CREATE INDEX ix_mv_order_volume_coin ON mv_order_volume (coin_type);
