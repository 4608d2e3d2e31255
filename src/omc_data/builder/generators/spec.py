"""What a synthetic dataset is made from: the seed, the instant it represents, and the counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from omc_data import defaults
from omc_data.builder.generators.coins import MAX_COINS
from omc_data.builder.passwords import DEFAULT_PASSWORD, DEFAULT_ROUNDS
from omc_data.errors import LimitError

TICK = dt.timedelta(minutes=5)
TICKS_PER_DAY = 288
COUNTS = defaults.COUNTS
DEFAULT_SUPERUSER_EMAIL = defaults.SUPERUSER_EMAIL

# Upper bounds on the counts, checked before anything is generated. The README measures 10.5M price rows
# (--days 365 --coins 100) at ~4 s and ~300 MB peak; 20M rows of one table is about twice that, so a
# bigger ask is refused up front instead of running for minutes into gigabytes first (--days 100000
# asked for 288M price rows and died after 77 s and 4 GB). Each count has its own bound too.
MAX_TABLE_ROWS = 20_000_000
MAX_COUNTS = {
    "users": 100_000,  # each gets a bcrypt hash
    "coins": 10_000,  # the ranked list is shorter anyway (MAX_COINS)
    "days": 3_660,  # ten years of 5-minute ticks: 1.05M ticks per coin
    "algorithms": 100_000,
    "deployments": 100_000,
    "agent_sessions": 100_000,  # 3-12 messages each
    "orders_per_user": 10_000,
    "news": 1_000_000,
    "protocols": 10_000,  # stand-ins hold one row per day each
}


def floor_tick(instant: dt.datetime) -> dt.datetime:
    """The 5-minute tick at or before ``instant`` (UTC)."""
    utc = instant.astimezone(dt.timezone.utc)
    return utc.replace(minute=utc.minute - utc.minute % 5, second=0, microsecond=0)


@dataclass(frozen=True)
class Spec:
    seed: int
    as_of: dt.datetime
    users: int = defaults.USERS
    coins: int = defaults.COINS
    days: int = defaults.DAYS
    algorithms: int = defaults.ALGORITHMS
    deployments: int = defaults.DEPLOYMENTS
    agent_sessions: int = defaults.AGENT_SESSIONS
    orders_per_user: int = defaults.ORDERS_PER_USER
    news: int = defaults.NEWS
    protocols: int = defaults.PROTOCOLS
    superuser_email: str = DEFAULT_SUPERUSER_EMAIL
    password: str = DEFAULT_PASSWORD
    superuser_password: str | None = None
    bcrypt_rounds: int = DEFAULT_ROUNDS

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        for name in COUNTS:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name, limit in MAX_COUNTS.items():
            if getattr(self, name) > limit:
                why = "counts are bounded so a build fits in memory and time"
                raise LimitError(f"--{name.replace('_', '-')}", getattr(self, name), f"{limit:,}", why)
        for option, rows in (
            ("--coins x --days", self.coins * self.days * TICKS_PER_DAY),
            ("--users x --orders-per-user", self.users * self.orders_per_user),
            ("--protocols x --days", self.protocols * self.days),
        ):
            if rows > MAX_TABLE_ROWS:
                why = "rows of one table are bounded so a build fits in memory and time"
                raise LimitError(option, f"({rows:,} rows)", f"{MAX_TABLE_ROWS:,} rows", why)
        if self.days < 1:
            raise ValueError("--days must be at least 1 (for no price history at all, pass --coins 0)")
        if self.coins > MAX_COINS:
            raise ValueError(f"--coins {self.coins}: the ranked coin list has {MAX_COINS} coins")

    @property
    def first_tick(self) -> dt.datetime:
        """The oldest tick of the price history (``days`` days of ticks ending at the as_of tick)."""
        return self.as_of_tick - TICK * max(self.days * TICKS_PER_DAY - 1, 0)

    @property
    def as_of_tick(self) -> dt.datetime:
        return floor_tick(self.as_of)

    @property
    def effective_superuser_password(self) -> str:
        return self.superuser_password if self.superuser_password is not None else self.password

    def manifest_inputs(self) -> dict[str, Any]:
        """The build inputs as the manifest records them: never a password, a hash or a token."""
        doc = asdict(self)
        for secret in ("password", "superuser_password"):
            doc.pop(secret)
        doc["as_of"] = self.as_of_tick
        doc["password"] = "default" if self.password == DEFAULT_PASSWORD else "custom"
        doc["superuser_password"] = (
            "default" if self.effective_superuser_password == DEFAULT_PASSWORD else "custom"
        )
        return doc
