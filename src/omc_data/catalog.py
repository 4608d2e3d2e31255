"""The one definition of the OMC dataset tables.

Plain Python, no third-party imports: the Arrow schemas of snapshots, the DDL and schema checks of the
loaders, the diff keys and the foreign-key load order are all derived from the entries below. The facts
come from the OMC backend's current alembic head (``s2v6w3x9y4z8``); columns that the older "seed era"
schema (``28ac3452fc30``) lacks carry ``since=CURRENT_HEAD``.

Adding a table (say backtest results) is one ``Table`` entry here plus one generator in the builder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

CURRENT_HEAD = "s2v6w3x9y4z8"
SEED_ERA_HEAD = "28ac3452fc30"


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL column type, as precise as the loader needs it."""

    name: str  # uuid | integer | bigint | boolean | text | varchar | numeric | timestamptz | varchar[]
    length: int | None = None  # varchar(n)
    precision: int | None = None  # numeric(p, s)
    scale: int | None = None

    @property
    def sql(self) -> str:
        if self.name == "varchar" and self.length is not None:
            return f"varchar({self.length})"
        if self.name == "numeric" and self.precision is not None:
            return f"numeric({self.precision},{self.scale or 0})"
        return self.name

    def __str__(self) -> str:
        return self.sql


UUID = PgType("uuid")
INTEGER = PgType("integer")
BIGINT = PgType("bigint")
BOOLEAN = PgType("boolean")
TEXT = PgType("text")
TIMESTAMPTZ = PgType("timestamptz")
VARCHAR_ARRAY = PgType("varchar[]")


def varchar(length: int | None = None) -> PgType:
    return PgType("varchar", length=length)


def numeric(precision: int, scale: int) -> PgType:
    return PgType("numeric", precision=precision, scale=scale)


def parse_type(text: str) -> PgType:
    """Inverse of ``PgType.sql`` (used to read the schema recorded in a manifest)."""
    text = text.strip()
    if text.startswith("varchar(") and text.endswith(")"):
        return varchar(int(text[8:-1]))
    if text.startswith("numeric(") and text.endswith(")"):
        precision, scale = text[8:-1].split(",")
        return numeric(int(precision), int(scale))
    if text in {"uuid", "integer", "bigint", "boolean", "text", "varchar", "timestamptz", "varchar[]"}:
        return PgType(text)
    raise ValueError(f"unknown column type {text!r}")


@dataclass(frozen=True)
class Serial:
    """An integer column filled from a sequence (``serial``-style)."""

    sequence: str  # the real name: not always <table>_<column>_seq
    bigint_sequence: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    type: PgType
    nullable: bool = True
    default: str | None = None  # SQL expression of the server default, if any
    serial: Serial | None = None
    since: str | None = None  # alembic revision that added the column, when newer than the seed era
    doc: str = ""
    # The values the app uses in a free-text status-like column (checked by validate, not by PostgreSQL).
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyPart:
    """One part of a key: a column, or the UTC calendar date of a timestamptz column."""

    column: str
    utc_date: bool = False

    def __str__(self) -> str:
        return f"utc_date({self.column})" if self.utc_date else self.column


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class UniqueKey:
    """A uniqueness rule; in the app these are unique indexes, some over expressions."""

    name: str
    parts: tuple[KeyPart, ...]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    primary_key_name: str
    diff_key: tuple[KeyPart, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_keys: tuple[UniqueKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    doc: str = ""
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column")
        referenced = [*self.primary_key, *(p.column for p in self.diff_key)]
        for fk in self.foreign_keys:
            referenced.extend(fk.columns)
        for uk in self.unique_keys:
            referenced.extend(p.column for p in uk.parts)
        for ix in self.indexes:
            referenced.extend(ix.columns)
        unknown = sorted(set(referenced) - set(names))
        if unknown:
            raise ValueError(f"table {self.name}: unknown columns {unknown}")

    def column(self, name: str) -> Column:
        return self._by_name[name]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def serial_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.serial is not None)

    @property
    def has_surrogate_key(self) -> bool:
        """True when the primary key is a sequence number, so rows are matched by the diff key."""
        return all(self.column(c).serial is not None for c in self.primary_key)

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(sorted({fk.ref_table for fk in self.foreign_keys if fk.ref_table != self.name}))


_c = Column

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


def _keys(*columns: str) -> tuple[KeyPart, ...]:
    return tuple(KeyPart(c) for c in columns)


def _fk(table: str, column: str, ref: str, name: str | None = None) -> ForeignKey:
    return ForeignKey((column,), ref, ("id",), name or f"{table}_{column}_fkey")


_NOW = "CURRENT_TIMESTAMP"

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

AGENT_SESSIONS = Table(
    name="agent_sessions",
    doc="AI 'Lab' agent runs.",
    columns=(
        _c("id", UUID, False),
        _c("user_id", UUID, False),
        _c("user_goal", varchar(), False),
        _c(
            "status",
            varchar(20),
            False,
            values=("pending", "running", "completed", "failed", "cancelled", "awaiting_approval"),
        ),
        _c("error_message", varchar()),
        _c("result_summary", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
        _c("updated_at", TIMESTAMPTZ, False),
        _c("completed_at", TIMESTAMPTZ),
        _c(
            "llm_provider",
            varchar(20),
            since=CURRENT_HEAD,
            values=("openai", "google", "anthropic", "system_default"),
        ),
        _c("llm_model", varchar(100), since=CURRENT_HEAD),
        _c(
            "llm_credential_id",
            UUID,
            since=CURRENT_HEAD,
            doc="FK to the app table user_llm_credentials; always NULL in datasets",
        ),
    ),
    primary_key=("id",),
    primary_key_name="agent_sessions_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_sessions", "user_id", "user"),),
)

