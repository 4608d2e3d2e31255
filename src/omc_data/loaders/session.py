"""A loader's connection to the target: session settings, the advisory lock, and errors in plain words.

Every connection sets TimeZone UTC and UTF8 and names itself (``application_name``), so a second load
or a blocked one can say *who* is in the way: the advisory lock's holder, or the sessions holding
locks on the tables when ``lock_timeout`` fires. Connection failures get a hint (a compose service
name that does not resolve here, a wrong password); the password itself never appears.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from omc_data.errors import ConnectionFailedError, DatabaseError, LockHeldError, LockTimeoutError
from omc_data.loaders.target import Target

LOCK_KEY = 0x6F6D635F64617461  # "omc_data" as a bigint: one load at a time per database
NOTHING_CHANGED = "nothing was changed"


def connect(target: Target, *, purpose: str = "omc-data") -> psycopg.Connection[tuple[Any, ...]]:
    """Open a connection with the session settings every loader statement relies on."""
    try:
        conn = psycopg.connect(
            target.dsn, autocommit=False, connect_timeout=10, application_name=purpose[:63]
        )
    except psycopg.OperationalError as exc:
        raise ConnectionFailedError(
            f"cannot connect to {target.describe()}: {scrub(first_line(exc, last=True), target.dsn)}",
            hint=_connect_hint(target, exc),
        ) from exc
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET client_encoding = 'UTF8'")
    conn.commit()
    return conn


def scrub(text: str, dsn: str) -> str:
    """``text`` without the password of ``dsn`` (libpq does not echo it, but never trust a message)."""
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        return text
    return text.replace(str(password), "***") if password else text


def first_line(message: BaseException | bytes | str, *, last: bool = False) -> str:
    """The first (or last) non-empty line of an error, or its type: errors in one line."""
    if isinstance(message, BaseException):
        text, fallback = str(message), type(message).__name__
    else:
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        fallback = "unknown error"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return fallback
    return lines[-1] if last else lines[0]


def _connect_hint(target: Target, exc: BaseException) -> str:
    text = str(exc).lower()
    if any(
        s in text for s in ("could not translate host name", "failed to resolve host", "name or service not")
    ):
        host = target.host or "the host"
        return (
            f"{host!r} does not resolve from here; a docker-compose service name (POSTGRES_SERVER=db) "
            "only resolves inside compose: use localhost and the published port, or pass --db"
        )
    if "password authentication failed" in text:
        return "check the user and password (DATABASE_URL, POSTGRES_USER/POSTGRES_PASSWORD or --db)"
    if "no password supplied" in text:
        return "the server asks for a password: put it in the URL (DATABASE_URL or --db) or POSTGRES_PASSWORD"
    if "does not exist" in text and "database" in text:
        return "check the database name in the URL, or create that database first (createdb NAME)"
    if "role" in text and "does not exist" in text:
        return "check the user name in the URL (DATABASE_URL, POSTGRES_USER or --db)"
    refused = "connection refused" in text or ("no such file or directory" in text and ".s.pgsql" in text)
    if refused and _is_local(target.host):
        return "is the server running? 'omc-data db up' starts a local one"
    if refused:
        return f"nothing answers on {target.host}: check the host and port, and that the server is running"
    return "check the connection settings (--db, DATABASE_URL or POSTGRES_*) and that the server accepts them"


def _is_local(host: str | None) -> bool:
    """The default host (a local socket), or a loopback name: where 'omc-data db up' would listen."""
    if not host:
        return True
    return all(h.startswith("/") or h in ("localhost", "127.0.0.1", "::1") for h in host.split(","))


def existing_tables(conn: psycopg.Connection[Any], names: Sequence[str]) -> set[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(%s)",
        [list(names)],
    ).fetchall()
    return {r[0] for r in rows}


# --- locks -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A database session in someone's way, for messages and for the fields of a lock error.

    ``query`` is the kind of its current (or last) statement and the tables it locks ("UPDATE on
    user"), never the SQL text, which may hold literal values.
    """

    pid: int
    application_name: str
    user: str
    since: dt.datetime
    state: str | None = None
    query: str | None = None

    def __str__(self) -> str:
        since = f"{_utc(self.since):%H:%M:%SZ}"
        text = f"pid {self.pid} ({self.application_name}, user {self.user}, since {since}"
        if self.state is not None:
            text += f", {self.state}: {' '.join(str(self.query).split())}"
        return text + ")"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "pid": self.pid,
            "application_name": self.application_name,
            "user": self.user,
            "since": _utc(self.since).isoformat().replace("+00:00", "Z"),
        }
        if self.state is not None:
            doc["state"] = self.state
        return doc


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.timezone.utc)


