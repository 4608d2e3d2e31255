"""``omc-data load`` and ``omc-data status``: the database side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from omc_data.cli.options import (
    CascadeOpt,
    ColumnLossOpt,
    DbOpt,
    EnvFileOpt,
    JsonOpt,
    LockTimeoutOpt,
    TablesOpt,
    WaitOpt,
    parse_tables,
    resolve_target,
)
from omc_data.cli.output import CliProgress, Settings, emit_json, notice, stdout
from omc_data.errors import UsageError

if TYPE_CHECKING:
    from omc_data.loaders.postgres import LoadResult
    from omc_data.loaders.records import DatabaseStatus


def _print_plan(result: LoadResult) -> None:
    plan = result.plan
    if plan is None:
        return
    table = Table("table", "rows now", "rows to load", "empty with", "COPY", box=None)
    for t in plan.tables:
        table.add_row(
            t.name,
            f"{result.rows_before.get(t.name, 0):,}",
            f"{t.rows:,}",
            t.empty_with,
            "binary" if t.binary else "text",
        )
    stdout.print(table)
    _print_findings(result)


def _print_findings(result: LoadResult) -> None:
    plan = result.plan
    if plan is None:
        return
    if plan.alembic_revision:
        stdout.print(f"alembic revision: {plan.alembic_revision}", markup=False)
    for b in plan.bridges:
        stdout.print(f"bridged: {b}", markup=False)
    for view in plan.views:
        stdout.print(f"refresh: {view}", markup=False)
    for view in plan.skipped_views:
        stdout.print(f"not refreshed (never populated): {view}", markup=False)
    for r in result.referencing:
        stdout.print(f"referencing: {r}", markup=False)
    for p in plan.missing_privileges:
        stdout.print(f"missing privilege: {p}", markup=False)
    for blocker in plan.blockers:
        stdout.print(f"BLOCKER: {blocker}", style="red", markup=False)


def load_cmd(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="Snapshot tag to restore.", show_default=False)],
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    create_schema: Annotated[
        bool, typer.Option("--create-schema", help="Create the dataset tables (the database must have none).")
    ] = False,
    tables: TablesOpt = None,
    cascade: CascadeOpt = False,
    allow_column_loss: ColumnLossOpt = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan (rows, bridges, views, privileges); change nothing."),
    ] = False,
    backup: Annotated[
        bool | None,
        typer.Option(
            "--backup/--no-backup",
            help="Capture the tables into pre-load-<UTC time> first. Default: only when they hold rows "
            "that no stored snapshot has (changed since the last load, or never loaded by omc-data).",
            show_default=False,
        ),
    ] = None,
    wait: WaitOpt = False,
    lock_timeout: LockTimeoutOpt = 10.0,
    json: JsonOpt = False,
) -> None:
    """Restore a snapshot into PostgreSQL in one transaction (all or nothing), with binary COPY.

    Checksums are verified and the target's schema compared with the snapshot before anything is
    written; differences are bridged when safe and stop the load otherwise ('omc-data check').

    \b
    Examples:
      omc-data load v11                                   # into the local server of 'omc-data db up'
      omc-data load v12 --db postgresql://app@localhost:5432/app
      omc-data load v12 --env-file ../backend/.env --dry-run
      omc-data load v12 --tables price_data_5min --json
      omc-data load v12 --cascade --backup                # also delete app rows pointing at old users
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
            tables=parse_tables(tables),
            cascade=cascade,
            allow_column_loss=allow_column_loss,
            dry_run=dry_run,
            backup=backup,
            wait=wait,
            lock_timeout=lock_timeout,
            progress=progress,
            notice=lambda message: notice(message, settings),
        )
    if json:
        emit_json(result.to_json())
    elif dry_run:
        _print_plan(result)
        stdout.print(f"dry run: nothing was changed in {result.target}", markup=False)
    else:
        _print_loaded(tag, result)
    if dry_run and result.plan and result.plan.blockers:
        raise typer.Exit(1)


