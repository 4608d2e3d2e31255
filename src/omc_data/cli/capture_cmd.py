"""``omc-data capture``: snapshot a database's dataset tables into the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from omc_data.cli.options import DbOpt, EnvFileOpt, JsonOpt, parse_tables, resolve_target
from omc_data.cli.output import CliProgress, Settings, emit_json, notice, stdout, warn


def capture_cmd(
    ctx: typer.Context,
    tag: Annotated[str, typer.Option("--tag", help="Tag of the new snapshot.", show_default=False)],
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    tables: Annotated[
        str | None, typer.Option(help="Only these tables, comma-separated (default: every dataset table).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Snapshot the database's dataset tables into the store, in one read-only transaction.

    The capture is a normal snapshot (diff, load, verify and validate work on it). The database is only
    read. Columns an older schema lacks are NULL in the snapshot; rule breaks in the rows are warnings.

    \b
    Examples:
      omc-data capture --tag before-migration                 # the local server of 'omc-data db up'
      omc-data capture --tag prod-2026-11-24 --env-file ../backend/.env
      omc-data capture --tag users-only --db postgresql://app@localhost:5432/app --tables user,positions
      omc-data diff v12 before-migration                      # what the app changed since v12 was loaded
    """
    from omc_data import api
    from omc_data.errors import SnapshotExistsError
    from omc_data.snapshots.store import validate_tag

    settings: Settings = ctx.obj
    validate_tag(tag)
    if api.open_store(settings.store).exists(tag):  # refused before the database is even resolved
        raise SnapshotExistsError(tag, settings.store)
    target = resolve_target(db, env_file, settings)
    progress = CliProgress(settings)
    with progress.session():
        result = api.capture_snapshot(
            tag,
            db=target.conninfo,
            origin=target.origin,
            store=settings.store,
            tables=parse_tables(tables),
            progress=progress,
        )
    if json:
        emit_json(result.to_json())
        return
    for t in result.tables:
        if t.missing_columns:
            warn(f"{t.name}: no column {', '.join(t.missing_columns)} in the database: NULL in the snapshot")
        if t.type_differences:
            diffs = ", ".join(f"{c} {typ}" for c, typ in t.type_differences.items())
            notice(f"{t.name}: cast to the catalog's types: {diffs}", settings)
    table = Table("table", "rows", "seconds", box=None)
    for t in result.tables:
        table.add_row(t.name, f"{t.rows:,}", f"{t.seconds:.2f}")
    stdout.print(table)
    warnings = result.report.warnings
    if warnings:
        listed = "; ".join(f"{c.table}: {c.description} ({c.failures:,} rows)" for c in warnings)
        warn(f"{len(warnings)} checks found rule breaks, kept as they are: {listed}")
    stdout.print(
        f"captured {result.target} as {result.tag}: {result.rows:,} rows in {result.seconds:.2f}s",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command("capture")(capture_cmd)
