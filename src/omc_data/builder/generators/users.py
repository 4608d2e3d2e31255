"""``user``: one superuser plus ``--users N`` accounts with varied profiles and known dev passwords."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
from faker import Faker

from omc_data import catalog
from omc_data.builder.generators.spec import Spec
from omc_data.builder.generators.streams import derive, derive_uuid, rng
from omc_data.builder.passwords import hash_passwords
from omc_data.snapshots.arrowschema import arrow_schema

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


def generate(spec: Spec) -> pa.Table:
    passwords = hash_passwords(
        spec.seed, {spec.password, spec.effective_superuser_password}, spec.bcrypt_rounds
    )
    as_of = spec.as_of_tick
    rows: list[dict[str, Any]] = []
    admin_created = as_of - dt.timedelta(days=400)
    rows.append(
        {
            "email": spec.superuser_email,
            "is_active": True,
            "is_superuser": True,
            "full_name": "OMC Admin",
            "id": user_id(spec.seed, 0),
            "hashed_password": passwords[spec.effective_superuser_password],
            "created_at": admin_created,
            "updated_at": admin_created,
            "timezone": "Australia/Sydney",
            "preferred_currency": "AUD",
            "risk_tolerance": "medium",
            "trading_experience": "advanced",
        }
    )
    fake = Faker("en_AU")
    for ordinal in range(1, spec.users + 1):
        r = rng(spec.seed, TABLE.name, ordinal)
        fake.seed_instance(derive(spec.seed, TABLE.name, "faker", ordinal))
        first, last = fake.first_name(), fake.last_name()
        created = as_of - dt.timedelta(seconds=r.randint(3600, 365 * 86400))
        updated = created + dt.timedelta(seconds=r.randint(0, int((as_of - created).total_seconds())))
        rows.append(
            {
                "email": _email(first, last, ordinal),
                "is_active": r.random() >= INACTIVE_SHARE,
                "is_superuser": False,
                "full_name": f"{first} {last}",
                "id": user_id(spec.seed, ordinal),
                "hashed_password": passwords[spec.password],
                "created_at": created,
                "updated_at": updated,
                "timezone": r.choice(TIMEZONES),
                "preferred_currency": r.choice(CURRENCIES),
                "risk_tolerance": r.choice(RISK),
                "trading_experience": r.choice(EXPERIENCE),
            }
        )
    rows.sort(key=lambda row: row["id"])
    return pa.Table.from_pylist(rows, schema=arrow_schema(TABLE))
