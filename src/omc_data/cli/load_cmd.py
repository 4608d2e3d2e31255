"""``omc-data load`` and ``omc-data status``: the database side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from omc_data import config
from omc_data.cli.output import CliProgress, Settings, emit_json, notice, stdout
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
    from omc_data.loaders.projectdb import project_status
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
    state, running = project_status(config.home_path(env))
    if state is None or not running:
        raise UsageError(
            "no database to use: --db, DATABASE_URL and POSTGRES_SERVER are unset and no local server runs",
            hint="pass --db postgresql://user@host/db, or start a local server with 'omc-data db up'",
        )
    notice(f"using the local server {state.url()} (started by 'omc-data db up')", settings)
    return Target(state.url(), "local server")


def _tables(value: str | None) -> list[str] | None:
    return [t.strip() for t in value.split(",") if t.strip()] if value else None


def load_cmd(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="Snapshot tag to restore.", show_default=False)],
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    create_schema: Annotated[
        bool, typer.Option("--create-schema", help="Create the dataset tables (the database must have none).")
    ] = False,
    tables: Annotated[str | None, typer.Option(help="Only these tables, comma-separated.")] = None,
    json: JsonOpt = False,
) -> None:
    """Restore a snapshot into PostgreSQL in one transaction (all or nothing), with COPY.

    \b
    Examples:
      omc-data load v11                                   # into the local server of 'omc-data db up'
      omc-data load v12 --db postgresql://app@localhost:5432/app
      omc-data load v12 --env-file ../backend/.env --json
    """
    from omc_data import api

    settings: Settings = ctx.obj
    target = resolve_target(db, env_file, settings)
    progress = CliProgress(settings)
    with progress.session():
        result = api.load_snapshot(
            tag,
            db=target.conninfo,
            origin=target.origin,
            store=settings.store,
            create_schema=create_schema,
            tables=_tables(tables),
            progress=progress,
        )
    if json:
        emit_json(result.to_json())
        return
    table = Table("table", "rows loaded", "rows replaced", "seconds", box=None)
    for t in result.tables:
        table.add_row(t.name, f"{t.rows:,}", f"{t.deleted:,}", f"{t.seconds:.2f}")
    stdout.print(table)
    stdout.print(
        f"loaded {tag} into {result.target}: {result.rows:,} rows in {result.seconds:.2f}s", markup=False
    )


def status_cmd(
    ctx: typer.Context, db: DbOpt = None, env_file: EnvFileOpt = None, json: JsonOpt = False
) -> None:
    """Show which snapshot the database holds and how many rows each dataset table has.

    \b
    Example:
      omc-data status --db postgresql://omc@127.0.0.1:5432/omc --json
    """
    from omc_data.loaders.postgres import database_status

    settings: Settings = ctx.obj
    status = database_status(resolve_target(db, env_file, settings))
    if json:
        emit_json(status)
        return
    last = status["last_load"]
    if last:
        stdout.print(
            f"{status['target']} holds snapshot {last['tag']} (loaded {last['loaded_at']})", markup=False
        )
    else:
        stdout.print(f"{status['target']}: no load by omc-data recorded", markup=False)
    if status["alembic_revision"]:
        stdout.print(f"alembic revision: {status['alembic_revision']}", markup=False)
    table = Table("table", "rows", box=None)
    for name, rows in status["tables"].items():
        table.add_row(name, f"{rows:,}")
    stdout.print(table)


def register(app: typer.Typer) -> None:
    app.command("load")(load_cmd)
    app.command("status")(status_cmd)
