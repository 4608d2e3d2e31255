"""Which database a command talks to, and how to name it without its password.

Library functions take an explicit connection string; ``omc_data.config`` turns the environment
(``DATABASE_URL``, the backend's ``POSTGRES_*``) into one for the CLI and the pytest plugin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from omc_data.errors import UsageError

_DRIVER_SUFFIX = re.compile(r"^(postgres(?:ql)?)\+[A-Za-z0-9_]+://")


def normalize_url(url: str) -> str:
    """Accept SQLAlchemy-style URLs (``postgresql+psycopg://``) as libpq does not."""
    return _DRIVER_SUFFIX.sub(r"\1://", url.strip())


def mask_dsn(dsn: str) -> str:
    """``user@host:port/dbname`` for messages: never the password or other parameters."""
    try:
        params = conninfo_to_dict(normalize_url(dsn))
    except psycopg.Error:
        return "<an unparsable connection string>"
    user = f"{params['user']}@" if params.get("user") else ""
    host = params.get("host") or "localhost"
    return f"{user}{host}:{params.get('port') or 5432}/{params.get('dbname', '')}"


def conninfo_from_settings(
    *, server: str, port: str | int | None, user: str | None, password: str | None, db: str | None
) -> str:
    """A connection string from the OMC backend's POSTGRES_SERVER/PORT/USER/PASSWORD/DB settings."""
    params = {"host": server, "port": str(port or 5432), "user": user, "password": password, "dbname": db}
    return make_conninfo(**{k: v for k, v in params.items() if v})


@dataclass(frozen=True)
class Target:
    """A database to load into: the connection string and where it came from (for messages)."""

    conninfo: str
    origin: str  # --db | DATABASE_URL | POSTGRES_* | local server

    def __post_init__(self) -> None:
        try:
            conninfo_to_dict(normalize_url(self.conninfo))
        except psycopg.Error as exc:
            raise UsageError(
                f"the database URL from {self.origin} cannot be parsed",
                hint="write it as postgresql://user@host:5432/dbname",
            ) from exc

    @property
    def dsn(self) -> str:
        return normalize_url(self.conninfo)

    @property
    def host(self) -> str | None:
        try:
            host = conninfo_to_dict(self.dsn).get("host")
            return str(host) if host else None
        except psycopg.Error:
            return None

    @property
    def masked(self) -> str:
        return mask_dsn(self.conninfo)

    def describe(self) -> str:
        return f"{self.masked} (from {self.origin})"

    def __repr__(self) -> str:  # the dataclass's own would show the password
        return f"Target({self.masked!r}, origin={self.origin!r})"
