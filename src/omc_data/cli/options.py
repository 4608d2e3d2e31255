"""Options that several commands share (the target database, ``--json``, the load's safety switches).

Each command module imports them from here; the real-data source options live in ``source_options``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omc_data import config
from omc_data.cli.output import Settings, notice
from omc_data.errors import UsageError

if TYPE_CHECKING:
    from omc_data.loaders.target import Target

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Target database URL [else DATABASE_URL, else POSTGRES_*, "
        "else the local server of 'omc-data db up']",
        show_default=False,
    ),
]
EnvFileOpt = Annotated[
    Path | None,
    typer.Option("--env-file", help="Read DATABASE_URL / POSTGRES_* from this file (a backend .env)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def resolve_target(db: str | None, env_file: Path | None, settings: Settings) -> Target:
    """--db, DATABASE_URL, POSTGRES_* (also from --env-file), else the local server omc-data started."""
    from omc_data import api
    from omc_data.loaders.target import Target, conninfo_from_settings

    env = config.environ()
    choice = config.database_choice(db, env_file, env)
    if choice is not None:
        if choice.url is not None:
            return Target(choice.url, choice.origin)
        s = choice.settings or {}
        conninfo = conninfo_from_settings(
            server=s["POSTGRES_SERVER"],
            port=s.get("POSTGRES_PORT"),
            user=s.get("POSTGRES_USER"),
            password=s.get("POSTGRES_PASSWORD"),
            db=s.get("POSTGRES_DB"),
        )
        return Target(conninfo, choice.origin)
    server = api.local_server_status(config.home_path(env))
    if not server.running or server.url is None:
        raise UsageError(
            "no database to use: --db, DATABASE_URL and POSTGRES_SERVER are unset and no local server runs",
            hint="pass --db postgresql://user@host/db, or start a local server with 'omc-data db up'",
        )
    notice(f"using the local server {server.url} (started by 'omc-data db up')", settings)
    return Target(server.url, "local server")


def parse_tables(value: str | None) -> list[str] | None:
    """``--tables a,b`` as a list; None (every table) when the option is absent, UsageError when empty."""
    if value is None:
        return None
    names = [t.strip() for t in value.split(",") if t.strip()]
    if not names:
        raise UsageError(
            f"--tables {value!r} names no table",
            hint="name at least one table (an unset shell variable?), or leave --tables out for every "
            "table; nothing was done",
        )
    return names


TablesOpt = Annotated[
    str | None, typer.Option(help="Only these tables (and their dataset children), comma-separated.")
]
CascadeOpt = Annotated[
    bool,
    typer.Option(
        "--cascade", help="Also delete the app rows that reference replaced rows (listed, never silently)."
    ),
]
WaitOpt = Annotated[
    bool, typer.Option("--wait", help="Queue behind a running load instead of failing at once.")
]
LockTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        metavar="SECONDS",
        min=0,
        help="Give up (changing nothing) when the app holds the tables' locks longer than this; 0 waits.",
    ),
]
ColumnLossOpt = Annotated[
    bool,
    typer.Option(
        "--allow-column-loss",
        help="Load into an older schema that lacks snapshot columns holding data (drops them, reported).",
    ),
]
