"""``omc-data collect``: file real responses under the store, so real history accumulates from cron."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from omc_data.cli.output import Settings, emit_json, human_bytes, notice, stdout, warn
from omc_data.cli.source_options import (
    HTTP_TIMEOUT,
    SOURCE_BUDGET,
    SOURCE_NAMES,
    HttpTimeoutOpt,
    SourceBudgetOpt,
    SourcesOpt,
    TokenFileOpt,
    collect_request,
    source_list,
)
from omc_data.errors import OmcDataError, UsageError

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``500MB``, ``2G``, ``10kib``, ``1048576`` -> bytes (powers of 1024)."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"invalid size {text!r}", hint="write e.g. 500MB, 2GB or a number of bytes")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


def collect_cmd(
    ctx: typer.Context,
    sources: SourcesOpt = SOURCE_NAMES,
    cryptopanic_token_file: TokenFileOpt = None,
    http_timeout: HttpTimeoutOpt = HTTP_TIMEOUT,
    source_budget: SourceBudgetOpt = SOURCE_BUDGET,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Instead of collecting, bound the collection (--keep-days, --max-size)."
        ),
    ] = False,
    keep_days: Annotated[
        int | None, typer.Option("--keep-days", min=1, help="With --prune: drop responses older than this.")
    ] = None,
    max_size: Annotated[
        str | None,
        typer.Option("--max-size", help="With --prune: then drop the oldest beyond this size (e.g. 500MB)."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --prune: only say what would go.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Fetch the public sources once and file the responses under <store>/.collected/.

    Run it from cron every 5 minutes and real history accumulates: Coinspot is filed every run (one real
    tick each), DeFiLlama at most once per UTC day, CryptoPanic only posts newer than those held. Runs may
    overlap each other and builds. 'omc-data build --from-collected' turns the collection into a snapshot.
    With -q it prints nothing unless a source failed; exit code 1 when one did (so cron mails you).

    \b
    Examples:
      */5 * * * * cd /srv/omc && omc-data -q collect
      omc-data collect --sources coinspot --json
      omc-data collect --prune --keep-days 30 --max-size 2GB
    """
    from omc_data import api

    settings: Settings = ctx.obj
    if prune:
        if keep_days is None and max_size is None:
            raise UsageError("--prune needs a limit", hint="pass --keep-days N and/or --max-size SIZE")
        report = api.prune_collection(
            store=settings.store,
            keep_days=keep_days,
            max_bytes=parse_size(max_size) if max_size is not None else None,
            dry_run=dry_run,
        )
        verb = "would remove" if dry_run else "removed"
        if json:
            emit_json(
                {
                    "dry_run": dry_run,
                    "removed": [str(p) for p in report.files],
                    "removed_bytes": report.bytes,
                    "kept_files": report.kept_files,
                    "kept_bytes": report.kept_bytes,
                }
            )
            return
        stdout.print(
            f"{verb} {len(report.files)} files ({human_bytes(report.bytes)}); "
            f"kept {report.kept_files} files ({human_bytes(report.kept_bytes)})",
            markup=False,
        )
        return
    if keep_days is not None or max_size is not None or dry_run:
        raise UsageError("--keep-days, --max-size and --dry-run go with --prune", hint="add --prune")
    collector = collect_request({"cryptopanic": cryptopanic_token_file}, http_timeout, source_budget)
    filed = api.collect_once(
        store=settings.store,
        sources=source_list(sources),
        collector=collector,
    )
    failed = [f for f in filed.values() if f.outcome == "degraded"]
    if json:
        emit_json({"sources": {s: f.to_json() for s, f in filed.items()}})
    else:
        for f in filed.values():
            if f.outcome == "collected":
                posts = f" ({f.new_posts} new posts)" if f.new_posts is not None else ""
                notice(f"{f.source}: filed {len(f.files)} responses{posts}", settings)
            elif f.outcome == "skipped":
                notice(f"{f.source}: skipped: {f.reason}", settings)
            else:
                warn(f"{f.source} failed: {f.reason}")
    if failed:
        raise typer.Exit(OmcDataError.exit_code)


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)
