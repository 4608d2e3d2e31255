"""Store commands: list, show, verify, validate, rm, prune."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from omc_data import defaults
from omc_data.cli.options import JsonOpt
from omc_data.cli.output import Settings, emit_json, human_bytes, notice, stdout

TagArg = Annotated[str, typer.Argument(help="Snapshot tag.", show_default=False)]


def _listing_json(entry: Any) -> dict[str, Any]:
    return _summary(entry.tag, entry.path, entry.manifest, entry.error)


def _summary(tag: str, path: Any, m: Any, error: str | None = None) -> dict[str, Any]:
    from omc_data.snapshots.timefmt import format_timestamp

    if m is None:
        return {"tag": tag, "path": str(path), "error": error}
    return {
        "tag": m.tag,
        "path": str(path),
        "kind": m.kind,
        "created_at": format_timestamp(m.created_at),
        "as_of": m.inputs.get("as_of"),
        "seed": m.inputs.get("seed"),
        "parent": m.parent,
        "rows": m.rows,
        "bytes": m.bytes,
        "tables": {name: t.rows for name, t in m.tables.items()},
        "sources": {name: record.get("outcome") for name, record in m.sources.items()},
        "error": None,
    }


def sources_marker(outcomes: dict[str, Any]) -> str:
    """A compact 'sources' cell: degraded sources by name, the other outcomes counted."""
    degraded = [name for name, outcome in outcomes.items() if outcome == "degraded"]
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        if outcome not in ("degraded", "synthetic", None):
            counts[str(outcome)] = counts.get(str(outcome), 0) + 1
    parts = [f"degraded ({', '.join(degraded)})"] if degraded else []
    parts += [f"{n} {outcome}" for outcome, n in counts.items()]
    return ", ".join(parts) or "synthetic"


def list_cmd(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the snapshots in the store, oldest first.

    \b
    Example:
      omc-data list
      omc-data --store /data/omc-snapshots list --json
    """
    from omc_data import api

    settings: Settings = ctx.obj
    entries = api.list_snapshots(settings.store)
    if json:
        emit_json({"store": str(settings.store), "snapshots": [_listing_json(e) for e in entries]})
        return
    if not entries:
        notice(f"no snapshots in {settings.store}", settings)
        return
    table = Table("tag", "created", "as of", "kind", "tables", "rows", "size", "sources", box=None)
    unreadable: list[tuple[str, str]] = []
    for e in entries:
        doc = _listing_json(e)
        if doc["error"]:
            table.add_row(e.tag, "-", "-", "[red]unreadable[/red]", "-", "-", "-", "-")
            unreadable.append((e.tag, str(doc["error"])))
            continue
        table.add_row(
            doc["tag"],
            doc["created_at"],
            str(doc["as_of"] or "-"),
            doc["kind"],
            str(len(doc["tables"])),
            f"{doc['rows']:,}",
            human_bytes(doc["bytes"]),
            sources_marker(doc["sources"]),
        )
    stdout.print(table)
    for tag, error in unreadable:  # in full: a table column would cut the way out short
        stdout.print(f"{tag}: {error}", markup=False, highlight=False, soft_wrap=True)


def _accounts(snapshot: Any) -> list[dict[str, Any]]:
    from omc_data.snapshots.accounts import login_accounts

    inputs = snapshot.manifest.inputs
    out = []
    for account in login_accounts(snapshot):
        choice = inputs.get("superuser_password" if account["is_superuser"] else "password")
        if choice == "default":
            password = f"default dev password: {defaults.PASSWORD}"
        elif account["is_superuser"]:
            password = "custom (--superuser-password or FIRST_SUPERUSER_PASSWORD at build time)"
        elif choice == "custom":
            password = "custom (--password at build time)"
        else:
            password = "unknown (not built by omc-data)"
        out.append({**account, "password": password})
    return out


def show_cmd(ctx: typer.Context, tag: TagArg, json: JsonOpt = False) -> None:
    """Show a snapshot: inputs, sources, tables, checks and the accounts you can log in with.

    \b
    Example:
      omc-data show v12
      omc-data show v12 --json | jq '.manifest.tables.user.rows'
    """
    from omc_data import api

    settings: Settings = ctx.obj
    snapshot = api.open_snapshot(tag, settings.store)
    m = snapshot.manifest
    accounts = _accounts(snapshot) if "user" in m.tables else []
    if json:
        emit_json({"path": str(snapshot.path), "manifest": m.to_json(), "accounts": accounts})
        return
    doc = _summary(tag, snapshot.path, m)
    stdout.print(
        f"[bold]{m.tag}[/bold]  {m.kind}  created {doc['created_at']}  omc-data {m.omc_data_version}"
    )
    stdout.print(f"path: {snapshot.path}", markup=False)
    inputs = ", ".join(f"{k}={v}" for k, v in m.inputs.items() if not isinstance(v, list | dict))
    stdout.print(f"inputs: {inputs}", markup=False)
    if m.parent:
        stdout.print(f"parent: {m.parent}", markup=False)
    if m.sources:
        stdout.print(
            "sources: " + ", ".join(f"{k} {v.get('outcome')}" for k, v in m.sources.items()), markup=False
        )
    table = Table("table", "rows", "parts", "size", box=None)
    for name, t in m.tables.items():
        table.add_row(name, f"{t.rows:,}", str(len(t.parts)), human_bytes(t.bytes))
    stdout.print(table)
    v = m.validation
    if v:
        stdout.print(
            f"checks: {v.get('checks_run', 0)} run, {v.get('blocking_failures', 0)} failed, "
            f"{v.get('warnings', 0)} warnings"
        )
    if accounts:
        acct = Table("login email", "role", "active", "password", box=None)
        for a in accounts:
            acct.add_row(
                a["email"], "superuser" if a["is_superuser"] else "user", str(a["is_active"]), a["password"]
            )
        stdout.print(acct)


