"""``omc-data db``: a throwaway local PostgreSQL for trying things (under ./.omc-data by default)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from omc_data import config
from omc_data.cli.output import emit_json, notice, stdout

app = typer.Typer(
    help="""A local PostgreSQL for trying things: 'db up' starts it and prints its URL.

    \b
    It lives under $OMC_DATA_HOME (default ./.omc-data) and runs the PostgreSQL binaries on PATH.
    Examples:
      omc-data db up
      omc-data load v12 --create-schema      # no --db: the local server is the target
      omc-data db down --remove
    """,
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


def _doc(state: Any, running: bool) -> dict[str, Any]:
    if state is None:
        return {"exists": False, "running": False, "url": None}
    return {
        "exists": True,
        "running": running,
        "url": state.url(),
        "port": state.port,
        "data_dir": str(state.data_dir),
        "postgres_version": state.version,
    }


@app.command("up")
def up_cmd(
    port: Annotated[int | None, typer.Option(help="TCP port on 127.0.0.1. [default: a free one]")] = None,
    json: JsonOpt = False,
) -> None:
    """Start the local server (creating it on first use) and print its URL. Idempotent.

    \b
    Example:
      export DATABASE_URL=$(omc-data -q db up)
    """
    from omc_data.localdb.project import project_up

    home = config.home_path(config.environ())
    state = project_up(home, port=port)
    if json:
        emit_json(_doc(state, True))
        return
    notice(f"local PostgreSQL {state.version} running, data in {state.data_dir}")
    stdout.print(state.url(), markup=False)


@app.command("down")
def down_cmd(
    remove: Annotated[bool, typer.Option("--remove", help="Also delete its data.")] = False,
    json: JsonOpt = False,
) -> None:
    """Stop the local server (--remove also deletes its data).

    \b
    Example:
      omc-data db down --remove
    """
    from omc_data.localdb.project import project_down

    state = project_down(config.home_path(config.environ()), remove=remove)
    if json:
        emit_json({"stopped": state is not None, "removed": remove and state is not None})
        return
    if state is None:
        notice("no local server to stop")
    else:
        notice("local server stopped" + (" and its data removed" if remove else ""))


@app.command("status")
def status_cmd(json: JsonOpt = False) -> None:
    """Say whether the local server exists and runs, and its URL.

    \b
    Example:
      omc-data db status --json
    """
    from omc_data.localdb.project import project_status

    state, running = project_status(config.home_path(config.environ()))
    doc = _doc(state, running)
    if json:
        emit_json(doc)
    elif not doc["exists"]:
        stdout.print("no local server (start one with 'omc-data db up')")
    else:
        stdout.print(
            f"{'running' if running else 'stopped'}: {doc['url']} (data in {doc['data_dir']})", markup=False
        )
    if not running:
        raise typer.Exit(1)


@app.command("reset")
def reset_cmd(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop and recreate the local server's database (empty, no tables).

    \b
    Example:
      omc-data db reset --yes && omc-data load v12 --create-schema
    """
    import sys

    from omc_data.errors import UsageError
    from omc_data.localdb.cluster import HOST, SUPERUSER, create_database, drop_database
    from omc_data.localdb.project import project_status

    state, running = project_status(config.home_path(config.environ()))
    if state is None or not running:
        raise UsageError("no local server runs", hint="start it with 'omc-data db up'")
    if not yes and sys.stdin.isatty():
        typer.confirm(f"drop every table and row of {state.url()}?", abort=True, err=True)
    admin = f"postgresql://{SUPERUSER}@{HOST}:{state.port}/postgres"
    drop_database(admin, state.dbname)
    create_database(admin, state.dbname, owner=state.role)
    notice(f"{state.url()} is empty again")
