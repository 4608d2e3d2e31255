"""``omc-data diff A B``: what changed between two snapshots."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from omc_data import config
from omc_data.cli.options import DbOpt, EnvFileOpt, parse_tables, resolve_target
from omc_data.cli.output import CliProgress, Settings, emit_json, stdout
from omc_data.errors import OmcDataError, UsageError

ERROR_UNDER_EXIT_CODE = 3  # git diff --exit-code style: 0 same, 1 different, >= 2 trouble


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _value(value: Any) -> str:
    return "NULL" if value is None else str(value)


def _key_text(key: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in key.items())


def sample_lines(samples: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One line per sample row: ``+ key`` added, ``- key`` removed, ``~ key: col a -> b`` changed."""
    lines: list[str] = []
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
        for row in samples.get(kind, []):
            text = f"{mark} {_key_text(row['key'])}"
            cols = row.get("columns") or {}
            if cols:
                text += ": " + "; ".join(f"{c} {_value(v['a'])} -> {_value(v['b'])}" for c, v in cols.items())
            lines.append(text)
    return lines


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
    for name, t in report.tables.items():
        if t.samples:
            stdout.print(f"\nsample rows of {name}:", markup=False)
            for line in sample_lines(t.samples):
                stdout.print("  " + line, markup=False, soft_wrap=True)
    s = report.summary()
    verdict = "same content" if s["same"] else f"{s['tables_changed']} tables changed"
    stdout.print(
        f"{report.a} -> {report.b}: {verdict}; rows +{s['rows_added']:,} -{s['rows_removed']:,} "
        f"~{s['rows_changed']:,}",
        markup=False,
    )


def _md(text: Any) -> str:
    """A markdown table cell: pipes escaped, code spans for names and values."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Any) -> str:
    """The report to paste into a pull request: summary, a table per table, sample rows."""
    s = report.summary()
    verdict = "same content" if s["same"] else f"{s['tables_changed']} of {len(report.tables)} tables changed"
    out = [
        f"### Dataset diff: `{_md(report.a)}` → `{_md(report.b)}`",
        "",
        f"**{verdict}**; rows added {s['rows_added']:,}, removed {s['rows_removed']:,}, "
        f"changed {s['rows_changed']:,}.",
        "",
        "| table | status | rows a | rows b | added | removed | changed | columns changed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, t in report.tables.items():
        cols = ", ".join(f"`{_md(c)}` {n:,}" for c, n in t.columns_changed.items())
        schema = t.schema
        if schema and any(schema.values()):
            bits = [f"+`{_md(c)}`" for c in schema["added"]] + [f"-`{_md(c)}`" for c in schema["removed"]]
            bits += [f"`{_md(c)}`: {_md(a)} → {_md(b)}" for c, (a, b) in schema["type_changed"].items()]
            cols = "; ".join(filter(None, [cols, "schema " + ", ".join(bits)]))
        status = t.status if t.status == "unchanged" else f"**{t.status}**"
        out.append(
            f"| `{_md(name)}` | {status} | {_count(t.rows_a)} | {_count(t.rows_b)} | {_count(t.added)} "
            f"| {_count(t.removed)} | {_count(t.changed)} | {cols} |"
        )
    for name, t in report.tables.items():
        if not t.samples:
            continue
        out += ["", f"<details><summary>sample rows of <code>{_md(name)}</code></summary>", "", "```diff"]
        out += sample_lines(t.samples)
        out += ["```", "", "</details>"]
    return "\n".join(out) + "\n"


def diff_cmd(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="The old snapshot tag, or @db.", show_default=False)],
    b: Annotated[str, typer.Argument(help="The new snapshot tag, or @db.", show_default=False)],
    tables: Annotated[str | None, typer.Option(help="Only these tables, comma-separated.")] = None,
    rows: Annotated[
        int,
        typer.Option(
            "--rows",
            min=0,
            help="Show up to N sample rows of each kind (added, removed, changed) per changed table.",
        ),
    ] = 0,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print a markdown report to paste into a pull request.")
    ] = False,
    db: DbOpt = None,
    env_file: EnvFileOpt = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit 0 when the same, 1 when different, 2 or 3 on errors (like git diff)."
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Compare two snapshots table by table: row counts, rows added, removed and changed by key.

    Either side can be @db: the live database's dataset tables (--db, DATABASE_URL, POSTGRES_* or the
    local server), read in one read-only transaction; nothing is written to it.

    \b
    Examples:
      omc-data diff v11 v12
      omc-data diff v11 v12 --tables user,orders --json
      omc-data diff v11 v12 --rows 5 --markdown > diff.md
      omc-data diff v12 @db --db postgresql://app@localhost:5432/app
      omc-data diff v11 v12 --exit-code >/dev/null || echo "datasets differ"
    """
    from omc_data import api

    settings: Settings = ctx.obj
    names = parse_tables(tables)
    progress = CliProgress(settings)
    try:
        if json and markdown:
            raise UsageError("--json and --markdown exclude each other", hint="choose one output form")
        threads, memory = config.diff_resources(config.environ())
        target = resolve_target(db, env_file, settings) if api.DB_SIDE in (a, b) else None
        with progress.session():
            report = api.diff_snapshots(
                a,
                b,
                store=settings.store,
                tables=names,
                rows=rows,
                db=None if target is None else target.conninfo,
                origin="argument" if target is None else target.origin,
                threads=threads,
                memory_limit=memory,
                progress=progress,
            )
    except OmcDataError as exc:
        if exit_code and exc.exit_code < 2:  # under --exit-code, 1 means "different": errors exit 3
            exc.exit_code = ERROR_UNDER_EXIT_CODE
        raise
    if json:
        emit_json(report.to_json())
    elif markdown:
        sys.stdout.write(render_markdown(report))
        sys.stdout.flush()
    else:
        render_table(report)
    if exit_code and not report.same:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_cmd)
