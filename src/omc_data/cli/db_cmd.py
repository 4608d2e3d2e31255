"""``omc-data db``: a throwaway local PostgreSQL for trying things (under ./.omc-data by default)."""

from __future__ import annotations

from typing import Annotated

import typer

from omc_data import config
from omc_data.cli.options import JsonOpt
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
    from omc_data import api

    server = api.local_server_up(config.home_path(config.environ()), port=port)
    if json:
        emit_json(server.to_json())
        return
    notice(f"local PostgreSQL {server.postgres_version} running, data in {server.data_dir}")
    stdout.print(server.url, markup=False)


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
    from omc_data import api

    done = api.local_server_down(config.home_path(config.environ()), remove=remove)
    if json:
        emit_json(done.to_json())
        return
    if not done.stopped:
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
    from omc_data import api

    server = api.local_server_status(config.home_path(config.environ()))
    if json:
        emit_json(server.to_json())
    elif not server.exists:
        stdout.print("no local server (start one with 'omc-data db up')")
    else:
        stdout.print(
            f"{'running' if server.running else 'stopped'}: {server.url} (data in {server.data_dir})",
            markup=False,
        )
    if not server.running:
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

    from omc_data import api
    from omc_data.errors import UsageError

    home = config.home_path(config.environ())
    server = api.local_server_status(home)
    if not server.running:
        raise UsageError("no local server runs", hint="start it with 'omc-data db up'")
    if not yes and sys.stdin.isatty():
        typer.confirm(f"drop every table and row of {server.url}?", abort=True, err=True)
    server = api.local_server_reset(home)
    notice(f"{server.url} is empty again")