def verify_cmd(ctx: typer.Context, tag: TagArg, json: JsonOpt = False) -> None:
    """Recompute every checksum of a snapshot; exit 1 naming any altered, missing or extra file.

    \b
    Example:
      omc-data verify v12 && echo intact
    """
    from omc_data import api

    settings: Settings = ctx.obj
    snapshot = api.open_snapshot(tag, settings.store)
    problems = snapshot.problems()
    files = len(snapshot.manifest.files())
    if json:
        emit_json({"tag": tag, "ok": not problems, "files_checked": files, "problems": problems})
    elif problems:
        for p in problems:
            print(f"{tag}: {p}", file=sys.stderr)
    else:
        stdout.print(f"{tag}: ok, {files} files and the manifest match their checksums", markup=False)
    if problems:
        if not json:
            notice("the snapshot was altered after it was built: rebuild it, or remove it with 'omc-data rm'")
        raise typer.Exit(1)


def validate_cmd(
    ctx: typer.Context,
    tag: TagArg,
    show_all: Annotated[
        bool, typer.Option("--all", help="List every check, not only the failing ones.")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Rerun every domain check on a snapshot; exit 1 when a blocking check fails.

    \b
    Examples:
      omc-data validate v12
      omc-data validate v12 --all
      omc-data validate v12 --json | jq '.checks[] | select(.failures > 0)'
    """
    from omc_data import api

    settings: Settings = ctx.obj
    report = api.validate_snapshot(tag, settings.store)
    if json:
        emit_json({"tag": tag, **report.to_json()})
    else:
        shown = [c for c in report.checks if show_all or not c.passed]
        if shown:
            table = Table("table", "check", "severity", "failures", box=None)
            for c in shown:
                style = "" if c.passed else ("red" if c.severity == "blocking" else "yellow")
                table.add_row(c.table, c.description, c.severity, f"{c.failures:,}", style=style)
            stdout.print(table)
        verdict = "passed" if report.passed else "FAILED"
        stdout.print(
            f"{tag}: {verdict}: {len(report.checks)} checks, "
            f"{len(report.blocking_failures)} blocking failures, {len(report.warnings)} warnings",
            markup=False,
        )
    if not report.passed:
        raise typer.Exit(1)


def rm_cmd(
    ctx: typer.Context,
    tag: TagArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json: JsonOpt = False,
) -> None:
    """Remove a snapshot from the store (asks first when run in a terminal).

    \b
    Example:
      omc-data rm v10 --yes
    """
    from omc_data import api

    settings: Settings = ctx.obj
    if not yes and not json and sys.stdin.isatty() and api.open_store(settings.store).exists(tag):
        typer.confirm(f"remove snapshot {tag} from {settings.store}?", abort=True, err=True)
    path = api.remove_snapshot(tag, settings.store)
    if json:
        emit_json({"removed": tag, "path": str(path)})
    else:
        notice(f"removed {tag} ({path})", settings)


def prune_cmd(
    ctx: typer.Context,
    keep: Annotated[
        int, typer.Option("--keep", min=0, help="How many of the newest to keep.", show_default=False)
    ],
    backups: Annotated[
        bool,
        typer.Option("--backups", help="Prune the pre-load-* captures 'load --backup' makes (required)."),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    json: JsonOpt = False,
) -> None:
    """Remove old snapshots of one kind; for now the pre-load backups, keeping the newest N.

    Backups are ordered by the creation time in their manifests. Builds, hand-tagged captures and
    snapshots whose manifest cannot be read are never removed.

    \b
    Examples:
      omc-data prune --backups --keep 5 --dry-run     # list what would go
      omc-data prune --backups --keep 5
    """
    from omc_data import api
    from omc_data.errors import UsageError

    settings: Settings = ctx.obj
    if not backups:
        raise UsageError(
            "prune needs --backups (say what to prune)",
            hint="omc-data prune --backups --keep N; backups are the only kind so far",
        )
    pruned = api.open_store(settings.store).prune_backups(keep, dry_run=dry_run)
    if json:
        emit_json(
            {
                "dry_run": dry_run,
                "keep": keep,
                "removed": [_listing_json(e) for e in pruned.removed],
                "kept": [e.tag for e in pruned.kept],
                "unreadable": [{"tag": e.tag, "error": e.error} for e in pruned.unreadable],
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    for e in pruned.removed:
        doc = _listing_json(e)
        stdout.print(
            f"{verb} {e.tag} (created {doc['created_at']}, {human_bytes(doc['bytes'])})", markup=False
        )
    for e in pruned.unreadable:
        notice(f"left {e.tag} alone: {e.error}", settings)
    notice(f"{verb} {len(pruned.removed)} backups, kept {len(pruned.kept)}", settings)


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
    app.command("verify")(verify_cmd)
    app.command("validate")(validate_cmd)
    app.command("rm")(rm_cmd)
    app.command("prune")(prune_cmd)
