"""``omc-data diff A B``: what changed between two snapshots."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from omc_data.cli.output import CliProgress, Settings, emit_json, stdout
from omc_data.errors import OmcDataError

ERROR_UNDER_EXIT_CODE = 3  # git diff --exit-code style: 0 same, 1 different, >= 2 trouble


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_table(report: Any) -> None:
    table = Table(
        "table", "status", "rows a", "rows b", "added", "removed", "changed", "columns changed", box=None
    )
    for name, t in report.tables.items():
        style = {"unchanged": "dim", "changed": "yellow", "added": "green", "removed": "red"}[t.status]
        cols = ", ".join(f"{c} {n:,}" for c, n in t.columns_changed.items())
        schema = t.schema
        if schema and any(schema.values()):
            bits = [f"+{c}" for c in schema["added"]] + [f"-{c}" for c in schema["removed"]]
            bits += [f"{c}: {a} -> {b}" for c, (a, b) in schema["type_changed"].items()]
            cols = "; ".join(filter(None, [cols, "schema " + ", ".join(bits)]))
        table.add_row(
            name,
            t.status,
            _count(t.rows_a),
            _count(t.rows_b),
            _count(t.added),
            _count(t.removed),
            _count(t.changed),
            cols,
            style=style,
        )
    stdout.print(table)
    s = report.summary()
    verdict = "same content" if s["same"] else f"{s['tables_changed']} tables changed"
    stdout.print(
        f"{report.a} -> {report.b}: {verdict}; rows +{s['rows_added']:,} -{s['rows_removed']:,} "
        f"~{s['rows_changed']:,}",
        markup=False,
    )


def diff_cmd(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="The old snapshot tag.", show_default=False)],
    b: Annotated[str, typer.Argument(help="The new snapshot tag.", show_default=False)],
    tables: Annotated[str | None, typer.Option(help="Only these tables, comma-separated.")] = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit 0 when the same, 1 when different, 2 or 3 on errors (like git diff)."
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Compare two snapshots table by table: row counts, rows added, removed and changed by key.

    \b
    Examples:
      omc-data diff v11 v12
      omc-data diff v11 v12 --tables user,orders --json
      omc-data diff v11 v12 --exit-code >/dev/null || echo "datasets differ"
    """
    from omc_data import api

    settings: Settings = ctx.obj
    names = [t.strip() for t in tables.split(",") if t.strip()] if tables else None
    progress = CliProgress(settings)
    try:
        with progress.session():
            report = api.diff_snapshots(a, b, store=settings.store, tables=names, progress=progress)
    except OmcDataError as exc:
        if exit_code and exc.exit_code < 2:  # under --exit-code, 1 means "different": errors exit 3
            exc.exit_code = ERROR_UNDER_EXIT_CODE
        raise
    if json:
        emit_json(report.to_json())
    else:
        render_table(report)
    if exit_code and not report.same:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_cmd)