def _print_loaded(tag: str, result: LoadResult) -> None:
    """The human summary of a load: rows per table, findings, cascaded rows, the backup, the total."""
    table = Table("table", "rows loaded", "rows replaced", "seconds", box=None)
    for t in result.tables:
        table.add_row(t.name, f"{t.rows:,}", f"{t.deleted:,}", f"{t.seconds:.2f}")
    stdout.print(table)
    _print_findings(result)
    for name, rows in result.cascaded.items():
        stdout.print(f"deleted by --cascade: {rows:,} rows of {name}", markup=False)
    if result.backup:
        stdout.print(
            f"previous contents saved as {result.backup} (omc-data load {result.backup})", markup=False
        )
        stdout.print(f"backup of the previous contents: {result.backup} ('omc-data load {result.backup}')")
    stdout.print(
        f"loaded {tag} into {result.target}: {result.rows:,} rows in {result.seconds:.2f}s", markup=False
    )


def check_cmd(
    ctx: typer.Context,
    tag: Annotated[
        str, typer.Argument(help="Snapshot tag to compare with the database.", show_default=False)
    ],
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    tables: TablesOpt = None,
    allow_column_loss: ColumnLossOpt = False,
    json: JsonOpt = False,
) -> None:
    """Compare a snapshot with the target's schema, read-only: what a load would bridge or stop on.

    Exit 0 when the snapshot can be loaded, 1 on any blocking difference (each named with its way out).

    \b
    Examples:
      omc-data check v12 --env-file ../backend/.env
      omc-data check v12 --db postgresql://app@localhost:5432/app --json
    """
    from omc_data import api

    settings: Settings = ctx.obj
    target = resolve_target(db, env_file, settings)
    result = api.check_snapshot(
        tag,
        db=target.conninfo,
        origin=target.origin,
        store=settings.store,
        tables=parse_tables(tables),
        allow_column_loss=allow_column_loss,
    )
    blockers = result.plan.blockers if result.plan else []
    if json:
        doc = result.to_json()
        emit_json({"ok": not blockers, **{k: doc[k] for k in _CHECK_KEYS}})
    else:
        _print_findings(result)
        verdict = "cannot be loaded" if blockers else "can be loaded"
        stdout.print(f"{tag} {verdict} into {result.target}", markup=False)
    if blockers:
        raise typer.Exit(1)


_CHECK_KEYS = ("tag", "target", "alembic_revision", "tables", "bridges", "blockers", "missing_privileges",
               "views_to_refresh", "referencing_rows")  # fmt: skip


def clear_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    tables: TablesOpt = None,
    cascade: CascadeOpt = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; change nothing.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Really empty the tables (required unless --dry-run).")
    ] = False,
    wait: WaitOpt = False,
    lock_timeout: LockTimeoutOpt = 10.0,
    json: JsonOpt = False,
) -> None:
    """Empty the dataset tables in one transaction, with the same safety rules as a load.

    App rows that reference dataset rows stop it (listed) unless --cascade; views are refreshed.

    \b
    Examples:
      omc-data clear --dry-run
      omc-data clear --yes --db postgresql://app@localhost:5432/app
      omc-data clear --tables price_data_5min --yes --json
    """
    from omc_data import api

    settings: Settings = ctx.obj
    if not dry_run and not yes:
        raise UsageError(
            "clear deletes every row of the dataset tables", hint="add --yes, or --dry-run to preview"
        )
    target = resolve_target(db, env_file, settings)
    result = api.clear_dataset_tables(
        target.conninfo,
        origin=target.origin,
        tables=parse_tables(tables),
        cascade=cascade,
        dry_run=dry_run,
        wait=wait,
        lock_timeout=lock_timeout,
        notice=lambda message: notice(message, settings),
    )
    if json:
        emit_json(result.to_json())
        return
    table = Table("table", "rows deleted" if not dry_run else "rows to delete", box=None)
    for name, rows in result.tables.items():
        table.add_row(name, f"{rows:,}")
    stdout.print(table)
    for r in result.referencing:
        stdout.print(f"referencing: {r}", markup=False)
    verb = "would delete" if dry_run else "deleted"
    stdout.print(f"{verb} {sum(result.tables.values()):,} rows in {result.target}", markup=False)


