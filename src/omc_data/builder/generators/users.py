"""``user``: one superuser plus ``--users N`` accounts with varied profiles and known dev passwords."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from faker import Faker

from omc_data import catalog
from omc_data.builder.generators.common import sorted_table
from omc_data.builder.generators.spec import Spec
from omc_data.builder.generators.streams import derive, derive_uuid, rendezvous, rng
from omc_data.builder.generators.world import World
from omc_data.builder.passwords import hash_passwords

TABLE = catalog.USER
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")  # reserved by RFC 2606
TIMEZONES = (
    "Australia/Sydney",
    "Australia/Melbourne",
    "Australia/Perth",
    "Australia/Brisbane",
    "Pacific/Auckland",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "UTC",
)
CURRENCIES = ("AUD", "AUD", "AUD", "USD", "EUR", "GBP", "NZD", "SGD", "JPY", "BTC", "USDT")
RISK = ("low", "medium", "medium", "high")
EXPERIENCE = ("beginner", "beginner", "intermediate", "advanced")
INACTIVE_SHARE = 0.1


def user_id(seed: int, ordinal: int) -> bytes:
    """Ordinal 0 is the superuser; synthetic users are 1..N."""
    return derive_uuid(seed, TABLE.name, ordinal).bytes


def _email(first: str, last: str, ordinal: int) -> str:
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    local = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch in "._-")) or "user"
    return f"{local}.{ordinal}@{EXAMPLE_DOMAINS[ordinal % len(EXAMPLE_DOMAINS)]}"


@dataclass(frozen=True)
class UserFact:
    ordinal: int  # 0 is the superuser, synthetic users are 1..N
    id: bytes
    created_at: dt.datetime
    row: dict[str, Any]  # every column but the password hash

    @property
    def is_active(self) -> bool:
        return bool(self.row["is_active"])


def _superuser(spec: Spec) -> dict[str, Any]:
    created = spec.as_of_tick - dt.timedelta(days=400)
    return {
        "email": spec.superuser_email,
        "is_active": True,
        "is_superuser": True,
        "full_name": "OMC Admin",
        "id": user_id(spec.seed, 0),
        "created_at": created,
        "updated_at": created,
        "timezone": "Australia/Sydney",
        "preferred_currency": "AUD",
        "risk_tolerance": "medium",
        "trading_experience": "advanced",
    }


def _profile(spec: Spec, fake: Faker, ordinal: int) -> dict[str, Any]:
    as_of = spec.as_of_tick
    r = rng(spec.seed, TABLE.name, ordinal)
    fake.seed_instance(derive(spec.seed, TABLE.name, "faker", ordinal))
    first, last = fake.first_name(), fake.last_name()
    created = as_of - dt.timedelta(seconds=r.randint(3600, 365 * 86400))
    updated = created + dt.timedelta(seconds=r.randint(0, int((as_of - created).total_seconds())))
    return {
        "email": _email(first, last, ordinal),
        "is_active": r.random() >= INACTIVE_SHARE,
        "is_superuser": False,
        "full_name": f"{first} {last}",
        "id": user_id(spec.seed, ordinal),
        "created_at": created,
        "updated_at": updated,
        "timezone": r.choice(TIMEZONES),
        "preferred_currency": r.choice(CURRENCIES),
        "risk_tolerance": r.choice(RISK),
        "trading_experience": r.choice(EXPERIENCE),
    }


def facts(world: World) -> list[UserFact]:
    """Every account, superuser first, then synthetic users by ordinal."""
    spec = world.spec
    fake = Faker("en_AU")
    rows = [_superuser(spec)] + [_profile(spec, fake, n) for n in range(1, spec.users + 1)]
    return [UserFact(n, row["id"], row["created_at"], row) for n, row in enumerate(rows)]


def owner(world: World, table: str, ordinal: int) -> UserFact:
    """The user an entity belongs to: a synthetic user by rendezvous hashing, the superuser if none."""
    users = world.get(facts)
    if len(users) == 1:
        return users[0]
    (winner,) = rendezvous(world.spec.seed, table, ordinal, "owner", candidates=len(users) - 1)
    return users[winner + 1]


def generate(world: World) -> pa.Table:
    spec = world.spec
    passwords = hash_passwords(
        spec.seed, {spec.password, spec.effective_superuser_password}, spec.bcrypt_rounds
    )
    rows = []
    for user in world.get(facts):
        secret = spec.effective_superuser_password if user.ordinal == 0 else spec.password
        rows.append({**user.row, "hashed_password": passwords[secret]})
    return sorted_table(TABLE, rows)