AGENT_SESSION_MESSAGES = Table(
    name="agent_session_messages",
    doc="The conversation of an agent session.",
    columns=(
        _c("id", UUID, False),
        _c("session_id", UUID, False),
        _c(
            "role",
            varchar(20),
            False,
            doc="user / assistant / system / function",
            values=("user", "assistant", "system", "function"),
        ),
        _c("content", varchar(), False),
        _c("agent_name", varchar(100)),
        _c("metadata_json", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
        _c("sequence_id", INTEGER, since=CURRENT_HEAD),
        _c("event_type", varchar(50), since=CURRENT_HEAD),
        _c("stage", varchar(50), since=CURRENT_HEAD),
    ),
    primary_key=("id",),
    primary_key_name="agent_session_messages_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_session_messages", "session_id", "agent_sessions"),),
)

AGENT_ARTIFACTS = Table(
    name="agent_artifacts",
    doc="Files an agent session produced (models, plots, reports, code, data).",
    columns=(
        _c("id", UUID, False),
        _c("session_id", UUID, False),
        _c(
            "artifact_type",
            varchar(50),
            False,
            doc="model / plot / report / code / data",
            values=("model", "plot", "report", "code", "data"),
        ),
        _c("name", varchar(255), False),
        _c("description", varchar()),
        _c("file_path", varchar(500)),
        _c("mime_type", varchar(100)),
        _c("size_bytes", INTEGER),
        _c("metadata_json", varchar()),
        _c("created_at", TIMESTAMPTZ, False),
    ),
    primary_key=("id",),
    primary_key_name="agent_artifacts_pkey",
    diff_key=_keys("id"),
    foreign_keys=(_fk("agent_artifacts", "session_id", "agent_sessions"),),
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

TABLES: tuple[Table, ...] = (
    USER,
    AGENT_SESSIONS,
    AGENT_SESSION_MESSAGES,
    AGENT_ARTIFACTS,
    ALGORITHMS,
    DEPLOYED_ALGORITHMS,
    POSITIONS,
    ORDERS,
    PRICE_DATA_5MIN,
    PROTOCOL_FUNDAMENTALS,
    NEWS_SENTIMENT,
)

_BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The catalog entry for ``name``; KeyError if it is not a dataset table."""
    return _BY_NAME[name]


def table_names() -> tuple[str, ...]:
    return tuple(_BY_NAME)


def current(tables: Iterable[Table] | None = None) -> Iterable[Table]:
    """``tables``, or the catalog's tables as they are now (read at call time, so tests can extend it)."""
    return TABLES if tables is None else tables


def load_order(names: Iterable[str] | None = None, tables: Iterable[Table] | None = None) -> list[str]:
    """Parents before children: the first table in catalog order whose parents are placed, repeatedly.

    With ``names``, only those tables, still in an order that respects their foreign keys; names that
    are not dataset tables are left out (callers that must know check ``table_names()`` first).
    """
    pool = {t.name: t for t in current(tables)}
    wanted = [n for n in pool if names is None or n in set(names)]
    done: list[str] = []
    pending = list(wanted)
    while pending:
        ready = next((n for n in pending if all(p in done or p not in wanted for p in pool[n].parents)), None)
        if ready is None:
            raise ValueError(f"foreign-key cycle among {pending}")
        done.append(ready)
        pending.remove(ready)
    return done


def children_of(name: str, tables: Iterable[Table] | None = None) -> list[str]:
    """Dataset tables that reference ``name``, directly or through other dataset tables."""
    pool = list(current(tables))
    found: list[str] = []
    frontier = [name]
    while frontier:
        parent = frontier.pop()
        for t in pool:
            if parent in t.parents and t.name not in found and t.name != name:
                found.append(t.name)
                frontier.append(t.name)
    return [n for n in load_order(tables=pool) if n in found]


def _table_doc(t: Table) -> dict[str, object]:
    return {
        "name": t.name,
        "columns": [
            {
                "name": c.name,
                "type": c.type.sql,
                "nullable": c.nullable,
                "default": c.default,
                "sequence": c.serial.sequence if c.serial else None,
            }
            for c in t.columns
        ],
        "primary_key": list(t.primary_key),
        "diff_key": [str(p) for p in t.diff_key],
        "foreign_keys": [
            {"columns": list(fk.columns), "ref_table": fk.ref_table, "ref_columns": list(fk.ref_columns)}
            for fk in t.foreign_keys
        ],
        "unique_keys": [[str(p) for p in uk.parts] for uk in t.unique_keys],
    }


def canonical_json(tables: Iterable[Table] | None = None) -> str:
    """The catalog's structure as canonical JSON (sorted keys, no whitespace): what a fingerprint hashes.

    Documentation strings and index names are left out: they do not change what a snapshot holds.
    """
    doc = sorted((_table_doc(t) for t in current(tables)), key=lambda d: str(d["name"]))
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def fingerprint(tables: Iterable[Table] | None = None) -> str:
    """SHA-256 of the catalog's canonical JSON: the schema a snapshot targets."""
    return hashlib.sha256(canonical_json(tables).encode()).hexdigest()
