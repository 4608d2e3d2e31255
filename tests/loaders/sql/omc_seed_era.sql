-- The OMC app database at alembic head 28ac3452fc30 (the "seed era", November 2025), as alembic made it.
--
-- omc_current.sql minus what came later: no columns marked "current schema only" (news_sentiment.total_votes,
-- agent_sessions.llm_provider/llm_model/llm_credential_id, agent_session_messages.sequence_id/event_type/
-- stage), no user_llm_credentials table, no one-row-per-protocol-per-UTC-day index, no materialized views.
-- The three agent tables' foreign keys to their parents still cascade on delete, and the agent tables
-- still have the indexes the current schema dropped. Same quirks otherwise (price_data_5min's "_new"
-- sequence and primary key, unique indexes that are not constraints, comments, CLUSTER ON).

CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO alembic_version (version_num) VALUES ('28ac3452fc30');

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
    CONSTRAINT agent_sessions_pkey PRIMARY KEY (id),
    CONSTRAINT agent_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_agent_sessions_user_id ON agent_sessions (user_id);

CREATE TABLE agent_session_messages (
    id uuid NOT NULL,
    session_id uuid NOT NULL,
    role varchar(20) NOT NULL,
    content varchar NOT NULL,
    agent_name varchar(100),
    metadata_json varchar,
    created_at timestamptz NOT NULL,
    CONSTRAINT agent_session_messages_pkey PRIMARY KEY (id),
    CONSTRAINT agent_session_messages_session_id_fkey FOREIGN KEY (session_id) REFERENCES agent_sessions (id)
        ON DELETE CASCADE
);
CREATE INDEX ix_agent_session_messages_session_id ON agent_session_messages (session_id);

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
        ON DELETE CASCADE
);
CREATE INDEX ix_agent_artifacts_session_id ON agent_artifacts (session_id);

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
