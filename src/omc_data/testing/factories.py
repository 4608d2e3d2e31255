"""``create_test_*``: one row (or a few) of an OMC dataset table, inserted through the caller's database.

``db`` is a SQLAlchemy ``Session`` or ``Connection`` on an OMC database (the backend's own ``db`` test
fixture, or the one the plugin provides). Rows are flushed, never committed: the caller's transaction
decides. Only the columns the target table really has are written (older schemas lack some), read once
per connection from ``information_schema``. Every row created is recorded on ``db.info`` so that
:func:`remove_created` can delete it again, children first.

The rows obey the builder's rules: emails on RFC 2606 example domains and unique per test, bcrypt
hashes the app's passlib accepts (cost 4 here, to stay fast), bid <= last <= ask on 5-minute ticks,
an order's filled quantity and times follow its status, a position comes with the filled buy order
it follows from.

Values are drawn from a :class:`random.Random` seeded per test (see :func:`seeded`), so a failing test
reruns with the same data whatever ran before it.

Wherever a helper takes a parent (``user=``, ``algorithm=``), it takes what the caller has: a row
mapping returned by another helper, an object with attributes (the app's SQLModel ``User``), or the
plain id (a ``uuid.UUID``, or its text).
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

from omc_data import catalog, defaults
from omc_data.errors import UsageError

PASSWORD = defaults.PASSWORD  # every test user's password unless ``password=`` says otherwise
BCRYPT_ROUNDS = 4  # the lowest cost bcrypt allows: fixtures hash often and prove nothing about cost
DEFAULT_SEED = defaults.SEED
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")  # reserved by RFC 2606
TICK = dt.timedelta(minutes=5)
# A fixed instant, so price ticks and timestamps are the same on every run; pass ``end=``/``now=``.
DEFAULT_NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
COIN_PRICES = {"btc": 100_000, "eth": 5_000, "sol": 250, "xrp": 3, "ada": 1, "doge": 0.3}
ALGORITHM_TYPES = ("ml_model", "rule_based", "reinforcement_learning")
ORDER_STATUSES = ("pending", "submitted", "filled", "partial", "cancelled", "failed")
AGENT_STATUSES = ("pending", "running", "completed", "failed", "cancelled")

_STATE_KEY = "omc_data.testing"
_HASHES: dict[tuple[str, int], str] = {}


def derive_seed(seed: int, *parts: str | int) -> int:
    """A 64-bit seed from ``seed`` and ``parts`` (BLAKE2b: independent of PYTHONHASHSEED and run order)."""
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


@dataclass
class _State:
    """What the helpers keep per database handle: random stream, counters, created rows, columns."""

    rng: random.Random
    token: str  # a per-test word in every email, so emails are unique per test
    counter: int = 0
    created: list[tuple[str, str, Any]] = field(default_factory=list)  # (table, key column, value)
    columns: dict[str, frozenset[str]] = field(default_factory=dict)


def seeded(db: Any, seed: int, test_id: str = "") -> None:
    """Make ``db``'s helpers draw from ``(seed, test_id)``; the plugin calls it once per test.

    The rows created so far stay recorded (for :func:`remove_created`), and the column cache stays.
    """
    r = random.Random(derive_seed(seed, "omc-data-test", test_id))
    info = _info(db)
    state = _State(rng=r, token=f"{r.getrandbits(32):08x}")
    old = info.get(_STATE_KEY)
    if isinstance(old, _State):
        state.created, state.columns = old.created, old.columns
    info[_STATE_KEY] = state


def _info(db: Any) -> dict[str, Any]:
    info = getattr(db, "info", None)
    if not isinstance(info, dict):
        raise UsageError(
            f"omc-data test helpers need a SQLAlchemy Session or Connection, not {type(db).__name__}",
            hint="pass the backend's db fixture (a Session) or the omc_db fixture",
        )
    return info


def _state(db: Any) -> _State:
    info = _info(db)
    if _STATE_KEY not in info:
        seeded(db, DEFAULT_SEED)
    state: _State = info[_STATE_KEY]
    return state


def stream_in_use(db: Any) -> bool:
    """Whether ``db`` already holds a user whose email carries the current stream's token.

    True when the same seed and test id ran before on this database (and its rows were kept).
    """
    if isinstance(db, _session_type()):
        db.flush()
    found = db.execute(
        sa.text('SELECT 1 FROM "user" WHERE email LIKE :p LIMIT 1'), {"p": f"test.{_state(db).token}.%"}
    ).first()
    return found is not None


def table_columns(db: Any, table: str) -> frozenset[str]:
    """The columns ``table`` really has in ``db``'s current schema (cached per handle)."""
    state = _state(db)
    if table not in state.columns:
        rows = db.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = :t"
            ),
            {"t": table},
        ).all()
        if not rows:
            raise UsageError(
                f"table {table!r} does not exist in the test database",
                hint="run the backend's migrations (or load_snapshot(..., create_schema=True)) first",
            )
        state.columns[table] = frozenset(r[0] for r in rows)
    return state.columns[table]