class Sessions(list[Session]):
    """Sessions found by a query, ``unknown`` when they could not be read; ``str`` is for messages."""

    unknown: bool = False

    def __str__(self) -> str:
        if self.unknown:
            return "unknown sessions"
        if not self:
            return "a session that has since finished"
        shown = "; ".join(str(s) for s in self[:5])
        return shown + (f" and {len(self) - 5} more" if len(self) > 5 else "")

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self]


def lock_holders(target: Target) -> Sessions:
    """Who holds omc-data's advisory lock: 'pid 123 (omc-data load v11, user app, since 12:00:01Z)'."""
    query = """
        SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), a.usename,
               coalesce(a.xact_start, a.backend_start)
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.classid = %s AND l.objid = %s AND l.database = (SELECT oid FROM pg_database
                                                               WHERE datname = current_database())
    """
    return _sessions(target, query, [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF])


def table_lock_holders(target: Target, tables: Sequence[str]) -> Sessions:
    """The other sessions holding locks on ``tables``, with their state and statement."""
    query = """
        SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), a.usename,
               coalesce(a.xact_start, a.backend_start), a.state, left(ltrim(a.query), 40),
               string_agg(DISTINCT c.relname, ', ' ORDER BY c.relname)
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE l.locktype = 'relation' AND l.granted AND a.pid <> pg_backend_pid()
          AND n.nspname = current_schema() AND c.relname = ANY(%s)
        GROUP BY 1, 2, 3, 4, 5, 6
    """
    return _sessions(target, query, [list(tables)])


def _sessions(target: Target, query: str, params: list[Any]) -> Sessions:
    found = Sessions()
    try:
        with psycopg.connect(target.dsn, connect_timeout=5, autocommit=True) as other:
            rows = other.execute(query, params).fetchall()
    except psycopg.Error:
        found.unknown = True
        return found
    for row in rows:
        pid, app, user, since = row[:4]
        state, text = (str(row[4]), statement_kind(row[5], row[6])) if len(row) > 4 else (None, None)
        found.append(Session(int(pid), str(app), str(user), since, state, text))
    return found


_KIND = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)


def statement_kind(query: Any, tables: Any) -> str:
    """'UPDATE on user': the statement's first keyword and the tables it locks, never its text.

    SQL text may hold literal values (a password hash, a token), so only its kind is shown.
    """
    match = _KIND.match(str(query or ""))
    kind = match.group(1).upper() if match else "a statement"
    return f"{kind} on {tables}" if tables else kind


def take_lock(
    conn: psycopg.Connection[Any], target: Target, *, wait: bool, on_wait: Callable[[str], None]
) -> None:
    got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY]).fetchone()
    if got and got[0]:
        return
    holders = lock_holders(target)
    if not wait:
        raise LockHeldError(
            f"another omc-data load is running on {target.masked}: {holders}",
            hint="wait for it to finish, or pass wait=True to queue behind it",
            holders=holders.to_json(),
        )
    on_wait(f"waiting for the load held by {holders}")
    conn.execute("SET LOCAL lock_timeout = 0")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


# --- errors ------------------------------------------------------------------------------------------


def explain(exc: psycopg.Error, doing: str, target: Target, tables: Sequence[str]) -> DatabaseError:
    """A psycopg error as a one-line DatabaseError that says nothing changed, and what to do."""
    if isinstance(exc, pg_errors.LockNotAvailable):
        blocking = table_lock_holders(target, tables)
        return LockTimeoutError(
            f"{doing} {target.masked} timed out waiting for locks held by {blocking}",
            hint=f"{NOTHING_CHANGED}; end those sessions (stop the app, or close idle transactions) "
            "and retry, or raise lock_timeout",
            blocking=blocking.to_json(),
            tables=list(tables),
        )
    diag = getattr(exc, "diag", None)
    table = getattr(diag, "table_name", None) if diag else None
    constraint = getattr(diag, "constraint_name", None) if diag else None
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        way_out = (
            "the snapshot's rows point at rows the target lacks, or a row outside the dataset blocks the "
            "change: load the parent tables too (tables=[...]), or see 'omc-data load --dry-run'"
        )
    elif isinstance(exc, pg_errors.IntegrityError):
        way_out = (
            f"the target enforces a rule ({constraint or 'a constraint'} on {table or 'a table'}) that the "
            "snapshot's rows break: relax it, or load a snapshot that obeys it"
        )
    else:
        way_out = "'omc-data check TAG' compares a snapshot with the target's schema"
    return DatabaseError(
        f"{doing} {target.masked} failed: {first_line(exc)}",
        hint=f"{NOTHING_CHANGED}; {way_out}",
        table=table,
    )


def set_lock_timeout(conn: psycopg.Connection[Any], seconds: float) -> None:
    """For the rest of this transaction: give up on a lock after ``seconds`` instead of waiting forever."""
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(seconds * 1000)}ms")))