def status_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Compare the contents with the loaded snapshot (captures them; slower)."),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Show which snapshot the database holds, and whether its dataset tables changed since the load.

    The state is unchanged, changed (naming the tables) or unknown (why: no load recorded, or its
    change tracking removed or reset). Every app INSERT, UPDATE, DELETE or TRUNCATE since the load is
    counted by a statement-level trigger the load installs (-v lists them; 'omc-data untrack' removes
    them); --deep compares every row with the snapshot instead.

    \b
    Examples:
      omc-data status --db postgresql://omc@127.0.0.1:5432/omc --json
      omc-data status --deep
    """
    from omc_data import api

    settings: Settings = ctx.obj
    target = resolve_target(db, env_file, settings)
    status = api.database_status(target.conninfo, origin=target.origin, store=settings.store, deep=deep)
    if json:
        emit_json(status)
        return
    _print_status(status, verbose=settings.verbosity > 0)


def _print_status(status: DatabaseStatus, *, verbose: bool = False) -> None:
    """The human form of ``status``: what was loaded, whether it changed since, the tables' rows."""
    last = status["last_load"]
    if last and last["kind"] == "clear":
        stdout.print(f"{status['target']} was cleared by omc-data at {last['loaded_at']}", markup=False)
    elif last:
        stdout.print(
            f"{status['target']} holds snapshot {last['tag']}"
            f" (loaded {last['loaded_at']} by {last['loaded_by']})",
            markup=False,
        )
    else:
        stdout.print(f"{status['target']}: no load by omc-data recorded", markup=False)
    state = status["state"]
    changed = f" ({', '.join(status['changed_tables'])})" if status["changed_tables"] else ""
    changed = changed or (f" ({status['reason']})" if status.get("reason") else "")
    how = " (contents compared row by row)" if status.get("deep") else ""
    stdout.print(f"since then: {state}{changed}{how}", markup=False)
    for name, diff in status.get("changed_rows", {}).items():
        stdout.print(
            f"  {name}: {diff['added']:,} added, {diff['removed']:,} removed, {diff['changed']:,} changed",
            markup=False,
        )
    if verbose:
        for t in status.get("tracking", []):
            trigger = t["trigger"] or "no trigger"
            off = "" if t["enabled"] or not t["trigger"] else " (disabled)"
            counter = "no counter" if t["counter"] is None else f"counter {t['counter']}"
            stdout.print(f"tracking {t['table']}: trigger {trigger}{off}, {counter}", markup=False)
    if status["alembic_revision"]:
        stdout.print(f"alembic revision: {status['alembic_revision']}", markup=False)
    table = Table("table", "rows", box=None)
    for name, rows in status["tables"].items():
        table.add_row(name, f"{rows:,}")
    stdout.print(table)


def untrack_cmd(
    ctx: typer.Context,
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    lock_timeout: LockTimeoutOpt = 10.0,
    json: JsonOpt = False,
) -> None:
    """Remove the change-tracking triggers and counters a load put on the dataset tables.

    'status' then says unknown (and the next load backs up first); the next load installs them again.

    \b
    Examples:
      omc-data untrack --db postgresql://omc@127.0.0.1:5432/omc
    """
    from omc_data import api

    settings: Settings = ctx.obj
    target = resolve_target(db, env_file, settings)
    removed = api.remove_change_tracking(target.conninfo, origin=target.origin, lock_timeout=lock_timeout)
    if json:
        emit_json({"target": target.masked, "untracked": removed})
        return
    what = ", ".join(removed) if removed else "no table was tracked"
    stdout.print(f"change tracking removed from {target.masked}: {what}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("load")(load_cmd)
    app.command("check")(check_cmd)
    app.command("status")(status_cmd)
    app.command("clear")(clear_cmd)
    app.command("untrack")(untrack_cmd)