def insert_rows(db: Any, table: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Insert ``rows`` into ``table`` (only the columns it has); return their primary keys; record them."""
    if not rows:
        return []
    t = catalog.table(table)
    (key,) = t.primary_key
    present = table_columns(db, table)
    unknown = sorted({c for row in rows for c in row} - set(t.column_names))
    if unknown:
        raise UsageError(
            f"{table} has no column {unknown[0]!r}", hint=f"columns: {', '.join(t.column_names)}"
        )
    names = [c for c in t.column_names if c in present and any(c in row for row in rows)]
    target = sa.table(table, *(sa.column(c) for c in {*names, key}))
    values = [{c: row.get(c) for c in names} for row in rows]
    if isinstance(db, _session_type()):
        db.flush()  # the host's pending ORM objects first: our rows may reference them
    result = db.execute(sa.insert(target).values(values).returning(target.c[key]))
    ids = [r[0] for r in result.all()]
    _state(db).created.extend((table, key, i) for i in ids)
    return ids


def _session_type() -> type[Session]:
    from sqlalchemy.orm import Session

    return Session


def remove_created(db: Any) -> int:
    """Delete every row the helpers inserted through ``db``, children first; return how many."""
    state = _info(db).get(_STATE_KEY)
    if state is None or not state.created:
        return 0
    by_table: dict[str, tuple[str, list[Any]]] = {}
    for table, key, value in state.created:
        by_table.setdefault(table, (key, []))[1].append(value)
    removed = 0
    for table in reversed(catalog.load_order(by_table)):
        key, ids = by_table[table]
        target = sa.table(table, sa.column(key))
        removed += db.execute(sa.delete(target).where(target.c[key].in_(ids))).rowcount or 0
    state.created.clear()
    if isinstance(db, _session_type()):
        db.flush()
    return removed


def bcrypt_hash(password: str, rounds: int = BCRYPT_ROUNDS) -> str:
    """An ordinary ``$2b$`` hash of ``password`` (cached: the same password hashes once per process)."""
    if (password, rounds) not in _HASHES:
        import bcrypt

        _HASHES[password, rounds] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return _HASHES[password, rounds]


def _uuid(r: random.Random) -> uuid.UUID:
    return uuid.UUID(int=r.getrandbits(128), version=4)


def _money(r: random.Random, lo: float, hi: float, scale: int = 2) -> decimal.Decimal:
    return decimal.Decimal(r.randint(round(lo * 10**scale), round(hi * 10**scale))).scaleb(-scale)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else DEFAULT_NOW


def floor_tick(instant: dt.datetime | None) -> dt.datetime:
    """The 5-minute tick at or before ``instant`` (the fixed default instant when None)."""
    tick = _now(instant).replace(second=0, microsecond=0)
    return tick - dt.timedelta(minutes=tick.minute % 5)


_MISSING: Any = object()
_ID_TYPES = (uuid.UUID, str, int)


def _field(parent: Any, name: str, default: Any = _MISSING) -> Any:
    """``parent[name]`` of a mapping, ``parent.name`` of any other object (the app's SQLModel rows)."""
    if isinstance(parent, Mapping):
        if name in parent:
            return parent[name]
    elif not isinstance(parent, _ID_TYPES) and hasattr(parent, name):
        return getattr(parent, name)
    if default is not _MISSING:
        return default
    raise UsageError(
        f"{type(parent).__name__} has no {name!r}",
        hint="pass a row mapping, an object with attributes (e.g. the app's User), or the id itself",
    )


def parent_id(parent: Any, what: str = "parent") -> Any:
    """The id of ``parent``: a plain id as it is, else its ``id`` key or attribute."""
    if isinstance(parent, str):
        try:
            return uuid.UUID(parent)  # the text of a uuid id
        except ValueError:
            return parent
    if isinstance(parent, _ID_TYPES) and not isinstance(parent, bool):
        return parent
    value = _field(parent, "id")
    if value is None:
        raise UsageError(
            f"the {what} ({type(parent).__name__}) has no id yet",
            hint="add it to the session and flush (db.flush()) before passing it",
        )
    return value


def _one(db: Any, table: str, row: dict[str, Any]) -> dict[str, Any]:
    (key,) = catalog.table(table).primary_key
    (row[key],) = insert_rows(db, table, [row])
    return row


# -- users ------------------------------------------------------------------------------------------


def create_test_user(
    db: Any, *, password: str = PASSWORD, now: dt.datetime | None = None, **overrides: Any
) -> dict[str, Any]:
    """A ``user`` row (an active trader); returns the row, ``id`` included; ``password`` is its password."""
    state = _state(db)
    r = state.rng
    state.counter += 1
    n = state.counter
    created = _now(now) - dt.timedelta(days=r.randint(1, 365))
    row: dict[str, Any] = {
        "id": _uuid(r),
        "email": f"test.{state.token}.{n}@{EXAMPLE_DOMAINS[n % len(EXAMPLE_DOMAINS)]}",
        "is_active": True,
        "is_superuser": False,
        "full_name": f"Test User {n}",
        "hashed_password": bcrypt_hash(password),
        "created_at": created,
        "updated_at": created,
        "timezone": r.choice(("UTC", "Australia/Sydney", "Pacific/Auckland", "Europe/London")),
        "preferred_currency": r.choice(("AUD", "AUD", "USD", "NZD")),
        "risk_tolerance": r.choice(("low", "medium", "high")),
        "trading_experience": r.choice(("beginner", "intermediate", "advanced")),
    }
    row.update(overrides)
    return _one(db, "user", row)


def create_test_superuser(db: Any, **overrides: Any) -> dict[str, Any]:
    """A ``user`` row with ``is_superuser`` true."""
    return create_test_user(db, **{"is_superuser": True, "full_name": "Test Admin", **overrides})


# -- prices -----------------------------------------------------------------------------------------


def create_test_price_data(
    db: Any,
    *,
    coin_type: str = "btc",
    ticks: int = 50,
    end: dt.datetime | None = None,
    start_price: float | decimal.Decimal | None = None,
    only_missing: bool = False,
) -> list[dict[str, Any]]:
    """``ticks`` consecutive 5-minute ``price_data_5min`` rows of one coin, the last at ``end``.

    With ``only_missing``, the ticks the table already holds for the coin are left out (the random walk
    is the same, so what is inserted does not depend on what was there); the rows inserted come back.
    """
    if ticks < 1:
        raise UsageError("ticks must be at least 1")
    r = _state(db).rng
    last_tick = floor_tick(end)
    scale = 10**8
    price = float(start_price if start_price is not None else COIN_PRICES.get(coin_type.lower(), 10))
    units = max(int(price * scale), 100)
    rows: list[dict[str, Any]] = []
    for i in range(ticks):
        units = max(int(units * (1 + r.gauss(0, 0.002))), 100)
        half = max(int(units * r.uniform(0.0005, 0.005)), 1)
        bid, ask = units - half, units + half
        last = r.randint(bid, ask)
        rows.append(
            {
                "coin_type": coin_type,
                "bid": decimal.Decimal(bid).scaleb(-8),
                "ask": decimal.Decimal(ask).scaleb(-8),
                "last": decimal.Decimal(last).scaleb(-8),
                "timestamp": last_tick - TICK * (ticks - 1 - i),
                "created_at": last_tick - TICK * (ticks - 1 - i),
            }
        )
    if only_missing:
        have = existing_ticks(db, coin_type, last_tick - TICK * (ticks - 1), last_tick)
        rows = [row for row in rows if row["timestamp"] not in have]
    for row, key in zip(rows, insert_rows(db, "price_data_5min", rows), strict=True):
        row["id"] = key
    return rows


def existing_ticks(db: Any, coin_type: str, first: dt.datetime, last: dt.datetime) -> set[dt.datetime]:
    """The ``price_data_5min`` timestamps of ``coin_type`` already in ``db`` between first and last."""
    if isinstance(db, _session_type()):
        db.flush()
    found = db.execute(
        sa.text(
            "SELECT timestamp FROM price_data_5min"
            " WHERE coin_type = :c AND timestamp BETWEEN :first AND :last"
        ),
        {"c": coin_type, "first": first, "last": last},
    ).all()
    return {row[0] for row in found}


# -- algorithms -------------------------------------------------------------------------------------


def _owner(db: Any, user: Any, user_id: Any) -> Any:
    if user_id is not None:
        return user_id
    return parent_id(user, "user") if user is not None else create_test_user(db)["id"]


def create_test_algorithm(
    db: Any,
    *,
    user: Any = None,
    now: dt.datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An ``algorithms`` row created by ``user`` (a new user when none is given)."""
    r = _state(db).rng
    created = _now(now) - dt.timedelta(days=r.randint(1, 90))
    kind = r.choice(ALGORITHM_TYPES)
    row: dict[str, Any] = {
        "id": _uuid(r),
        "name": f"Test {kind.replace('_', ' ')} {r.randint(1, 999)}",
        "description": "An algorithm made by omc-data's test helpers",
        "algorithm_type": kind,
        "version": f"1.{r.randint(0, 9)}.{r.randint(0, 9)}",
        "artifact_id": None,
        "status": "active",
        "configuration_json": _json({"coin": "btc", "window": r.choice((12, 24, 48))}),
        "default_execution_frequency": r.choice((60, 300, 900, 3600)),
        "default_position_limit": _money(r, 100, 5000),
        "performance_metrics_json": None,
        "created_by": _owner(db, user, overrides.pop("created_by", None)),
        "created_at": created,
        "updated_at": created,
        "last_executed_at": None,
    }
    row.update(overrides)
    return _one(db, "algorithms", row)


def create_test_deployed_algorithm(
    db: Any,
    *,
    algorithm: Any = None,
    user: Any = None,
    now: dt.datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``deployed_algorithms`` row: ``algorithm`` (new when missing) run by ``user`` (its creator)."""
    r = _state(db).rng
    algo = algorithm if algorithm is not None else create_test_algorithm(db, user=user, now=now)
    user_id = overrides.pop("user_id", None)
    if user_id is None:
        creator = _field(algo, "created_by", None)
        user_id = _owner(db, user, None if user is not None else creator)
    created = _now(now) - dt.timedelta(days=r.randint(0, 30))
    row: dict[str, Any] = {
        "id": _uuid(r),
        "user_id": user_id,
        "algorithm_id": parent_id(algo, "algorithm"),
        "deployment_name": f"{_field(algo, 'name', 'Test algorithm')} (test)",
        "is_active": True,
        "execution_frequency": _field(algo, "default_execution_frequency", None) or 300,
        "position_limit": _money(r, 100, 2000),
        "daily_loss_limit": _money(r, 10, 200),
        "parameters_json": _json({}),
        "created_at": created,
        "updated_at": created,
        "activated_at": created,
        "deactivated_at": None,
        "last_executed_at": None,
        "total_profit_loss": decimal.Decimal("0.00"),
        "total_trades": 0,
    }
    row.update(overrides)
    return _one(db, "deployed_algorithms", row)


# -- trading ----------------------------------------------------------------------------------------


def create_test_order(
    db: Any,
    *,
    user: Any = None,
    now: dt.datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An ``orders`` row whose filled quantity and times follow its ``status`` (default ``filled``)."""
    r = _state(db).rng
    status = overrides.pop("status", "filled")
    if status not in ORDER_STATUSES:
        raise UsageError(f"unknown order status {status!r}", hint=f"use one of {', '.join(ORDER_STATUSES)}")
    coin = overrides.pop("coin_type", "btc")
    quantity = decimal.Decimal(overrides.pop("quantity", _money(r, 0.01, 2, scale=4)))
    price = overrides.pop("price", _money(r, 0.5, 1.5, scale=8) * decimal.Decimal(COIN_PRICES.get(coin, 10)))
    created = _now(now) - dt.timedelta(hours=r.randint(1, 24 * 30))
    submitted = None if status == "pending" else created + dt.timedelta(seconds=r.randint(1, 30))
    filled_at = None
    filled = decimal.Decimal(0)
    if status == "filled":
        filled, filled_at = quantity, created + dt.timedelta(seconds=r.randint(31, 300))
    elif status == "partial":
        filled = (quantity * decimal.Decimal(r.randint(1, 99)) / 100).quantize(decimal.Decimal("1e-10"))
    row: dict[str, Any] = {
        "id": _uuid(r),
        "user_id": _owner(db, user, overrides.pop("user_id", None)),
        "algorithm_id": None,
        "coin_type": coin,
        "side": "buy",
        "order_type": "market",
        "quantity": quantity,
        "price": price,
        "filled_quantity": filled,
        "status": status,
        "error_message": "exchange rejected the order" if status == "failed" else None,
        "coinspot_order_id": None if submitted is None else f"cs-{r.getrandbits(40):010x}",
        "created_at": created,
        "updated_at": filled_at or submitted or created,
        "submitted_at": submitted,
        "filled_at": filled_at,
    }
    row.update(overrides)
    return _one(db, "orders", row)


def create_test_position(
    db: Any,
    *,
    user: Any = None,
    coin_type: str = "btc",
    quantity: decimal.Decimal | float | str = "0.5",
    average_price: decimal.Decimal | float | str | None = None,
    with_order: bool = True,
    now: dt.datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``positions`` row; with ``with_order`` (default) the filled buy order it follows from too.

    The order is under ``row["order"]``; ``total_cost`` is quantity x average price.
    """
    user_id = _owner(db, user, overrides.pop("user_id", None))
    qty = decimal.Decimal(str(quantity)).quantize(decimal.Decimal("1e-10"))
    avg = decimal.Decimal(str(average_price if average_price is not None else COIN_PRICES.get(coin_type, 10)))
    avg = avg.quantize(decimal.Decimal("1e-8"))
    order = None
    if with_order:
        order = create_test_order(
            db, user_id=user_id, coin_type=coin_type, quantity=qty, price=avg, status="filled", now=now
        )
    opened = order["filled_at"] if order else _now(now) - dt.timedelta(days=1)
    row: dict[str, Any] = {
        "id": _uuid(_state(db).rng),
        "user_id": user_id,
        "coin_type": coin_type,
        "quantity": qty,
        "average_price": avg,
        "total_cost": (qty * avg).quantize(decimal.Decimal("0.01")),
        "created_at": opened,
        "updated_at": opened,
    }
    row.update(overrides)
    row = _one(db, "positions", row)
    if order is not None:
        row["order"] = order
    return row


# -- agents -----------------------------------------------------------------------------------------


def create_test_agent_session(
    db: Any,
    *,
    user: Any = None,
    now: dt.datetime | None = None,
    messages: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """An ``agent_sessions`` row (``completed`` unless told) and ``messages`` alternating messages."""
    r = _state(db).rng
    status = overrides.pop("status", "completed")
    created = _now(now) - dt.timedelta(hours=r.randint(1, 24 * 30))
    done = created + dt.timedelta(minutes=r.randint(1, 30))
    ended = status in ("completed", "failed", "cancelled")
    row: dict[str, Any] = {
        "id": _uuid(r),
        "user_id": _owner(db, user, overrides.pop("user_id", None)),
        "user_goal": "Find a momentum strategy for BTC on 5-minute prices",
        "status": status,
        "error_message": "the model timed out" if status == "failed" else None,
        "result_summary": "Backtested three strategies; momentum won." if status == "completed" else None,
        "created_at": created,
        "updated_at": done if ended else created,
        "completed_at": done if status == "completed" else None,
        "llm_provider": "system_default",
        "llm_model": None,
        "llm_credential_id": None,
    }
    row.update(overrides)
    row = _one(db, "agent_sessions", row)
    rows = [
        {
            "id": _uuid(r),
            "session_id": row["id"],
            "role": "user" if i % 2 == 0 else "assistant",
            "content": row["user_goal"] if i == 0 else f"Step {i}: working on it.",
            "agent_name": None if i % 2 == 0 else "lab",
            "metadata_json": None,
            "created_at": created + dt.timedelta(seconds=10 * i),
            "sequence_id": i,
            "event_type": "message",
            "stage": None,
        }
        for i in range(messages)
    ]
    for message, key in zip(rows, insert_rows(db, "agent_session_messages", rows), strict=True):
        message["id"] = key
    row["messages"] = rows
    return row


def created_tables(db: Any) -> Iterable[str]:
    """The tables the helpers inserted into through ``db`` (for tests of the cleanup)."""
    state = _info(db).get(_STATE_KEY)
    return sorted({t for t, _, _ in state.created}) if state else []
