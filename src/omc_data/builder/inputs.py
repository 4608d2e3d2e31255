"""What a build is asked for, as one value: the CLI makes it once, the API takes it, the builder reads it.

:class:`BuildInputs` holds the seed, the instant, the counts, the accounts' settings, the tables and
where real data comes from. It checks only what needs no store and no network (the counts and the
instant are checked when the build turns them into its :class:`~omc_data.builder.generators.spec.Spec`,
the sources against the registry, the tag by the store).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from omc_data import defaults

RealDataMode = Literal["off", "live", "collected"]
REAL_DATA_MODES: tuple[RealDataMode, ...] = ("off", "live", "collected")
# The inputs that make the build's Spec (the generators' view of a build).
SPEC_FIELDS = (
    "seed",
    "as_of",
    *defaults.COUNTS,
    "superuser_email",
    "password",
    "superuser_password",
    "bcrypt_rounds",
)


@dataclass(frozen=True)
class BuildInputs:
    """Every input of a build but the tag, the store and how it reports progress."""

    seed: int = defaults.SEED
    as_of: dt.datetime | str | None = None  # RFC 3339 text or an aware datetime; None: now (or collected)
    users: int = defaults.USERS
    coins: int = defaults.COINS
    days: int = defaults.DAYS
    algorithms: int = defaults.ALGORITHMS
    deployments: int = defaults.DEPLOYMENTS
    agent_sessions: int = defaults.AGENT_SESSIONS
    orders_per_user: int = defaults.ORDERS_PER_USER
    news: int = defaults.NEWS
    protocols: int = defaults.PROTOCOLS
    superuser_email: str = defaults.SUPERUSER_EMAIL
    password: str = dataclasses.field(default=defaults.PASSWORD, repr=False)
    superuser_password: str | None = dataclasses.field(default=None, repr=False)
    bcrypt_rounds: int = defaults.BCRYPT_ROUNDS
    tables: Sequence[str] | None = None  # None: every table with a generator
    parent: str | None = None  # the tag this snapshot derives from (recorded)
    real_data: str = "off"  # off | live | collected
    sources: Sequence[str] | None = None  # None: the registry's default sources
    require_real_data: bool = False
    calibrate: bool = False  # fit the price model to the Coinspot ticks collected in the store
    synthetic: bool = True

    def spec_fields(self) -> dict[str, Any]:
        """The keywords of the build's Spec (``as_of`` still as given)."""
        return {name: getattr(self, name) for name in SPEC_FIELDS}

    def replace(self, **changes: Any) -> BuildInputs:
        return dataclasses.replace(self, **changes)
